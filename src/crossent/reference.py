"""Plain NumPy reference implementation of every public crossent function.

This module is the oracle of the test-suite and the readable statement of each
formula.  It never imports the compiled part of crossent: only NumPy and the
standard library.  It is written for correctness and clarity, not for speed.

Conventions shared by every function (see ``API.md``):

* float32 and float64 inputs give float32 and float64 results; the reference
  computes in float64 and rounds once at the end.  Integer and bool inputs are
  treated as float64, float16 is computed as float32 and returned as float32,
  complex inputs raise ``TypeError``.
* Primitives (``logsumexp``, ``softmax``, ``log_softmax``, ``log_expit``,
  ``norm_logpdf``) return the NumPy promotion of their float inputs (Python
  scalars are "weak", as in NumPy 2); losses return ``input``'s dtype, and
  every other array or scalar they take (``target``, ``weight``,
  ``pos_weight``, ``var``, ``eps``) is first rounded to that dtype.
* A 0-d result (a full reduction, a scalar input, ...) is returned as a NumPy
  scalar of the result dtype, as NumPy's own reductions do.
* ``return_grad=True`` returns ``(loss, grad)`` with ``grad = d loss / d input``
  (for ``reduction="none"``: the gradient of ``loss.sum()``).
* Terms of the form ``0 * log(0)`` (a zero probability, weight or count times
  an infinite log) contribute 0, the usual convention of information theory;
  NaN inputs still propagate.  PyTorch returns NaN for some of these
  (e.g. a probability target of 0 on a logit of ``-inf``).
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = [
    "LabelError",
    "logsumexp",
    "softmax",
    "log_softmax",
    "log_expit",
    "norm_logpdf",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "mse_loss",
    "gaussian_nll_loss",
    "poisson_nll_loss",
    "gaussian_nll",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "binary_cross_entropy",
]

_LOG_2PI = math.log(2.0 * math.pi)
_HALF_LOG_2PI = 0.5 * _LOG_2PI
# ln 2 split in two (fdlibm's ln2_hi / ln2_lo): k * _LN2_HI is exact for |k| < 2**20.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10

_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)


class LabelError(ValueError, IndexError):
    """A class index that is neither in ``[0, C)`` nor ``ignore_index``."""


def _quiet(func):
    """Run ``func`` with NumPy floating-point warnings silenced (inf/NaN are results here)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return func(*args, **kwargs)

    return wrapper


# ----------------------------------------------------------------------------------------
# dtype and argument helpers
# ----------------------------------------------------------------------------------------


def _compute_dtype(dtype, name):
    """The dtype an input of ``dtype`` is computed and returned in (API.md dtype rules)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        return _F64
    if dtype.kind == "f" and dtype.itemsize in (2, 4, 8):  # any byte order
        return _F64 if dtype.itemsize == 8 else _F32
    if dtype.kind == "c":
        raise TypeError(f"{name}: complex input is not supported (dtype {dtype})")
    raise TypeError(f"{name}: unsupported dtype {dtype}")


def _asarray(x, name):
    try:
        arr = np.asarray(x)
    except Exception as exc:  # e.g. a torch tensor that requires grad, ragged lists
        raise TypeError(f"{name}: cannot be converted to a NumPy array ({exc})") from exc
    if not arr.dtype.isnative:
        # native byte order first: NumPy < 2.2 can crash comparing a byte-swapped
        # integer array with a Python int
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def _float_input(x, name):
    """``x`` as a float64 array, and the dtype of the result it gives."""
    arr = _asarray(x, name)
    dtype = _compute_dtype(arr.dtype, name)
    return arr.astype(_F64), dtype


def _side(x, name, dtype):
    """A side argument rounded to the result ``dtype`` (as the compiled code sees it), in float64."""
    arr = _asarray(x, name)
    _compute_dtype(arr.dtype, name)  # type check only
    with np.errstate(over="ignore"):
        return arr.astype(dtype).astype(_F64)


def _primitive_dtype(*named_args):
    """NumPy promotion of the float inputs of a primitive; Python int/float scalars are weak."""
    parts = []
    for name, value in named_args:
        if type(value) in (int, float):
            parts.append(value)
        else:
            parts.append(_compute_dtype(_asarray(value, name).dtype, name))
    dtype = np.result_type(*parts)
    return _compute_dtype(dtype, "result")


def _finish(value, dtype):
    """Round a float64 result to the result dtype; a 0-d result becomes a NumPy scalar."""
    with np.errstate(over="ignore"):
        out = np.asarray(value).astype(dtype)
    return out[()] if out.ndim == 0 else out


def _check_reduction(reduction, allowed=("none", "mean", "sum")):
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def _check_int(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    return int(value)


def _check_real(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)


def _normalize_axis(axis, ndim, name="axis"):
    axis = _check_int(axis, name)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim, name)
    return axis % ndim


def _normalize_axes(axis, ndim):
    """``axis`` (None, int or tuple of ints) as a tuple of distinct non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, tuple):
        axes = tuple(_normalize_axis(a, ndim) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"axis contains a repeated axis: {axis!r}")
        return axes
    return (_normalize_axis(axis, ndim),)


def _to_rows(x, axes):
    """Move ``axes`` to the end and flatten them into one: returns ``(rows, restore)``.

    ``restore(r)`` undoes it for an array ``r`` of the shape of ``rows``.
    """
    other = [i for i in range(x.ndim) if i not in axes]
    perm = other + list(axes)
    xt = np.transpose(x, perm)
    n_other = len(other)
    k = math.prod(xt.shape[n_other:])
    rows = xt.reshape(xt.shape[:n_other] + (k,))

    def restore(r):
        return np.transpose(r.reshape(xt.shape), np.argsort(np.array(perm, dtype=np.intp)))

    return rows, restore


def _reduce(values, reduction):
    """``"none"`` / ``"sum"`` / ``"mean"`` of a float64 array (NaN for the mean of nothing)."""
    if reduction == "none":
        return values
    if reduction == "sum":
        return np.sum(values)
    return _mean(values)


def _mean(values):
    """Mean that does not overflow where the sum does but the mean does not."""
    n = values.size
    if n == 0:
        return np.float64(np.nan)
    total = np.sum(values)
    if np.isinf(total) and np.all(np.isfinite(values)):
        total = np.sum(values / n)
        return total
    return total / n


def _reduction_scale(reduction, n):
    """d(reduced)/d(element): 1/n for the mean, 1 otherwise (1/0 gives inf, as 0/0 loss)."""
    if reduction == "mean":
        return 1.0 / n if n else np.inf
    return 1.0


def _xmul(c, v):
    """``c * v``, except that a zero ``c`` times an infinite ``v`` is 0 (``0 * log 0 = 0``)."""
    c, v = np.broadcast_arrays(np.asarray(c, _F64), np.asarray(v, _F64))
    return np.where((c == 0) & np.isinf(v), 0.0, c * v)


def _sum_to_shape(g, shape):
    """Sum a broadcast gradient back to ``shape``, as autograd does."""
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


# ----------------------------------------------------------------------------------------
# exact-range helpers: residuals and squared ratios without spurious overflow
# ----------------------------------------------------------------------------------------


def _frexp_diff(x, y):
    """``(m, e)`` with ``x - y == m * 2**e`` and ``0.5 <= |m| < 1`` (or m = 0, inf, NaN).

    Equal to ``np.frexp(x - y)``, except that where ``x - y`` overflows although
    ``x`` and ``y`` are finite, the residual is still represented (through
    ``x/2 - y/2``, which is exact there).
    """
    d = x - y
    m, e = np.frexp(d)
    overflow = np.isinf(d) & np.isfinite(x) & np.isfinite(y)
    if np.any(overflow):
        mh, eh = np.frexp(x * 0.5 - y * 0.5)
        m = np.where(overflow, mh, m)
        e = np.where(overflow, eh + 1, e)
    return np.asarray(m, _F64), np.asarray(e, np.int64)


def _ldexp_safe(m, e):
    """``m * 2**e`` for int64 ``e`` of any size (clipping keeps the result 0 or inf)."""
    e = np.clip(np.asarray(e, np.int64), -100000, 100000).astype(np.int32)
    return np.ldexp(m, e)


def _exp_split(s):
    """``exp(-s) == f * 2**(-k)`` with f in about [0.7, 1.42]: ``(f, k)``.

    Cody-Waite reduction with ln 2 split in two parts, so the result stays exact to
    about 1 ulp even where ``exp(-s)`` itself over- or underflows.  For |s| beyond
    6000 (where any product with a float64 is 0 or inf) ``f`` over/underflows instead.
    """
    k = np.rint(np.clip(s, -6000.0, 6000.0) / math.log(2.0))
    t = (s - k * _LN2_HI) - k * _LN2_LO
    return np.exp(-t), k.astype(np.int64)


# ----------------------------------------------------------------------------------------
# primitives (SciPy-compatible)
# ----------------------------------------------------------------------------------------


def _logsumexp_rows(a, b):
    """log|sum(b * exp(a))| and its sign along the last axis (float64, SciPy's algorithm).

    The largest term is taken out and the others summed relative to it:
    ``log(sum) = a_max + log|m| + log1p(s / m)`` with ``m`` the sum of the weights
    of the maximal entries and ``s`` the scaled sum of the rest.  Entries with
    ``b == 0`` are skipped.  Where the maximal terms cancel exactly (``m == 0``),
    they are dropped and the rest is summed again (SciPy falls back to the naive
    formula there, which overflows or loses accuracy).
    """
    active = b != 0  # NaN weights stay active and propagate
    nan_rows = np.any(active & (np.isnan(a) | np.isnan(b)), axis=-1)
    a_act = np.where(active & ~np.isnan(a), a, -np.inf)

    out = np.full(a.shape[:-1], -np.inf)
    sign = np.zeros(a.shape[:-1])
    todo = ~nan_rows
    while np.any(todo):
        a_max = np.max(a_act, axis=-1, keepdims=True, initial=-np.inf)
        # +inf present: +inf with the sign of the weights at +inf, NaN if these have mixed signs
        inf_rows = todo & (a_max[..., 0] == np.inf)
        if np.any(inf_rows):
            at_inf = active & (a_act == np.inf)
            pos = np.any(at_inf & (b > 0), axis=-1)
            neg = np.any(at_inf & (b < 0), axis=-1)
            sgn_inf = np.where(pos & neg, np.nan, np.where(pos, 1.0, -1.0))
            out = np.where(inf_rows, np.where(pos & neg, np.nan, np.inf), out)
            sign = np.where(inf_rows, sgn_inf, sign)
            todo &= ~inf_rows
        # nothing left (all -inf, all b == 0, or empty): log 0 = -inf, sign 0
        empty_rows = todo & (a_max[..., 0] == -np.inf)
        todo &= ~empty_rows
        if not np.any(todo):
            break
        finite_max = np.where(np.isfinite(a_max), a_max, 0.0)
        is_max = active & (a_act == a_max)
        m = np.sum(np.where(is_max, b, 0.0), axis=-1)
        rest = np.where(is_max | ~active, 0.0, b * np.exp(a_act - finite_max))
        s = np.sum(rest, axis=-1)
        # maximal terms that cancel exactly: drop them and sum the others again
        cancelled = todo & (m == 0)
        if np.any(cancelled):
            drop = cancelled[..., None] & is_max
            active = active & ~drop
            a_act = np.where(drop, -np.inf, a_act)
        done = todo & ~cancelled
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(done, s, 0.0) / np.where(done, m, 1.0)
            sgn = np.sign(t + 1.0) * np.sign(m)
            t = np.where(t < -1.0, -t - 2.0, t)  # log|1 + t| = log1p(-t - 2) when 1 + t < 0
            val = np.log1p(t) + np.log(np.abs(m)) + a_max[..., 0]
        out = np.where(done, val, out)
        sign = np.where(done, np.where(np.isneginf(val), 0.0, sgn), sign)
        todo = cancelled
    out = np.where(nan_rows, np.nan, out)
    sign = np.where(nan_rows, np.nan, sign)
    return out, sign


@_quiet
def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    r"""Log of the sum of exponentials, ``log(sum(b * exp(a)))``, computed stably.

    SciPy's algorithm: with :math:`M = \max a` and :math:`m` the sum of the weights
    of the maximal entries,

    .. math:: \log\sum_i b_i e^{a_i} = M + \log|m| + \operatorname{log1p}
              \Big(\frac{1}{m}\sum_{a_i < M} b_i e^{a_i - M}\Big),

    so ``logsumexp([0, -40])`` is 4.248e-18, not 0.

    Parameters
    ----------
    a : array_like
        Input array.
    axis : None or int or tuple of ints, optional
        Axes to reduce over; ``None`` (default) reduces over all.
    b : array_like, optional
        Weights broadcast against `a`; entries with ``b == 0`` contribute nothing
        (even where `a` is inf or NaN).  Negative weights need ``return_sign=True``.
    keepdims : bool, optional
        Keep the reduced axes with size one.
    return_sign : bool, optional
        Also return the sign (-1, 0 or +1) of the sum.

    Returns
    -------
    res : ndarray or scalar
        ``log|sum|``; without `return_sign`, NaN where the sum is negative.
        An empty reduction or a slice of only ``-inf`` gives ``-inf`` (sign 0);
        ``+inf`` in a slice gives ``+inf``; NaN gives NaN.
    sgn : ndarray or scalar
        Only with `return_sign`.
    """
    keepdims = _check_bool(keepdims, "keepdims")
    return_sign = _check_bool(return_sign, "return_sign")
    if b is None:
        dtype = _primitive_dtype(("a", a))
        a64 = np.atleast_1d(_asarray(a, "a").astype(_F64))
        b64 = np.ones_like(a64)
    else:
        dtype = _primitive_dtype(("a", a), ("b", b))
        a64 = _asarray(a, "a").astype(_F64)
        b64 = _asarray(b, "b").astype(_F64)
        try:
            a64, b64 = np.broadcast_arrays(a64, b64)
        except ValueError as exc:
            raise ValueError(f"b cannot be broadcast against a: {exc}") from exc
        a64, b64 = np.atleast_1d(a64, b64)
    axes = _normalize_axes(axis, a64.ndim)
    rows_a, _ = _to_rows(a64, axes)
    rows_b, _ = _to_rows(b64, axes)
    out, sgn = _logsumexp_rows(rows_a, rows_b)
    if not return_sign:
        out = np.where(sgn < 0, np.nan, out)
    kept = tuple(1 if i in axes else n for i, n in enumerate(a64.shape))
    out = out.reshape(kept)
    sgn = sgn.reshape(kept)
    if not keepdims:
        out = np.squeeze(out, axis=axes)
        sgn = np.squeeze(sgn, axis=axes)
    if return_sign:
        return _finish(out, dtype), _finish(sgn, dtype)
    return _finish(out, dtype)


def _log_softmax_rows(x, plus_inf="scipy"):
    """``(log_softmax, softmax)`` along the last axis (float64, length >= 1).

    The dominant entry keeps relative accuracy: one occurrence of the maximum is
    left out of the sum ``s`` of the other terms' ``exp(x_j - max)``, and
    ``log_softmax_j = (x_j - max) - log1p(s)``, ``softmax_j = exp(x_j - max) / (1 + s)``.

    A row holding NaN or only ``-inf`` is NaN throughout.  A row holding ``+inf``
    (and no NaN) gives, with ``plus_inf="scipy"``, what SciPy gives: softmax NaN
    throughout, log_softmax NaN at the ``+inf`` entries and ``-inf`` elsewhere;
    with ``plus_inf="nan"`` (the losses, as torch) NaN throughout.
    """
    x_max = np.max(x, axis=-1, keepdims=True)
    shifted = x - x_max  # NaN throughout for NaN, -inf-only and +inf rows
    e = np.exp(shifted)
    others = e.copy()
    np.put_along_axis(others, np.argmax(x, axis=-1)[..., None], 0.0, axis=-1)
    s = np.sum(others, axis=-1, keepdims=True)
    logp = shifted - np.log1p(s)
    p = e / (1.0 + s)
    inf_rows = x_max == np.inf
    if np.any(inf_rows):
        if plus_inf == "scipy":
            logp = np.where(inf_rows, np.where(x == np.inf, np.nan, -np.inf), logp)
        else:
            logp = np.where(inf_rows, np.nan, logp)
        p = np.where(inf_rows, np.nan, p)
    return logp, p


def _softmax_family(x, axis, which):
    dtype = _primitive_dtype(("x", x))
    x64 = _asarray(x, "x").astype(_F64)
    if x64.ndim == 0:  # as SciPy: a 0-d input (axis 0, -1 or None) is one element
        _normalize_axes(axis, 1)
        return _softmax_family(x64.reshape(1), 0, which).reshape(()).astype(dtype)[()]
    axes = _normalize_axes(axis, x64.ndim)
    rows, restore = _to_rows(x64, axes)
    if rows.shape[-1] == 0 or rows.size == 0:
        return _finish(x64.copy(), dtype)
    logp, p = _log_softmax_rows(rows)
    return _finish(restore(logp if which == "log" else p), dtype)


@_quiet
def softmax(x, axis=None):
    r"""Softmax, :math:`\exp(x_j - \max x) / \sum_k \exp(x_k - \max x)`, over `axis`.

    Parameters
    ----------
    x : array_like
        Input array.
    axis : None or int or tuple of ints, optional
        Axes of one softmax slice; ``None`` (default, as SciPy) is the whole array.

    Returns
    -------
    ndarray or scalar
        Same shape as `x`.  A slice holding NaN, ``+inf`` or only ``-inf`` is NaN
        throughout (as SciPy).  An empty input gives an empty result (SciPy raises).
    """
    return _softmax_family(x, axis, "softmax")


@_quiet
def log_softmax(x, axis=None):
    r"""Log-softmax, :math:`x_j - \operatorname{logsumexp}(x)`, over `axis`.

    Computed as :math:`(x_j - M) - \operatorname{log1p}(s)` where :math:`M = \max x`
    and :math:`s` sums :math:`e^{x_k - M}` over all entries but one maximal one, so
    the dominant entry keeps relative accuracy (``log_softmax([0, -40])[0]`` is
    -4.248e-18, not -0.0).

    Parameters
    ----------
    x : array_like
        Input array.
    axis : None or int or tuple of ints, optional
        Axes of one slice; ``None`` (default, as SciPy) is the whole array.

    Returns
    -------
    ndarray or scalar
        Same shape as `x`.  A slice holding NaN or only ``-inf`` is NaN throughout;
        a slice holding ``+inf`` is NaN at the ``+inf`` entries and ``-inf`` elsewhere
        (as SciPy).  An empty input gives an empty result (SciPy raises).
    """
    return _softmax_family(x, axis, "log")


def _softplus(z):
    """log(1 + exp(z)) without overflow or cancellation."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _sigmoid(z):
    """1 / (1 + exp(-z)), accurate on both sides."""
    ez = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + ez), ez / (1.0 + ez))


@_quiet
def log_expit(x):
    r"""Log of the logistic sigmoid, :math:`\log\sigma(x) = -\log(1 + e^{-x})`.

    Computed as ``-log1p(exp(-x))`` for ``x >= 0`` and ``x - log1p(exp(x))`` below.

    Parameters
    ----------
    x : array_like
        Input array.

    Returns
    -------
    ndarray or scalar
        Same shape as `x`.
    """
    dtype = _primitive_dtype(("x", x))
    x64 = _asarray(x, "x").astype(_F64)
    return _finish(-_softplus(-x64), dtype)


@_quiet
def norm_logpdf(x, loc=0.0, scale=1.0):
    r"""Log-density of the normal distribution, as ``scipy.stats.norm.logpdf``.

    .. math:: -\tfrac12 \log 2\pi - \log \sigma - \tfrac12 \big((x - \mu)/\sigma\big)^2

    with :math:`\mu` = `loc`, :math:`\sigma` = `scale`; the square does not overflow
    while the result is finite.

    Parameters
    ----------
    x, loc, scale : array_like
        Broadcast together.  ``scale <= 0`` gives NaN (as SciPy).

    Returns
    -------
    ndarray or scalar
        The broadcast shape, dtype the promotion of the inputs.
    """
    dtype = _primitive_dtype(("x", x), ("loc", loc), ("scale", scale))
    x64, loc64, scale64 = np.broadcast_arrays(
        # each input rounded to the result dtype first (a Python float loc with
        # float32 x is float32, as NumPy's weak scalars), then computed in float64
        *(_asarray(v, n).astype(dtype).astype(_F64) for v, n in ((x, "x"), (loc, "loc"), (scale, "scale")))
    )
    m, e = _frexp_diff(x64, loc64)
    sm, se = np.frexp(scale64)
    half_z2 = _ldexp_safe((m / sm) ** 2, 2 * (e - se) - 1)  # ((x - loc) / scale)**2 / 2
    out = -_HALF_LOG_2PI - np.log(scale64) - half_z2
    out = np.where(scale64 > 0, out, np.nan)
    return _finish(out, dtype)


# ----------------------------------------------------------------------------------------
# class-axis losses
# ----------------------------------------------------------------------------------------


def _class_axis(axis, ndim):
    if ndim == 0:
        raise ValueError("input must have at least 1 dimension (the class axis)")
    if axis is None:
        return 0 if ndim == 1 else 1
    return _normalize_axis(axis, ndim)


def _class_weight(weight, n_classes, dtype):
    if weight is None:
        return np.ones(n_classes)
    w = _side(weight, "weight", dtype)
    if w.shape != (n_classes,):
        raise ValueError(f"weight must be a 1-D array of length {n_classes} (the number of classes), got shape {w.shape}")
    return w


def _int_equal(a, value):
    """a == value for an integer array and a Python int of any size.

    NumPy before 2.2 can crash comparing an integer array with a Python int outside
    the array's range, so such values are compared here without NumPy's help."""
    info = np.iinfo(a.dtype)
    if not info.min <= value <= info.max:
        return np.zeros(a.shape, dtype=bool)
    return a == a.dtype.type(value)


def _int_below(a, value):
    """a < value for an integer array and a non-negative Python int (see _int_equal)."""
    if value > np.iinfo(a.dtype).max:
        return np.ones(a.shape, dtype=bool)
    return a < a.dtype.type(value)


def _index_target(target, shape, n_classes, ignore_index):
    """Validate class indices: integer dtype, ``shape``, each in [0, C) or ignore_index."""
    if target.shape != shape:
        raise ValueError(f"target must have shape {shape} (input's shape without the class axis), got {target.shape}")
    ignored = _int_equal(target, ignore_index)
    bad = ~ignored & ((target < 0) | ~_int_below(target, n_classes))
    if np.any(bad):
        first = target[bad].ravel()[0]
        raise LabelError(f"target holds class index {first}, out of range [0, {n_classes}) and not ignore_index={ignore_index}")
    labels = np.where(ignored, 0, target).astype(np.int64)
    return labels, ~ignored


def _target_kind(target, function):
    kind = target.dtype.kind
    if kind in "iu":
        return "index"
    if kind == "b":
        raise TypeError(f"{function}: target of dtype bool is ambiguous; pass integer class indices or float probabilities")
    if kind == "f" and function == "cross_entropy":
        return "prob"
    if kind == "f":
        raise TypeError(f"{function}: target must hold integer class indices, got dtype {target.dtype}")
    raise TypeError(f"{function}: unsupported target dtype {target.dtype}")


def _weighted_mean_scale(reduction, w_row, valid):
    """(loss divisor, gradient factor) of the row losses: torch's weighted mean."""
    if reduction != "mean":
        return 1.0, 1.0
    total = np.sum(w_row[valid]) if np.any(valid) else 0.0
    return total, (1.0 / total if total != 0 else np.inf)


@_quiet
def cross_entropy(
    input,
    target,
    weight=None,
    *,
    ignore_index=-100,
    reduction="mean",
    label_smoothing=0.0,
    axis=None,
    return_grad=False,
):
    r"""Softmax cross-entropy between logits and class indices or probabilities (torch semantics).

    With :math:`\log p = \operatorname{log\_softmax}(x)` over the class axis, :math:`C`
    classes, class weights :math:`w` (ones by default) and smoothing :math:`\varepsilon`:

    * integer `target` :math:`y` (class indices): per row
      :math:`\ell = (1-\varepsilon)\,(-w_y \log p_y) + \frac{\varepsilon}{C}\,(-\sum_c w_c \log p_c)`,
      0 for rows with ``y == ignore_index``; ``"mean"`` divides the sum by
      :math:`\sum w_y` over the non-ignored rows (NaN if there are none, with zero gradient);
    * float `target` :math:`t` (probabilities, `input`'s shape): with
      :math:`t' = (1-\varepsilon) t + \varepsilon / C`, per row
      :math:`\ell = -\sum_c w_c t'_c \log p_c`; ``"mean"`` divides by the number of rows.

    Parameters
    ----------
    input : array_like
        Logits; the class axis is 1 for 2+ dims and 0 for 1-D (or `axis`).
    target : array_like
        Integer class indices (shape of `input` without the class axis) or float
        probabilities (shape of `input`).  Bool targets raise ``TypeError``.
    weight : array_like, optional
        Class weights, shape ``(C,)``.
    ignore_index : int, optional
        Class index whose rows are skipped.  With probability targets only the
        default -100 is accepted (``ValueError`` otherwise, as torch).
    reduction : {"mean", "sum", "none"}, optional
    label_smoothing : float in [0, 1], optional
    axis : int, optional
        The class axis; ``None`` is torch's rule.
    return_grad : bool, optional
        Also return d loss / d input.

    Returns
    -------
    loss : ndarray or scalar
    grad : ndarray, only with `return_grad`

    Raises
    ------
    LabelError
        For a class index outside ``[0, C)`` that is not `ignore_index`
        (subclass of ``ValueError`` and ``IndexError``).

    Notes
    -----
    A row of all ``-inf`` logits, or one holding ``+inf`` or NaN, gives NaN.  A
    term with zero weight or zero target probability is 0 even on a ``-inf`` logit
    (torch gives NaN there).
    """
    x, dtype = _float_input(input, "input")
    cax = _class_axis(axis, x.ndim)
    reduction = _check_reduction(reduction)
    eps = _check_real(label_smoothing, "label_smoothing")
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    ignore_index = _check_int(ignore_index, "ignore_index")
    return_grad = _check_bool(return_grad, "return_grad")
    t = _asarray(target, "target")
    kind = _target_kind(t, "cross_entropy")
    n_classes = x.shape[cax]
    if n_classes == 0:
        raise ValueError("input must have at least one class along the class axis")
    w = _class_weight(weight, n_classes, dtype)

    xr = np.moveaxis(x, cax, -1)  # rows along the last axis
    logp, p = _log_softmax_rows(xr, plus_inf="nan")

    if kind == "index":
        labels, valid = _index_target(t, xr.shape[:-1], n_classes, ignore_index)
        w_row = np.where(valid, w[labels], 0.0)
        logp_y = np.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]
        row = -_xmul(w_row, logp_y)
        if eps > 0:
            smooth = -np.sum(_xmul(w, logp), axis=-1)
            row = (1.0 - eps) * row + (eps / n_classes) * smooth
        row = np.where(valid, row, 0.0)
        divisor, scale = _weighted_mean_scale(reduction, w_row, valid)
        loss = row if reduction == "none" else np.sum(row) / divisor
        if not return_grad:
            return _finish(loss, dtype)
        onehot = np.zeros_like(p)
        np.put_along_axis(onehot, labels[..., None], 1.0, axis=-1)
        coef = (w_row * scale)[..., None]  # w_y / W for the mean (0/0 = NaN as torch)
        g = (1.0 - eps) * coef * (p - onehot)
        if eps > 0:
            g = g + (eps / n_classes) * scale * (p * np.sum(w) - w)
        g = np.where(valid[..., None], g, 0.0)
        if reduction == "mean" and not np.any(valid):
            g = np.zeros_like(g)
    else:
        if ignore_index != -100:
            raise ValueError("ignore_index is not supported for probability (float) targets")
        tp = _side(t, "target", dtype)
        if tp.shape != x.shape:
            raise ValueError(f"probability target must have input's shape {x.shape}, got {tp.shape}")
        tr = np.moveaxis(tp, cax, -1)
        if eps > 0:
            tr = tr * (1.0 - eps) + eps / n_classes
        wt = tr * w
        # a log-probability that rounds to 0 is still negative where the row holds a
        # second entry above -inf: an infinite target times it is +inf, not inf * 0
        second = np.sum(xr > -np.inf, axis=-1, keepdims=True) >= 2
        row = -np.sum(_xmul(wt, np.where((logp == 0) & second, -5e-324, logp)), axis=-1)
        n_rows = row.size
        loss = _reduce(row, reduction) if reduction != "mean" else (np.sum(row) / n_rows if n_rows else np.nan)
        if not return_grad:
            return _finish(loss, dtype)
        scale = _reduction_scale(reduction, n_rows)
        g = (p * np.sum(wt, axis=-1, keepdims=True) - wt) * scale
    grad = np.moveaxis(g, -1, cax)
    return _finish(loss, dtype), _finish(grad, dtype)


@_quiet
def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean", axis=None, return_grad=False):
    r"""Negative log-likelihood of class indices given log-probabilities (torch semantics).

    Per row :math:`\ell = -w_y\, x_y` (0 where ``y == ignore_index``); ``"mean"``
    divides the sum by :math:`\sum w_y` over the non-ignored rows (NaN if there are
    none, with zero gradient).

    Parameters
    ----------
    input : array_like
        Log-probabilities; class axis 1 for 2+ dims and 0 for 1-D (or `axis`).
    target : array_like of int
        Class indices, `input`'s shape without the class axis.  Float or bool
        targets raise ``TypeError``.
    weight : array_like, optional
        Class weights, shape ``(C,)``.
    ignore_index : int, optional
    reduction : {"mean", "sum", "none"}, optional
    axis : int, optional
        The class axis; ``None`` is torch's rule.
    return_grad : bool, optional
        Also return d loss / d input (``-w_y / W`` at the target entries, 0 elsewhere).

    Returns
    -------
    loss : ndarray or scalar
    grad : ndarray, only with `return_grad`

    Raises
    ------
    LabelError
        For a class index outside ``[0, C)`` that is not `ignore_index`.
    """
    x, dtype = _float_input(input, "input")
    cax = _class_axis(axis, x.ndim)
    reduction = _check_reduction(reduction)
    ignore_index = _check_int(ignore_index, "ignore_index")
    return_grad = _check_bool(return_grad, "return_grad")
    t = _asarray(target, "target")
    _target_kind(t, "nll_loss")
    n_classes = x.shape[cax]
    if n_classes == 0:
        raise ValueError("input must have at least one class along the class axis")
    w = _class_weight(weight, n_classes, dtype)
    xr = np.moveaxis(x, cax, -1)
    labels, valid = _index_target(t, xr.shape[:-1], n_classes, ignore_index)
    w_row = np.where(valid, w[labels], 0.0)
    x_y = np.take_along_axis(xr, labels[..., None], axis=-1)[..., 0]
    row = np.where(valid, -_xmul(w_row, x_y), 0.0)
    divisor, scale = _weighted_mean_scale(reduction, w_row, valid)
    loss = row if reduction == "none" else np.sum(row) / divisor
    if not return_grad:
        return _finish(loss, dtype)
    g = np.zeros_like(xr)
    coef = np.where(valid, -w_row * scale, 0.0)
    if reduction == "mean" and not np.any(valid):
        coef = np.zeros_like(coef)
    np.put_along_axis(g, labels[..., None], coef[..., None], axis=-1)
    return _finish(loss, dtype), _finish(np.moveaxis(g, -1, cax), dtype)


# ----------------------------------------------------------------------------------------
# elementwise losses
# ----------------------------------------------------------------------------------------


def _same_shape_target(target, shape, dtype, name="target"):
    t = _side(target, name, dtype)
    if t.shape != shape:
        raise ValueError(f"{name} must have input's shape {shape}, got {t.shape}")
    return t


def _broadcast_target(x, target, dtype):
    """``(x, t, shape)``: `target` as a side argument and both broadcast to their common
    shape (NumPy rules, as torch 2.13 broadcasts the elementwise losses)."""
    t = _side(target, "target", dtype)
    try:
        shape = np.broadcast_shapes(x.shape, t.shape)
    except ValueError:
        raise ValueError(f"target of shape {t.shape} cannot be broadcast with input of shape {x.shape}") from None
    return np.broadcast_to(x, shape), np.broadcast_to(t, shape), shape


def _broadcast_side(value, name, shape, dtype):
    v = _side(value, name, dtype)
    try:
        return np.broadcast_to(v, shape)
    except ValueError as exc:
        raise ValueError(f"{name} of shape {v.shape} cannot be broadcast to input's shape {shape}") from exc


@_quiet
def binary_cross_entropy_with_logits(input, target, *, weight=None, reduction="mean", pos_weight=None, return_grad=False):
    r"""Bernoulli negative log-likelihood of `target` given logits (torch semantics).

    .. math:: \ell = w\,\big(p\,t\,\operatorname{softplus}(-x) + (1-t)\,\operatorname{softplus}(x)\big)

    with :math:`\operatorname{softplus}(z) = \log(1 + e^z)` computed as
    ``max(z, 0) + log1p(exp(-|z|))`` (no cancellation: the loss at ``x = 40, t = 0``
    is 40, at ``x = -40, t = 0`` it is 4.25e-18), :math:`w` = `weight`, :math:`p` =
    `pos_weight`.  Gradient :math:`w\,((1-t)\,\sigma(x) - p\,t\,\sigma(-x))`.

    Parameters
    ----------
    input : array_like
        Logits.
    target : array_like
        Targets in [0, 1], `input`'s shape (int/bool targets are taken as float).
    weight, pos_weight : array_like, optional
        Broadcast to `input`'s shape (`pos_weight` typically of shape ``(C,)``, the last axis).
    reduction : {"mean", "sum", "none"}, optional
    return_grad : bool, optional

    Returns
    -------
    loss : ndarray or scalar
    grad : ndarray, only with `return_grad`
    """
    x, dtype = _float_input(input, "input")
    reduction = _check_reduction(reduction)
    return_grad = _check_bool(return_grad, "return_grad")
    t = _same_shape_target(target, x.shape, dtype)
    w = np.ones(x.shape) if weight is None else _broadcast_side(weight, "weight", x.shape, dtype)
    pw = np.ones(x.shape) if pos_weight is None else _broadcast_side(pos_weight, "pos_weight", x.shape, dtype)
    elem = _xmul(w, _xmul(pw * t, _softplus(-x)) + _xmul(1.0 - t, _softplus(x)))
    loss = _reduce(elem, reduction)
    if not return_grad:
        return _finish(loss, dtype)
    scale = _reduction_scale(reduction, x.size)
    g = w * ((1.0 - t) * _sigmoid(x) - pw * t * _sigmoid(-x)) * scale
    return _finish(loss, dtype), _finish(g, dtype)


@_quiet
def kl_div(input, target, *, reduction="mean", log_target=False, return_grad=False):
    r"""Kullback-Leibler divergence with `input` given as log-probabilities (torch semantics).

    Pointwise :math:`t\,(\log t - x)` (:math:`t\log t - t x`, 0 where :math:`t = 0`), or,
    with ``log_target=True``, :math:`e^{t}\,(t - x)` (0 where :math:`t = -\infty`).
    Gradient :math:`-t` (or :math:`-e^t`).

    Parameters
    ----------
    input : array_like
        Log-probabilities.
    target : array_like
        Probabilities (or log-probabilities with `log_target`), broadcast with `input`.
    reduction : {"mean", "batchmean", "sum", "none"}, optional
        ``"mean"`` averages over all elements of the broadcast shape, ``"batchmean"``
        divides the sum by ``input.shape[0]`` (`input`'s own first dimension, as torch;
        the sum itself for a 0-d input).
    log_target : bool, optional
    return_grad : bool, optional

    Returns
    -------
    loss : ndarray or scalar
    grad : ndarray, only with `return_grad`
    """
    x, dtype = _float_input(input, "input")
    reduction = _check_reduction(reduction, ("none", "mean", "sum", "batchmean"))
    log_target = _check_bool(log_target, "log_target")
    return_grad = _check_bool(return_grad, "return_grad")
    x0_shape = x.shape
    x, t, shape = _broadcast_target(x, target, dtype)
    if log_target:
        pt = np.exp(t)
        elem = np.where((t == -np.inf) & ~np.isnan(x), 0.0, pt * (t - x))
        g = -pt
    else:
        elem = np.where((t == 0) & ~np.isnan(x), 0.0, t * np.log(t) - t * x)
        g = -t
    if reduction == "batchmean":
        batch = x0_shape[0] if len(x0_shape) else 1
        loss = np.sum(elem) / batch if batch else np.nan
        scale = 1.0 / batch if batch else np.inf
    else:
        loss = _reduce(elem, reduction)
        scale = _reduction_scale(reduction, x.size)
    if not return_grad:
        return _finish(loss, dtype)
    return _finish(loss, dtype), _finish(_sum_to_shape(np.broadcast_to(g * scale, shape), x0_shape), dtype)


def _input_weight(weight, shape, dtype):
    """torch 2.13's elementwise weight of mse_loss / l1_loss / huber_loss: ``input``'s shape."""
    if weight is None:
        return None
    w = _side(weight, "weight", dtype)
    if w.shape != shape:
        raise ValueError(f"weight of shape {w.shape} must have input's shape {shape} (as torch)")
    return w


def _weighted_loss(elem, grad, w, x0_shape, reduction, weight_mean, dtype, return_grad):
    """Reduce ``w * elem`` (``elem``, ``grad``: the broadcast elementwise loss and its
    derivative) as torch: ``"mean"`` is ``sum(w l) / sum(w)`` when ``weight_mean`` (the sum
    of ``w`` over its own, ``input``'s, shape), else over the number of elements."""
    n = elem.size
    if w is not None:
        wb = np.broadcast_to(w, elem.shape)
        elem = elem * wb
        grad = grad * wb
    if reduction == "mean" and w is not None and weight_mean:
        div = np.sum(w)
        loss = np.sum(elem) / div if n else np.float64(np.nan)
        if np.isinf(loss) and np.all(np.isfinite(elem)) and div > 0:
            loss = np.sum(elem / div)  # the sum overflows, the mean need not
        scale = 1.0 / div if n else np.inf
    else:
        loss = _reduce(elem, reduction)
        scale = _reduction_scale(reduction, n)
    if not return_grad:
        return _finish(loss, dtype)
    return _finish(loss, dtype), _finish(_sum_to_shape(grad * scale, x0_shape), dtype)


@_quiet
def mse_loss(input, target, *, reduction="mean", weight=None, return_grad=False):
    r"""Mean squared error, pointwise :math:`w (x - t)^2`; gradient :math:`2 w (x - t)`.

    Parameters
    ----------
    input, target : array_like
        Broadcast against each other (NumPy rules, as torch).
    reduction : {"mean", "sum", "none"}, optional
        Over the elements of the broadcast shape; with `weight`, ``"mean"`` is
        ``sum(w l) / sum(w)`` (torch 2.13).
    weight : array_like, optional
        Of `input`'s shape.
    return_grad : bool, optional

    Returns
    -------
    loss : ndarray or scalar
    grad : ndarray, only with `return_grad`
        Summed back to `input`'s shape.
    """
    x, dtype = _float_input(input, "input")
    reduction = _check_reduction(reduction)
    return_grad = _check_bool(return_grad, "return_grad")
    x0_shape = x.shape
    w = _input_weight(weight, x0_shape, dtype)
    x, t, _ = _broadcast_target(x, target, dtype)
    m, e = _frexp_diff(x, t)
    elem = _ldexp_safe(m * m, 2 * e)  # (x - t)**2, even where x - t itself overflows
    if w is not None:
        return _weighted_loss(elem, _ldexp_safe(2.0 * m, e), w, x0_shape, reduction, True,
                              dtype, return_grad)
    loss = _reduce(elem, reduction)
    if not return_grad:
        return _finish(loss, dtype)
    scale = _reduction_scale(reduction, x.size)
    g = _ldexp_safe(m * (2.0 * scale), e)
    return _finish(loss, dtype), _finish(_sum_to_shape(g, x0_shape), dtype)


def _abs_residual(x, t):
    """``|x - t|`` (inf where it overflows, as the exact value does) and ``sign(x - t)``
    (0 at 0, NaN at NaN)."""
    d = x - t
    return np.abs(d), np.sign(d)


@_quiet
def l1_loss(input, target, *, reduction="mean", weight=None, return_grad=False):
    r"""Mean absolute error, pointwise :math:`w |x - t|`; gradient :math:`w \operatorname{sign}(x - t)`
    (0 at :math:`x = t`, as torch's autograd; NaN for a NaN residual).

    Parameters
    ----------
    input, target : array_like
        Broadcast against each other (NumPy rules, as torch).
    reduction : {"mean", "sum", "none"}, optional
        With `weight`, ``"mean"`` is ``sum(w l) / sum(w)`` (torch 2.13).
    weight : array_like, optional
        Of `input`'s shape.
    return_grad : bool, optional
    """
    x, dtype = _float_input(input, "input")
    reduction = _check_reduction(reduction)
    return_grad = _check_bool(return_grad, "return_grad")
    x0_shape = x.shape
    w = _input_weight(weight, x0_shape, dtype)
    x, t, _ = _broadcast_target(x, target, dtype)
    a, sg = _abs_residual(x, t)
    return _weighted_loss(a, sg, w, x0_shape, reduction, True, dtype, return_grad)


def _linear_quadratic(x, t, k):
    """``(q, lin, a, r)`` of the Huber family at threshold ``k``: ``q = r**2 / 2``, the
    linear part ``lin = |r| - k/2`` (exact where ``x - t`` overflows), ``a = |r|`` and
    ``r`` (inf where it overflows)."""
    m, e = _frexp_diff(x, t)
    q = _ldexp_safe(0.5 * m * m, 2 * e)
    lin = _ldexp_safe(np.abs(m) - _ldexp_safe(0.5 * k * np.ones_like(m), -e), e)
    lin = np.where(np.isfinite(m), lin, np.abs(m) - 0.5 * k)  # inf, NaN
    r = _ldexp_safe(m, e)
    return q, lin, np.abs(r), r


@_quiet
def smooth_l1_loss(input, target, *, reduction="mean", beta=1.0, return_grad=False):
    r"""Smooth L1: :math:`r^2 / (2\beta)` where :math:`|r| < \beta`, else :math:`|r| - \beta/2`
    (:math:`r = x - t`); gradient :math:`r / \beta`, else :math:`\operatorname{sign}(r)`.
    ``beta == 0`` is :func:`l1_loss`; a negative `beta` is a ``ValueError``.  `beta` is
    rounded to the result dtype, as torch computes with it.
    """
    x, dtype = _float_input(input, "input")
    reduction = _check_reduction(reduction)
    return_grad = _check_bool(return_grad, "return_grad")
    beta = float(np.asarray(_check_real(beta, "beta"), dtype))
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta!r}")
    x0_shape = x.shape
    x, t, _ = _broadcast_target(x, target, dtype)
    if beta == 0.0:
        a, sg = _abs_residual(x, t)
        return _weighted_loss(a, sg, None, x0_shape, reduction, False, dtype, return_grad)
    q, lin, a, r = _linear_quadratic(x, t, beta)
    quad = a < beta
    elem = np.where(quad, 0.5 * a * (a / beta), lin)  # r is finite there; r**2 may not be
    grad = np.where(quad, r / beta, np.sign(r))
    return _weighted_loss(elem, grad, None, x0_shape, reduction, False, dtype, return_grad)


@_quiet
def huber_loss(input, target, *, reduction="mean", delta=1.0, weight=None, return_grad=False):
    r"""Huber loss: :math:`w r^2 / 2` where :math:`|r| < \delta`, else
    :math:`w \delta (|r| - \delta/2)` (:math:`r = x - t`); gradient :math:`w r`, else
    :math:`w \delta \operatorname{sign}(r)`.  ``delta <= 0`` is a ``ValueError``; `delta`
    is rounded to the result dtype, as torch computes with it.  With `weight` (of
    `input`'s shape), ``"mean"`` still divides by the number of elements (torch 2.13).
    """
    x, dtype = _float_input(input, "input")
    reduction = _check_reduction(reduction)
    return_grad = _check_bool(return_grad, "return_grad")
    delta = float(np.asarray(_check_real(delta, "delta"), dtype))
    if not delta > 0:
        raise ValueError(f"delta must be > 0, got {delta!r}")
    x0_shape = x.shape
    w = _input_weight(weight, x0_shape, dtype)
    x, t, _ = _broadcast_target(x, target, dtype)
    q, lin, a, r = _linear_quadratic(x, t, delta)
    quad = a < delta
    elem = np.where(quad, q, delta * lin)
    grad = np.where(quad, r, delta * np.sign(r))
    return _weighted_loss(elem, grad, w, x0_shape, reduction, False, dtype, return_grad)


@_quiet
def binary_cross_entropy(input, target, *, weight=None, reduction="mean", return_grad=False):
    r"""Binary cross-entropy on probabilities, as torch:
    :math:`-w (t \max(\log x, -100) + (1 - t) \max(\log(1 - x), -100))`; gradient torch's
    formula :math:`w (x - t) / \max(x (1 - x), 10^{-12})`.

    `input` and `target` must have one shape and lie in [0, 1] (``ValueError``
    otherwise, NaN included); `weight` broadcasts to `input`'s shape; ``"mean"`` divides
    by the number of elements.
    """
    x, dtype = _float_input(input, "input")
    reduction = _check_reduction(reduction)
    return_grad = _check_bool(return_grad, "return_grad")
    t = _same_shape_target(target, x.shape, dtype)
    w = None
    if weight is not None:
        w = _side(weight, "weight", dtype)
        try:
            ok = np.broadcast_shapes(w.shape, x.shape) == x.shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"weight of shape {w.shape} does not broadcast to input's shape {x.shape}")
    if not np.all((x >= 0) & (x <= 1)):
        raise ValueError("input must hold probabilities in [0, 1]")
    if not np.all((t >= 0) & (t <= 1)):
        raise ValueError("target must hold probabilities in [0, 1]")
    lx = np.maximum(np.log(x), -100.0)
    l1x = np.maximum(np.log1p(-x), -100.0)
    elem = -(t * lx + (1.0 - t) * l1x)
    # torch's floor is the float32 1e-12 (its EPSILON constant), 9.99999996e-13
    grad = (x - t) / np.maximum(x * (1.0 - x), float(np.float32(1e-12)))
    return _weighted_loss(elem, grad, w, x.shape, reduction, False, dtype, return_grad)


def _half_sq_ratio_var(m, e, var):
    """``r**2 / var / 2`` for ``r = m * 2**e`` without spurious over/underflow."""
    vm, ve = np.frexp(var)
    return _ldexp_safe(m * m / vm, 2 * e - ve - 1)


@_quiet
def gaussian_nll_loss(input, target, var, *, full=False, eps=1e-6, reduction="mean", return_grad=False):
    r"""Gaussian negative log-likelihood, exactly as ``torch.nn.functional.gaussian_nll_loss``.

    .. math:: \ell = \tfrac12\big(\log v + (x - t)^2 / v\big)\ [+\ \tfrac12 \log 2\pi \text{ if full}],
              \qquad v = \max(\text{var}, \text{eps})

    The clamp is straight-through (as torch, which clamps under ``no_grad``):
    :math:`\partial\ell/\partial\text{var} = \tfrac12 (1/v - (x-t)^2/v^2)` evaluated
    at the clamped :math:`v`, also where ``var < eps``.

    Parameters
    ----------
    input : array_like
        Predicted means.
    target : array_like
        Samples, broadcast with `input` (NumPy rules, as torch).
    var : array_like or float
        Variances (>= 0, else ``ValueError``): a float (or 0-d array), or an array of
        `input`'s shape, of `input`'s shape without its last dimension, or of
        `input`'s number of dimensions with exactly one dimension of size 1 where
        `input`'s differs (judged against `input`'s own shape, as torch).
    full : bool, optional
        Add the constant :math:`\tfrac12\log 2\pi`.
    eps : float, optional
        Lower clamp of `var`.
    reduction : {"mean", "sum", "none"}, optional
        Over the elements of the broadcast shape of `input` and `target`.
    return_grad : bool, optional

    Returns
    -------
    loss : ndarray or scalar
    grad_input : ndarray, only with `return_grad`
        Summed back to `input`'s shape.
    grad_var : ndarray or scalar, only with `return_grad`
        Summed back to `var`'s shape; a NumPy scalar for a float `var`.
    """
    x, dtype = _float_input(input, "input")
    full = _check_bool(full, "full")
    eps = _check_real(eps, "eps")
    reduction = _check_reduction(reduction)
    return_grad = _check_bool(return_grad, "return_grad")
    x0_shape = x.shape
    xb, t, shape = _broadcast_target(x, target, dtype)
    v = _side(var, "var", dtype)
    if np.any(v < 0):
        raise ValueError("var has negative entry/entries")
    var_shape = v.shape
    if v.ndim == 0:
        vb = v  # a scalar broadcasts anywhere
    elif v.shape == x.shape:
        vb = v
    elif v.shape == x.shape[:-1]:
        vb = v[..., None]
    elif v.ndim == x.ndim and sum(1 for a, b in zip(x.shape, v.shape) if a != b) == 1 and all(
        b == 1 for a, b in zip(x.shape, v.shape) if a != b
    ):
        vb = v
    else:
        raise ValueError(f"var is of incorrect size: shape {v.shape} for input of shape {x.shape}")
    var_bshape = vb.shape  # var's shape as it broadcasts against input
    x = xb
    vb = np.broadcast_to(vb, shape)
    eps_cast = float(np.asarray(eps, dtype=dtype))
    vc = np.maximum(vb, eps_cast)  # NaN stays NaN
    m, e = _frexp_diff(x, t)
    half_q = _half_sq_ratio_var(m, e, vc)
    elem = 0.5 * np.log(vc) + half_q
    if full:
        elem = elem + _HALF_LOG_2PI
    loss = _reduce(elem, reduction)
    if not return_grad:
        return _finish(loss, dtype)
    scale = _reduction_scale(reduction, x.size)
    vm, ve = np.frexp(vc)
    g_x = _sum_to_shape(_ldexp_safe(m / vm, e - ve) * scale, x0_shape)  # r / v
    g_v = (0.5 / vc - _ldexp_safe((m / vm) ** 2, 2 * (e - ve) - 1)) * scale  # 1/(2v) - r**2/(2v**2)
    g_v = _sum_to_shape(g_v, var_bshape).reshape(var_shape) if v.ndim else np.sum(g_v)
    return _finish(loss, dtype), _finish(g_x, dtype), _finish(g_v, dtype)


@_quiet
def poisson_nll_loss(input, target, *, log_input=True, full=False, eps=1e-8, reduction="mean", return_grad=False):
    r"""Poisson negative log-likelihood (torch semantics).

    ``log_input=True``: :math:`e^x - t x` (gradient :math:`e^x - t`);
    ``log_input=False``: :math:`x - t \log(x + \text{eps})` (gradient
    :math:`1 - t / (x + \text{eps})`).  ``full`` adds Stirling's approximation of
    :math:`\log t!`, :math:`t \log t - t + \tfrac12 \log(2\pi t)`, where :math:`t > 1`.
    A zero count on a zero rate contributes 0 (``0 * log 0 = 0``).

    Parameters
    ----------
    input : array_like
        Log-rates (or rates with ``log_input=False``).
    target : array_like
        Counts, broadcast with `input` (NumPy rules, as torch).
    log_input, full : bool, optional
    eps : float, optional
    reduction : {"mean", "sum", "none"}, optional
        Over the elements of the broadcast shape.
    return_grad : bool, optional

    Returns
    -------
    loss : ndarray or scalar
    grad : ndarray, only with `return_grad`
        Summed back to `input`'s shape.
    """
    x, dtype = _float_input(input, "input")
    log_input = _check_bool(log_input, "log_input")
    full = _check_bool(full, "full")
    eps = float(np.asarray(_check_real(eps, "eps"), dtype=dtype))
    reduction = _check_reduction(reduction)
    return_grad = _check_bool(return_grad, "return_grad")
    x0_shape = x.shape
    x, t, _ = _broadcast_target(x, target, dtype)
    if log_input:
        elem = np.exp(x) - _xmul(t, x)
        g = np.exp(x) - t
    else:
        rate = x + eps
        elem = x - _xmul(t, np.log(rate))
        g = 1.0 - np.where((t == 0) & ~np.isnan(rate), 0.0, t / rate)
    if full:
        stirling = t * np.log(t) - t + 0.5 * np.log(2.0 * np.pi * t)
        elem = elem + np.where(t <= 1, 0.0, stirling)
    loss = _reduce(elem, reduction)
    if not return_grad:
        return _finish(loss, dtype)
    scale = _reduction_scale(reduction, x.size)
    return _finish(loss, dtype), _finish(_sum_to_shape(g * scale, x0_shape), dtype)


# ----------------------------------------------------------------------------------------
# beyond the peers: the exact Gaussian NLL
# ----------------------------------------------------------------------------------------


@_quiet
def gaussian_nll(input, target, var=None, *, log_var=None, std=None, reduction="mean", return_grad=False):
    r"""Exact Gaussian negative log-likelihood (constant included), with NumPy broadcasting.

    .. math:: \ell = \tfrac12\big(\log 2\pi + \log\sigma^2 + r^2/\sigma^2\big), \qquad r = x - t

    with :math:`\sigma^2` given as `var`, as `log_var` (:math:`s = \log\sigma^2`:
    :math:`r^2 e^{-s}` is formed without overflow for any :math:`s`) or as `std`.
    Given none, :math:`\sigma^2` is profiled out at its maximum-likelihood value
    :math:`\hat\sigma^2 = \overline{r^2}` over all elements: per element
    :math:`\tfrac12(\log 2\pi\hat\sigma^2 + r^2/\hat\sigma^2)`, mean
    :math:`\tfrac12(\log 2\pi\hat\sigma^2 + 1)`; the gradient is that of the profiled
    loss, :math:`r/\hat\sigma^2` (divided by :math:`N` for the mean).

    Zero variance (``var == 0``, ``std == 0`` or ``log_var == -inf``) takes the limit
    :math:`\sigma^2 \to 0^+`: the loss is ``+inf`` where ``r != 0`` and ``-inf`` where
    ``r == 0`` (a point mass at the mean has infinite density); gradients likewise
    (``grad_input`` ``±inf`` / 0; ``grad_var`` and ``grad_std`` ``-inf`` / ``+inf``;
    ``grad_log_var`` ``-inf`` / 0.5).  A profiled :math:`\hat\sigma^2 = 0` gives
    ``-inf`` (and NaN gradient).

    Parameters
    ----------
    input : array_like
        Predicted means.
    target : array_like
        Observations; broadcast with `input`.
    var, log_var, std : array_like, optional
        At most one; broadcast with `input` and `target`.  `var` and `std` must be
        >= 0 (``ValueError``).
    reduction : {"mean", "sum", "none"}, optional
        Over all elements of the broadcast shape.
    return_grad : bool, optional
        Return ``(loss, grad_input, grad_param)``, the gradient with respect to
        whichever of `var` / `log_var` / `std` was given, or ``(loss, grad_input)``
        when profiled; each summed back to its argument's shape.

    Returns
    -------
    loss : ndarray or scalar
    grad_input : ndarray, only with `return_grad`
    grad_param : ndarray or scalar, only with `return_grad` and a variance argument
    """
    x0, dtype = _float_input(input, "input")
    reduction = _check_reduction(reduction)
    return_grad = _check_bool(return_grad, "return_grad")
    given = [(name, val) for name, val in (("var", var), ("log_var", log_var), ("std", std)) if val is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one of var, log_var and std, got {', '.join(n for n, _ in given)}")
    t0 = _side(target, "target", dtype)
    arrays = [x0, t0]
    if given:
        pname, pval = given[0]
        p0 = _side(pval, pname, dtype)
        if pname in ("var", "std") and np.any(p0 < 0):
            raise ValueError(f"{pname} must be >= 0")
        arrays.append(p0)
    try:
        bshape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError as exc:
        raise ValueError(f"input, target{' and ' + given[0][0] if given else ''} cannot be broadcast together: {exc}") from exc
    x, t = np.broadcast_to(x0, bshape), np.broadcast_to(t0, bshape)
    n = math.prod(bshape)
    m, e = _frexp_diff(x, t)
    zero_r = m == 0

    if not given:
        return _gaussian_nll_profiled(x0.shape, m, e, n, reduction, return_grad, dtype)

    p = np.broadcast_to(p0, bshape)
    if pname == "var":
        zero_var = p == 0
        pm, pe = np.frexp(p)
        half_log_var = 0.5 * np.log(p)
        half_q = _ldexp_safe(m * m / pm, 2 * e - pe - 1)  # r**2 / var / 2
    elif pname == "std":
        zero_var = p == 0
        pm, pe = np.frexp(p)
        half_log_var = np.log(p)
        half_q = _ldexp_safe((m / pm) ** 2, 2 * (e - pe) - 1)  # (r / std)**2 / 2
    else:
        zero_var = p == -np.inf
        f, k = _exp_split(p)  # exp(-s) = f * 2**-k
        half_log_var = 0.5 * p
        half_q = _ldexp_safe(m * m * f, 2 * e - k - 1)  # r**2 * exp(-s) / 2
        half_q = np.where(zero_r & ~np.isnan(p), 0.0, half_q)
    elem = _HALF_LOG_2PI + half_log_var + half_q
    limit = np.where(zero_r, -np.inf, np.inf)  # sigma -> 0+
    elem = np.where(zero_var & ~np.isnan(m), limit, elem)
    loss = _reduce(elem, reduction)
    if not return_grad:
        return _finish(loss, dtype)

    scale = _reduction_scale(reduction, n)
    if pname == "var":
        g_x = _ldexp_safe(m / pm, e - pe)  # r / var
        g_p = 0.5 / p - _ldexp_safe((m / pm) ** 2, 2 * (e - pe) - 1)  # 1/(2v) - r**2/(2v**2)
        g_x = np.where(zero_var & ~np.isnan(m), np.where(zero_r, 0.0, np.copysign(np.inf, m)), g_x)
        g_p = np.where(zero_var & ~np.isnan(m), np.where(zero_r, np.inf, -np.inf), g_p)
    elif pname == "std":
        g_x = _ldexp_safe(m / pm / pm, e - 2 * pe)  # r / std**2
        g_p = 1.0 / p - _ldexp_safe((m / pm) ** 2 / pm, 2 * (e - pe) - pe)  # 1/std - r**2/std**3
        g_x = np.where(zero_var & ~np.isnan(m), np.where(zero_r, 0.0, np.copysign(np.inf, m)), g_x)
        g_p = np.where(zero_var & ~np.isnan(m), np.where(zero_r, np.inf, -np.inf), g_p)
    else:
        g_x = _ldexp_safe(m * f, e - k)  # r * exp(-s)
        g_x = np.where(zero_r & ~np.isnan(p), 0.0, g_x)
        g_p = 0.5 - half_q  # (1 - r**2 exp(-s)) / 2
        g_x = np.where(zero_var & ~np.isnan(m), np.where(zero_r, 0.0, np.copysign(np.inf, m)), g_x)
        g_p = np.where(zero_var & ~np.isnan(m), np.where(zero_r, 0.5, -np.inf), g_p)
    g_x = _sum_to_shape(g_x * scale, x0.shape)
    g_p = _sum_to_shape(g_p * scale, p0.shape)
    return _finish(loss, dtype), _finish(g_x, dtype), _finish(g_p, dtype)


def _gaussian_nll_profiled(input_shape, m, e, n, reduction, return_grad, dtype):
    """The Gaussian NLL with the variance at its MLE, sigma2 = mean(r**2) (see gaussian_nll)."""
    finite = np.isfinite(m)
    if n == 0:
        loss = np.zeros(m.shape) if reduction == "none" else (np.float64(0.0) if reduction == "sum" else np.float64(np.nan))
        grad = np.zeros(input_shape)
    elif not np.all(finite):
        # a NaN residual makes everything NaN; an infinite one (and no NaN) makes sigma2 = inf
        has_nan = np.any(np.isnan(m))
        value = np.nan if has_nan else np.inf
        loss = np.full(m.shape, value) if reduction == "none" else np.float64(value)
        # r / sigma2: NaN everywhere with a NaN residual, else 0 (inf / inf = NaN where r is inf)
        g_elem = np.full(m.shape, np.nan) if has_nan else np.where(np.isinf(m), np.nan, 0.0)
        grad = _sum_to_shape(g_elem, input_shape)
    else:
        # scale all residuals by a common power of two 2**big: u = r / 2**big, |u| < 1
        nonzero = m != 0
        big = int(np.max(e[nonzero])) if np.any(nonzero) else 0
        u = _ldexp_safe(m, e - big)
        s_u = np.mean(u * u)  # sigma2 = s_u * 4**big
        if s_u == 0:
            elem = np.full(m.shape, -np.inf)
            mean_loss = -np.inf
            g_elem = np.full(m.shape, np.nan)
        else:
            log_sigma2 = np.log(s_u) + 2 * big * math.log(2.0)
            elem = 0.5 * (_LOG_2PI + log_sigma2) + 0.5 * (u * u) / s_u
            mean_loss = 0.5 * (_LOG_2PI + log_sigma2 + 1.0)
            g_elem = _ldexp_safe(u / s_u, np.full(m.shape, -big))  # r / sigma2
        if reduction == "none":
            loss = elem
        elif reduction == "sum":
            loss = np.float64(n * mean_loss)
        else:
            loss = np.float64(mean_loss)
        scale = 1.0 / n if reduction == "mean" else 1.0
        grad = _sum_to_shape(g_elem * scale, input_shape)
    if not return_grad:
        return _finish(loss, dtype)
    return _finish(loss, dtype), _finish(grad, dtype)
