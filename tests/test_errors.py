"""Bad input to the primitives: the right exception, naming the argument, no crash.

API.md: ``n_threads`` and ``axis`` must be integers (``TypeError``), ``n_threads <= 0`` is
a ``ValueError``, an axis out of range or repeated is a ``ValueError`` (NumPy's
``AxisError`` is a ``ValueError`` subclass), complex input is a ``TypeError``; shapes that
do not broadcast are a ``ValueError``. A refused call writes nothing and leaves the library
usable.
"""
import numpy as np
import pytest

import crossent

from _helpers import inputs_unchanged, same_bits

X = np.arange(12.0).reshape(3, 4) / 7.0

CALLS = {
    "logsumexp": lambda x, **kw: crossent.logsumexp(x, **kw),
    "logsumexp-b": lambda x, **kw: crossent.logsumexp(x, b=np.ones_like(x), return_sign=True, **kw),
    "softmax": lambda x, **kw: crossent.softmax(x, **kw),
    "log_softmax": lambda x, **kw: crossent.log_softmax(x, **kw),
    "log_expit": lambda x, **kw: crossent.log_expit(x, **kw),
    "norm_logpdf": lambda x, **kw: crossent.norm_logpdf(x, 0.5, 2.0, **kw),
}
AXIS_CALLS = ["logsumexp", "logsumexp-b", "softmax", "log_softmax"]


# ------------------------------------------------------------------ n_threads

@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("bad", [1.5, 2.0, "2", [2], (2,), np.float64(2.0), 1j])
def test_n_threads_type(name, bad):
    with inputs_unchanged(X), pytest.raises(TypeError, match="n_threads"):
        CALLS[name](X, n_threads=bad)


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("bad", [0, -1, -8, np.int64(0)])
def test_n_threads_value(name, bad):
    with inputs_unchanged(X), pytest.raises(ValueError, match="n_threads"):
        CALLS[name](X, n_threads=bad)


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("good", [None, 1, 2, np.int64(3), np.int32(2), np.uint8(4), 64])
def test_n_threads_integers_accepted(name, good):
    assert same_bits(CALLS[name](X, n_threads=good), CALLS[name](X, n_threads=1))


# ------------------------------------------------------------------ axis

@pytest.mark.parametrize("name", AXIS_CALLS)
@pytest.mark.parametrize("bad", [1.0, "1", np.float64(0.0), [0], (0, 1.0), (0, "1"), 1j])
def test_axis_type(name, bad):
    with inputs_unchanged(X), pytest.raises(TypeError, match="axis"):
        CALLS[name](X, axis=bad)


@pytest.mark.parametrize("name", AXIS_CALLS)
@pytest.mark.parametrize("bad", [2, -3, 100, (0, 2), (-3,), (0, 1, 2)])
def test_axis_out_of_range(name, bad):
    with inputs_unchanged(X), pytest.raises(ValueError, match="axis"):
        CALLS[name](X, axis=bad)


@pytest.mark.parametrize("name", AXIS_CALLS)
def test_axis_out_of_range_1d_and_0d(name):
    with pytest.raises(ValueError, match="axis"):
        CALLS[name](X[0], axis=1)
    with pytest.raises(ValueError, match="axis"):
        CALLS[name](X[0], axis=-2)
    if name in ("softmax", "log_softmax"):  # SciPy's logsumexp is lenient with 0-d input
        with pytest.raises(ValueError, match="axis"):
            CALLS[name](np.float64(1.0), axis=(0, 1))


@pytest.mark.parametrize("name", AXIS_CALLS)
@pytest.mark.parametrize("bad", [(0, 0), (1, -1), (0, 1, 0), (-2, 0)])
def test_axis_duplicate(name, bad):
    with inputs_unchanged(X), pytest.raises(ValueError, match="axis|duplicate|repeated"):
        CALLS[name](X, axis=bad)


@pytest.mark.parametrize("name", AXIS_CALLS)
@pytest.mark.parametrize("good", [np.int64(1), np.int32(-1), (np.int64(0), 1)])
def test_numpy_integer_axes_accepted(name, good):
    ax = tuple(int(a) for a in good) if isinstance(good, tuple) else int(good)
    assert same_bits(CALLS[name](X, axis=good), CALLS[name](X, axis=ax))


# ------------------------------------------------------------------ dtypes

COMPLEX_INPUTS = [np.array([1 + 1j, 2.0]), np.array([[1.0, 2.0]], dtype=np.complex64), 1j,
                  [1.0, 2j]]


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("z", COMPLEX_INPUTS, ids=["c128", "c64", "scalar", "list"])
def test_complex_refused(name, z):
    with pytest.raises(TypeError):
        CALLS[name](z)


def test_complex_side_arguments_refused():
    x = np.ones(3)
    with pytest.raises(TypeError, match=r"\bb\b"):
        crossent.logsumexp(x, b=np.array([1.0, 1j, 1.0]))
    with pytest.raises(TypeError, match="loc"):
        crossent.norm_logpdf(x, loc=np.array([0j, 1.0, 2.0]))
    with pytest.raises(TypeError, match="scale"):
        crossent.norm_logpdf(x, scale=1 + 0j)


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("bad", [np.array(["a", "b"]), np.array([None, 1.0], dtype=object),
                                 np.array(["2020-01-01"], dtype="datetime64[D]"), "abc"],
                         ids=["str", "object-None", "datetime", "pystr"])
def test_non_numeric_refused(name, bad):
    with pytest.raises((TypeError, ValueError)):
        CALLS[name](bad)


# ------------------------------------------------------------------ shapes

def test_b_not_broadcastable():
    with pytest.raises(ValueError):
        crossent.logsumexp(np.ones((3, 4)), b=np.ones(3))
    with pytest.raises(ValueError):
        crossent.logsumexp(np.ones((3, 4)), axis=1, b=np.ones((4, 3)), return_sign=True)


def test_norm_logpdf_not_broadcastable():
    with pytest.raises(ValueError):
        crossent.norm_logpdf(np.ones((3, 4)), loc=np.ones(3))
    with pytest.raises(ValueError):
        crossent.norm_logpdf(np.ones((3, 4)), scale=np.ones((2, 4)))


def test_unknown_keywords_refused():
    with pytest.raises(TypeError):
        crossent.log_expit(X, axis=1)
    with pytest.raises(TypeError):
        crossent.softmax(X, dim=1)
    with pytest.raises(TypeError):
        crossent.norm_logpdf(X, mu=1.0)


def test_library_usable_after_errors():
    """Errors leave no state behind: a normal call afterwards gives the same bits."""
    before = crossent.logsumexp(X, axis=1, n_threads=2)
    for kw in (dict(n_threads=0), dict(axis=7), dict(axis=1.5), dict(n_threads="x")):
        with pytest.raises((TypeError, ValueError)):
            crossent.logsumexp(X, **kw)
    assert same_bits(crossent.logsumexp(X, axis=1, n_threads=2), before)
