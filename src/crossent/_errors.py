"""crossent's exception types."""

__all__ = ["LabelError"]


class LabelError(ValueError, IndexError):
    """A class index that is neither in ``[0, C)`` nor ``ignore_index``.

    A subclass of both ``ValueError`` (the crossent convention for bad values)
    and ``IndexError`` (what PyTorch raises), so code written for either
    catches it.  The message names the offending label and its position in
    ``target``.
    """

    __module__ = "crossent"
