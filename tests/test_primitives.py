"""The primitives of API.md against crossent.reference and SciPy.

``logsumexp``, ``softmax``, ``log_softmax``, ``log_expit``, ``norm_logpdf``: random and
adversarial inputs (hypothesis), every edge case of API.md, result dtypes, axes and
keepdims, input kinds and memory layouts, inputs left unchanged, ``out=``, and the
cross-cutting ``get_include()`` / ``show_config()``.

Oracles: ``crossent.reference`` (NumPy) and SciPy evaluated in float64 on the same values
(for float32 results that is the exact value up to a float64 rounding). Values are
compared in ulps of the result dtype at max(|expected|, R) (API.md "Accuracy"), with a
margin because the oracles carry their own few-ulp errors; tight ulp bounds against
mpmath live in test_accuracy.py.
"""
import glob
import math
import os

import numpy as np
import pytest
import scipy.special as sps
import scipy.stats as sst
from hypothesis import given
from hypothesis import strategies as st

import crossent
from crossent import reference as ref

from _helpers import (
    F32,
    F64,
    assert_close_ulps,
    assert_special_match,
    call_unchanged,
    derived_views,
    hyp_strategies,
    inputs_unchanged,
    layout_variants,
    quiet,
    result_dtype,
    row_scale,
    same_bits,
)

_, hnp, elements, float_arrays, axes_for = hyp_strategies()

TOL = 8  # ulps against an oracle that has an error of its own (a few ulps)
inf, nan = np.inf, np.nan
PRIMITIVE_NAMES = ["logsumexp", "softmax", "log_softmax", "log_expit", "norm_logpdf"]


# --------------------------------------------------------------------- checkers

def _f64(v):
    return None if v is None else np.asarray(v, dtype=np.float64)


def scipy_logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """SciPy's logsumexp in float64, with two SciPy 1.17 slips mended as API.md says:
    entries with b == 0 contribute nothing (SciPy gives NaN for logsumexp([710], b=[0]):
    exp(710) * 0), and an empty input gives -inf / sign 0 (SciPy raises IndexError for
    shape (0, 0) with axis=None)."""
    a64, b64 = _f64(a), _f64(b)
    shape = a64.shape if b is None else np.broadcast_shapes(a64.shape, b64.shape)
    if b is not None:
        a64, b64 = np.broadcast_arrays(a64, b64)
        a64 = np.where(b64 == 0, -inf, a64)
        b64 = np.where(b64 == 0, 1.0, b64)
    if 0 in shape:
        r = np.full(np.sum(np.empty(shape), axis=axis, keepdims=keepdims).shape, -inf)
        r = r[()] if r.ndim == 0 else r
        return (r, np.zeros_like(r)) if return_sign else r
    return quiet(sps.logsumexp, a64, axis=axis, b=b64, keepdims=keepdims,
                 return_sign=return_sign)


def check_logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, tol=TOL):
    """crossent.logsumexp against the reference and SciPy(float64); inputs unchanged."""
    a = np.asarray(a)
    kw = dict(axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
    got = result = call_unchanged(crossent.logsumexp, a, **kw)
    want_ref = quiet(ref.logsumexp, a, **kw)
    want_sp = scipy_logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
    dt = result_dtype(a) if b is None else result_dtype(a, b)
    if return_sign:
        assert isinstance(got, tuple) and len(got) == 2
        (got, got_sign), (want_ref, ref_sign), (want_sp, sp_sign) = got, want_ref, want_sp
        assert np.asarray(got_sign).dtype == dt
        assert np.shape(got_sign) == np.shape(sp_sign)
        assert_special_match(got_sign, sp_sign)
        assert_special_match(got_sign, ref_sign)
        ok = ~np.isnan(np.asarray(sp_sign))
        np.testing.assert_array_equal(np.asarray(got_sign)[ok], np.asarray(sp_sign)[ok])
    got_arr = np.asarray(got)
    assert got_arr.dtype == dt, f"dtype {got_arr.dtype}, expected {dt}"
    assert got_arr.shape == np.shape(want_sp)
    if got_arr.ndim == 0:
        assert isinstance(got, np.floating), f"full reduction gave {type(got)}"
    else:
        assert isinstance(got, np.ndarray)
    scale = row_scale(a, axis=axis, keepdims=keepdims, b=b, extra=[want_sp])
    assert_close_ulps(got, want_sp, dt, tol, scale, "logsumexp vs scipy")
    assert_close_ulps(got, want_ref, dt, tol, scale, "logsumexp vs reference")
    return result


def _softmax_scale(x, axis, lse):
    """R of a softmax row: largest finite |x| of the row and |logsumexp|, broadcast."""
    r = row_scale(x, axis=axis, keepdims=True)
    r = np.maximum(r, np.abs(np.reshape(lse, r.shape)))  # SciPy gives 0-d input a 1-d lse
    return np.broadcast_to(r, np.shape(x))


def check_softmax_like(name, x, axis=None, tol=TOL):
    """softmax / log_softmax against the reference and SciPy(float64)."""
    x = np.asarray(x)
    fn = getattr(crossent, name)
    got = call_unchanged(fn, x, axis=axis)
    dt = result_dtype(x)
    assert np.asarray(got).dtype == dt
    assert np.shape(got) == x.shape
    want_ref = quiet(getattr(ref, name), x, axis=axis)
    x64 = x.astype(np.float64)
    reduced_empty = x.size == 0
    if reduced_empty:
        assert np.asarray(got).size == 0
        return got
    want_sp = quiet(getattr(sps, name), x64, axis=axis)
    lse = quiet(sps.logsumexp, x64, axis=axis, keepdims=True)
    R = _softmax_scale(x64, axis, lse)
    if name == "softmax":
        with np.errstate(all="ignore"):
            scale = np.abs(want_sp) * np.maximum(R, 1.0)  # relative: exp of an abs error
    else:
        scale = R
    assert_close_ulps(got, want_sp, dt, tol, scale, f"{name} vs scipy")
    assert_close_ulps(got, want_ref, dt, tol, scale, f"{name} vs reference")
    return got


def check_log_expit(x, tol=TOL):
    x = np.asarray(x)
    got = call_unchanged(crossent.log_expit, x)
    dt = result_dtype(x)
    assert np.asarray(got).dtype == dt and np.shape(got) == x.shape
    want_sp = quiet(sps.log_expit, x.astype(np.float64))
    want_ref = quiet(ref.log_expit, x)
    scale = row_scale(np.minimum(x.astype(np.float64), 0.0), axis=())
    assert_close_ulps(got, want_sp, dt, tol, scale, "log_expit vs scipy")
    assert_close_ulps(got, want_ref, dt, tol, scale, "log_expit vs reference")
    return got


def check_norm_logpdf(x, loc=0.0, scale=1.0, tol=TOL):
    got = call_unchanged(crossent.norm_logpdf, x, loc, scale)
    dt = result_dtype(x, loc, scale)
    shape = np.broadcast_shapes(np.shape(x), np.shape(loc), np.shape(scale))
    assert np.asarray(got).dtype == dt and np.shape(got) == shape
    # the inputs as crossent computes them: rounded to the result dtype first (a
    # Python float loc with float32 x is float32, as NumPy's weak scalars)
    with np.errstate(all="ignore"):
        x64, l64, s64 = (_f64(np.asarray(v).astype(dt)) for v in (x, loc, scale))
    want_sp = quiet(sst.norm.logpdf, x64, l64, s64)
    want_ref = quiet(ref.norm_logpdf, x, loc, scale)
    with np.errstate(all="ignore"):
        z = (x64 - l64) / s64
        R = row_scale(0.5 * z * z, axis=(), extra=[np.log(np.abs(s64)), 0.5 * math.log(2 * math.pi)])
    assert_close_ulps(got, want_sp, dt, tol, R, "norm_logpdf vs scipy")
    assert_close_ulps(got, want_ref, dt, tol, R, "norm_logpdf vs reference")
    return got


# ------------------------------------------------------------------ hypothesis

@st.composite
def lse_cases(draw, signed_b=False):
    dtype = draw(st.sampled_from([F32, F64]))
    a = draw(float_arrays(dtype))
    axis = draw(axes_for(a.ndim))
    keepdims = draw(st.booleans())
    b = None
    if draw(st.booleans()):
        # a shape that broadcasts against a: trailing dims, some set to 1
        nd = draw(st.integers(0, a.ndim))
        bshape = tuple(1 if draw(st.booleans()) else n for n in a.shape[a.ndim - nd:])
        bdtype = draw(st.sampled_from([F32, F64]))
        if signed_b:
            b_el = st.one_of(st.floats(-4, 4, width=32), st.sampled_from([0.0, 1.0, -1.0]))
        else:
            # (b = +inf is left to test_logsumexp_infinite_weight: SciPy turns
            # exp(-746) * inf into NaN)
            b_el = st.one_of(st.floats(0, 4, width=32), st.sampled_from([0.0, 0.0, 1.0, 1e-30]),
                             st.just(np.nan))
        b = draw(hnp.arrays(bdtype, bshape, elements=b_el))
    return a, axis, b, keepdims


@given(lse_cases())
def test_logsumexp_random(case):
    a, axis, b, keepdims = case
    check_logsumexp(a, axis=axis, b=b, keepdims=keepdims)


@given(lse_cases(), st.booleans())
def test_logsumexp_random_return_sign(case, _):
    a, axis, b, keepdims = case
    check_logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=True)


@given(lse_cases(signed_b=True))
def test_logsumexp_signed_b(case):
    """Negative weights with return_sign: checked where the sum is well conditioned."""
    a, axis, b, keepdims = case
    a = np.where(np.isnan(a), 0.0, a).astype(a.dtype)  # NaN handled elsewhere
    kw = dict(axis=axis, keepdims=keepdims)
    got, got_sign = call_unchanged(crossent.logsumexp, a, b=b, return_sign=True, **kw)
    a64, b64 = _f64(a), _f64(b)
    want, want_sign = scipy_logsumexp(a64, b=b64, return_sign=True, **kw)
    want_abs = scipy_logsumexp(a64, b=None if b is None else np.abs(b64), **kw)
    with np.errstate(all="ignore"):
        # cancellation: log(sum|terms|) - log|sum terms|; condition number e**cancel
        cancel = np.asarray(want_abs - want, dtype=np.float64)
    # compare where no cancellation (or an infinite term) decides: e**cancel <= e
    good = ~np.isfinite(np.asarray(want_abs)) | (np.isfinite(cancel) & (cancel <= 1.0))
    dt = result_dtype(a) if b is None else result_dtype(a, b)
    assert np.asarray(got).dtype == dt and np.asarray(got_sign).dtype == dt
    g, gs = np.asarray(got)[good], np.asarray(got_sign)[good]
    w, ws = np.asarray(want)[good], np.asarray(want_sign)[good]
    scale = np.broadcast_to(row_scale(a, b=b, extra=[want_abs], **kw), np.shape(want))[good]
    assert_close_ulps(g, w, dt, 3 * TOL, scale, "signed logsumexp vs scipy")
    assert_special_match(gs, ws)
    np.testing.assert_array_equal(gs[~np.isnan(ws)], ws[~np.isnan(ws)])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_like_random(name, data):
    dtype = data.draw(st.sampled_from([F32, F64]))
    x = data.draw(float_arrays(dtype))
    axis = data.draw(axes_for(x.ndim))
    # +inf follows SciPy's own (softmax vs log_softmax) quirks: tested on its own below
    x[x == inf] = 1.0
    check_softmax_like(name, x, axis)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_softmax_like_positive_inf_as_scipy(name, dtype):
    x = np.array([[inf, 1.0, 0.0], [inf, inf, -inf], [1.0, inf, nan], [0.0, 1.0, 2.0]], dtype=dtype)
    check_softmax_like(name, x, axis=1)
    check_softmax_like(name, x, axis=0)


@given(st.sampled_from([F32, F64]).flatmap(float_arrays))
def test_log_expit_random(x):
    check_log_expit(x)


@given(data=st.data())
def test_norm_logpdf_random(data):
    dtype = data.draw(st.sampled_from([F32, F64]))
    width = 32 if dtype == F32 else 64
    x_el = st.one_of(st.floats(-2.0**20, 2.0**20, width=width), st.sampled_from([inf, -inf, nan, 0.0]))
    s_el = st.one_of(st.floats(2.0**-20, 2.0**20, width=width),
                     st.sampled_from([0.0, -1.0, -0.0, inf, nan, 1.0]))
    shapes = hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=5)
    sh = data.draw(shapes).input_shapes
    x = data.draw(hnp.arrays(dtype, sh[0], elements=x_el))
    loc = data.draw(st.one_of(st.floats(-1e3, 1e3), hnp.arrays(dtype, sh[1], elements=x_el)))
    scale = data.draw(st.one_of(st.sampled_from([1.0, 2.5, 1e-3]),
                                hnp.arrays(dtype, sh[2], elements=s_el)))
    check_norm_logpdf(x, loc, scale)


# ------------------------------------------------------------------ edge cases

LSE_EDGES = [
    ([], {}, -inf),
    ([-inf, -inf], {}, -inf),
    ([-inf], {}, -inf),
    ([inf, 1.0], {}, inf),
    ([inf, -inf], {}, inf),
    ([inf, inf], {}, inf),
    ([nan, 1.0], {}, nan),
    ([nan, inf], {}, nan),
    ([nan, -inf], {}, nan),
    ([1.0, nan, inf, -inf], {}, nan),
    ([0.0, -40.0], {}, 4.248354255291589e-18),
    ([1.0, 2.0], dict(b=[0.0, 1.0]), 2.0),
    ([inf, 0.0], dict(b=[0.0, 1.0]), 0.0),
    ([nan, 0.0], dict(b=[0.0, 1.0]), 0.0),
    ([1.0, 2.0], dict(b=[0.0, 0.0]), -inf),
    ([1.0, 2.0], dict(b=[1.0, -1.0]), nan),  # negative sum needs return_sign
    ([1.0, 2.0], dict(b=2.0), math.log(2 * (math.e + math.e**2))),
    ([1e308, 1e308], {}, 1e308),
    ([-1e308, 1e308], {}, 1e308),
    ([5.0], {}, 5.0),
    ([-745.0, -745.0], {}, -745.0 + math.log(2)),
    (3.0, {}, 3.0),
]


@pytest.mark.parametrize("a, kw, expected", LSE_EDGES)
@pytest.mark.parametrize("dtype", [F32, F64])
def test_logsumexp_edges(a, kw, expected, dtype):
    with np.errstate(over="ignore"):
        a = np.asarray(a, dtype=dtype)
    if dtype == F32 and np.any(np.abs(a[np.isfinite(a)]) > 1e38):
        pytest.skip("value not representable in float32")
    got = check_logsumexp(a, **kw)
    with np.errstate(all="ignore"):
        assert_close_ulps(got, expected, got.dtype, 4, row_scale(a, b=kw.get("b")))


SIGN_EDGES = [
    ([1.0, 1.0], dict(b=[1.0, -1.0]), (-inf, 0.0)),
    ([1.0, 2.0], dict(b=[1.0, -1.0]), (math.log(math.e**2 - math.e), -1.0)),
    ([1.0, 2.0], dict(b=[-1.0, 1.0]), (math.log(math.e**2 - math.e), 1.0)),
    ([1.0, 2.0], dict(b=[0.0, 0.0]), (-inf, 0.0)),
    ([1.0, 2.0], dict(b=[-1.0, -1.0]), (math.log(math.e + math.e**2), -1.0)),
    ([-inf], {}, (-inf, 0.0)),
    ([], {}, (-inf, 0.0)),
    ([nan], {}, (nan, nan)),
    ([inf], dict(b=[-1.0]), (inf, -1.0)),
    ([inf, inf], dict(b=[1.0, -1.0]), (nan, nan)),
    ([0.0, -40.0], dict(b=[-1.0, -1.0]), (4.248354255291589e-18, -1.0)),
]


@pytest.mark.parametrize("a, kw, expected", SIGN_EDGES)
def test_logsumexp_return_sign_edges(a, kw, expected):
    got, sign = check_logsumexp(np.asarray(a, dtype=F64), return_sign=True, **kw)
    assert isinstance(got, np.floating) and isinstance(sign, np.floating)
    assert_close_ulps(got, expected[0], F64, 4, row_scale(np.asarray(a), b=kw.get("b")))
    assert_special_match(sign, expected[1])
    if not np.isnan(expected[1]):
        assert sign == expected[1]


def test_logsumexp_infinite_weight():
    """b = +inf on a finite entry: the sum is +inf (SciPy agrees where exp(a - max) does
    not underflow; for logsumexp([-746], b=[inf]) it computes 0 * inf = NaN)."""
    for a in ([1.0], [-746.0], [1.0, 2.0], [-800.0, 0.0]):
        got, sign = crossent.logsumexp(np.array(a), b=np.array([inf] * len(a)), return_sign=True)
        assert got == inf and sign == 1.0, (a, got, sign)
        assert crossent.logsumexp(np.array(a), b=np.array([inf] + [1.0] * (len(a) - 1))) == inf
    got, sign = crossent.logsumexp(np.array([1.0]), b=np.array([-inf]), return_sign=True)
    assert got == inf and sign == -1.0


def test_logsumexp_empty_reductions():
    a = np.empty((3, 0))
    got = check_logsumexp(a, axis=1)
    np.testing.assert_array_equal(got, [-inf] * 3)
    got = check_logsumexp(a, axis=0)
    assert got.shape == (0,)
    got = check_logsumexp(a, axis=1, keepdims=True)
    assert got.shape == (3, 1) and np.all(got == -inf)
    assert check_logsumexp(np.empty((2, 0, 3)), axis=(0, 1)).tolist() == [-inf] * 3
    # weighted, tuple axis, no rows left: an empty result
    assert check_logsumexp(np.empty((0, 2, 2)), axis=(1, 2), b=np.ones(2)).shape == (0,)
    assert check_logsumexp(np.empty((0, 2, 2)), axis=(1, 2), b=np.ones(2),
                           return_sign=True)[1].shape == (0,)
    assert check_logsumexp(np.empty((2, 0)), axis=1, b=np.ones(1)).tolist() == [-inf] * 2


def test_logsumexp_b_broadcasting(rng):
    a = rng.normal(size=(3, 4, 5)) * 5
    for b in [rng.uniform(0, 2, size=(5,)), rng.uniform(0, 2, size=(4, 1)),
              rng.uniform(0, 2, size=(3, 1, 5)), np.float64(0.5), 3.0,
              np.where(rng.uniform(size=(3, 4, 5)) < 0.3, 0.0, 1.0)]:
        for axis in [None, 0, -1, (0, 2), (1, -1)]:
            for keepdims in (False, True):
                check_logsumexp(a, axis=axis, b=b, keepdims=keepdims)
    # b == 0 removes an entry entirely, even +inf and NaN ones
    a2 = np.array([[inf, 1.0, nan], [2.0, -inf, 3.0]])
    b2 = np.array([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    got = check_logsumexp(a2, axis=1, b=b2)
    assert got[0] == 1.0


def test_logsumexp_axes_and_keepdims(rng):
    a = rng.normal(size=(2, 3, 4, 5)) * 30
    for axis in [None, 0, 1, 2, 3, -1, -4, (0,), (1, 3), (-1, 0), (0, 1, 2, 3), (3, 1, 0)]:
        for keepdims in (False, True):
            got = check_logsumexp(a, axis=axis, keepdims=keepdims)
            assert np.shape(got) == np.sum(a, axis=axis, keepdims=keepdims).shape


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_like_axes(name, rng):
    a = rng.normal(size=(2, 3, 4, 5)) * 30
    for axis in [None, 0, 1, 3, -1, -3, (0,), (1, 3), (-1, 0), (0, 1, 2, 3)]:
        check_softmax_like(name, a, axis)
    check_softmax_like(name, a.astype(F32), 1)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_like_default_axis_is_none(name, rng):
    """As SciPy, the default is axis=None: the whole array is one distribution."""
    x = rng.normal(size=(3, 4))
    got = getattr(crossent, name)(x)
    want = getattr(sps, name)(x)
    assert_close_ulps(got, want, F64, TOL, row_scale(x, extra=[sps.logsumexp(x)]))
    if name == "softmax":
        assert abs(got.sum() - 1.0) < 1e-14


SOFTMAX_EDGES = [
    [[nan, 1.0, 2.0], [1.0, 2.0, 3.0]],
    [[-inf, -inf, -inf], [0.0, 1.0, 2.0]],
    [[1e308, -1e308, 0.0], [-1e308, -1e308, -1e308]],
    [[-inf, 0.0, -inf], [nan, -inf, 3.0]],
    [[0.0, -40.0, -800.0], [-1e308, 1e308, 0.0]],
    [[5.0, 5.0, 5.0], [-745.0, -746.0, -1000.0]],
]


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("x", SOFTMAX_EDGES)
@pytest.mark.parametrize("dtype", [F32, F64])
def test_softmax_like_edges(name, x, dtype):
    with np.errstate(all="ignore"):
        x = np.asarray(x, dtype=dtype)
    got = check_softmax_like(name, x, axis=1)
    for i, row in enumerate(x):
        if (row == inf).any():
            continue  # SciPy's +inf quirks: test_softmax_like_positive_inf_as_scipy
        if np.isnan(row).any() or np.all(row == -inf):
            assert np.isnan(got[i]).all(), f"row {row} must give NaN throughout: {got[i]}"
        else:
            assert not np.isnan(got[i]).any(), f"row {row} gave NaN: {got[i]}"


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_like_degenerate_shapes(name):
    fn = getattr(crossent, name)
    # rows of length 1
    got = check_softmax_like(name, np.array([[3.0], [-inf], [1e300]]), axis=1)
    assert got[0, 0] == (1.0 if name == "softmax" else 0.0)
    # zero rows
    got = fn(np.empty((0, 3)), axis=1)
    assert got.shape == (0, 3) and got.dtype == F64
    # rows of length 0: an empty result (SciPy raises from np.max here)
    try:
        got = fn(np.empty((3, 0)), axis=1)
    except ValueError:
        pass
    else:
        assert got.shape == (3, 0)
    # 0-d
    got = fn(np.float64(3.0))
    assert np.ndim(got) == 0 and got == (1.0 if name == "softmax" else 0.0)
    got = fn(np.float32(3.0))
    assert np.asarray(got).dtype == F32


LOG_EXPIT_EDGES = [-inf, inf, nan, 0.0, -0.0, 1.0, -1.0, 40.0, 36.0, 37.0, 710.0, 745.0, 746.0,
                   800.0, -40.0, -745.0, -1000.0, 1e308, -1e308, 5e-324, -5e-324, 1e-300, 17.0,
                   -17.0, 88.0, 104.0, -88.0, -104.0, 1e-8, -1e-8]


@pytest.mark.parametrize("dtype", [F32, F64])
def test_log_expit_edges(dtype):
    with np.errstate(all="ignore"):
        x = np.array(LOG_EXPIT_EDGES, dtype=dtype)
    got = check_log_expit(x, tol=4)
    assert np.isnan(got[2]) and got[0] == -inf and got[1] == 0.0
    for xi, gi in zip(x, got):  # log sigmoid is never positive
        assert np.isnan(xi) or gi <= 0


NORM_EDGES = [
    (1.0, 0.0, 0.0),
    (1.0, 0.0, -1.0),
    (1.0, 0.0, -0.0),
    (1.0, 0.0, nan),
    (1.0, 0.0, inf),
    (inf, 0.0, 1.0),
    (-inf, 0.0, 1.0),
    (nan, 0.0, 1.0),
    (1.0, inf, 1.0),
    (inf, inf, 1.0),
    (1.0, nan, 1.0),
    (0.0, 0.0, 1.0),
    (3.0, 1.0, 2.0),
    (1e-300, 0.0, 1e-300),
    (1e6, -1e6, 1e-3),
    (0.5, 0.5, 1e300),
]


@pytest.mark.parametrize("x, loc, scale", NORM_EDGES)
def test_norm_logpdf_edges(x, loc, scale):
    got = check_norm_logpdf(np.array([x]), loc, scale, tol=4)
    if not scale > 0:
        assert np.isnan(got).all(), "scale <= 0 (or NaN) must give NaN, as SciPy"


def test_norm_logpdf_broadcasting(rng):
    x = rng.normal(size=(3, 1))
    loc = rng.normal(size=(4,))
    scale = rng.uniform(0.1, 3, size=(1, 4))
    got = check_norm_logpdf(x, loc, scale)
    assert got.shape == (3, 4)
    check_norm_logpdf(x.astype(F32), loc.astype(F32), scale.astype(F32))
    check_norm_logpdf(x.astype(F32), 1.5, 2)
    check_norm_logpdf(x, np.array([0.0, -1.0]).reshape(2, 1, 1), 3.0)
    check_norm_logpdf(rng.normal(size=(5,)), scale=np.array([0.0, -2.0, 1.0, inf, nan]))


@pytest.mark.parametrize("name", ["log_expit", "norm_logpdf"])
@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 0, 2)])
def test_elementwise_empty(name, shape):
    got = getattr(crossent, name)(np.empty(shape, dtype=F32))
    assert isinstance(got, np.ndarray) and got.shape == shape and got.dtype == F32


# ------------------------------------------------------------------ dtypes

DTYPE_CASES = [
    (np.float16, np.float32),
    (np.float32, np.float32),
    (np.float64, np.float64),
    (np.int8, np.float64),
    (np.int32, np.float64),
    (np.int64, np.float64),
    (np.uint8, np.float64),
    (np.uint64, np.float64),
    (np.bool_, np.float64),
]


@pytest.mark.parametrize("in_dtype, out_dtype", DTYPE_CASES)
@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
def test_result_dtype(name, in_dtype, out_dtype):
    x = np.array([[0, 1, 2], [3, 1, 0]]).astype(in_dtype)
    fn = getattr(crossent, name)
    kw = {"axis": 1} if name in ("logsumexp", "softmax", "log_softmax") else {}
    got = call_unchanged(fn, x, **kw)
    assert got.dtype == out_dtype
    want = quiet(getattr(ref, name), x.astype(np.float64), **kw)
    assert_close_ulps(got, want, out_dtype, TOL, row_scale(x, extra=[want]))
    if name == "logsumexp":  # full reduction: a NumPy scalar of the result dtype
        full = fn(x)
        assert isinstance(full, np.floating) and full.dtype == out_dtype


MIXED_CASES = [  # (a dtype, b dtype or python scalar, expected)
    (np.float32, np.float64, np.float64),
    (np.float32, np.float32, np.float32),
    (np.float64, np.float32, np.float64),
    (np.float16, np.float16, np.float32),
    (np.float16, np.float32, np.float32),
    (np.float16, np.float64, np.float64),
    (np.int64, np.float32, np.float64),
    (np.float32, np.int64, np.float64),
    (np.float32, np.bool_, np.float64),
    (np.float32, 2.0, np.float32),
    (np.float32, 2, np.float32),
    (np.int32, 2.0, np.float64),
]


@pytest.mark.parametrize("a_dtype, b_dtype, out_dtype", MIXED_CASES)
def test_logsumexp_b_promotion(a_dtype, b_dtype, out_dtype):
    a = np.array([[0.5, 1, 2], [3, 1, 0]]).astype(a_dtype)
    b = b_dtype if isinstance(b_dtype, (int, float)) else np.array([1, 1, 2]).astype(b_dtype)
    assert result_dtype(a, b) == out_dtype  # the rule itself, as API.md states it
    got = check_logsumexp(a, axis=1, b=b)
    assert got.dtype == out_dtype
    got, sign = crossent.logsumexp(a, axis=1, b=b, return_sign=True)
    assert got.dtype == out_dtype and sign.dtype == out_dtype


@pytest.mark.parametrize("x_dtype, loc, scale, out_dtype", [
    (np.float32, 0.0, 1.0, np.float32),
    (np.float32, 1, 2, np.float32),
    (np.float32, np.array([0.0]), 1.0, np.float64),
    (np.float32, 0.0, np.array([1.0], dtype=np.float32), np.float32),
    (np.float16, 0.0, 1.0, np.float32),
    (np.float16, np.array([0.0], dtype=np.float16), 1.0, np.float32),
    (np.int64, 0.0, 1.0, np.float64),
    (np.int64, np.array([0.0], dtype=np.float32), 1.0, np.float64),
    (np.float64, np.array([0.0], dtype=np.float32), np.array([2], dtype=np.int8), np.float64),
])
def test_norm_logpdf_promotion(x_dtype, loc, scale, out_dtype):
    x = np.array([0.5, -1.0, 2.0]).astype(x_dtype)
    assert result_dtype(x, loc, scale) == out_dtype
    got = check_norm_logpdf(x, loc, scale)
    assert got.dtype == out_dtype


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
def test_float16_computed_in_float32(name, rng):
    x = (rng.normal(size=(4, 33)) * 8).astype(np.float16)
    fn = getattr(crossent, name)
    kw = {"axis": 1} if name in ("logsumexp", "softmax", "log_softmax") else {}
    got = fn(x, **kw)
    want = fn(x.astype(np.float32), **kw)
    assert got.dtype == F32
    assert same_bits(got, want), "float16 input must give the float32 computation"


# ------------------------------------------------------------------ input kinds

def test_lists_and_scalars():
    got = crossent.logsumexp([1.0, 2.0, 3.0])
    assert isinstance(got, np.float64)
    assert_close_ulps(got, sps.logsumexp([1.0, 2.0, 3.0]), F64, 2, 3.5)
    got = crossent.logsumexp(3.0)
    assert isinstance(got, np.float64) and got == 3.0
    got = crossent.logsumexp([[1, 2], [3, 4]], axis=1)  # nested int lists -> float64
    assert got.dtype == F64
    assert_close_ulps(got, sps.logsumexp([[1.0, 2], [3, 4]], axis=1), F64, 2, 5)
    got = crossent.softmax([[1.0, 2.0], [3.0, 4.0]], axis=1)
    assert isinstance(got, np.ndarray) and got.dtype == F64
    assert_close_ulps(got, sps.softmax([[1.0, 2.0], [3.0, 4.0]], axis=1), F64, 4, 1)
    got = crossent.log_softmax([1, 2, 3])
    assert_close_ulps(got, sps.log_softmax([1.0, 2.0, 3.0]), F64, 2, 3.5)
    got = crossent.log_expit(2)
    assert np.ndim(got) == 0 and np.asarray(got).dtype == F64
    assert_close_ulps(got, sps.log_expit(2.0), F64, 2)
    got = crossent.log_expit([-1.0, 0.0, 1.0])
    assert_close_ulps(got, sps.log_expit([-1.0, 0.0, 1.0]), F64, 2, 1)
    got = crossent.norm_logpdf(1.0, 0.5, 2.0)
    assert np.ndim(got) == 0 and np.asarray(got).dtype == F64
    assert_close_ulps(got, sst.norm.logpdf(1.0, 0.5, 2.0), F64, 2, 1)
    got = crossent.norm_logpdf([1, 2], [0, 1], [1, 2])
    assert_close_ulps(got, sst.norm.logpdf([1, 2], [0, 1], [1, 2]), F64, 2, 1)
    got = crossent.softmax(3.0)
    assert np.ndim(got) == 0 and got == 1.0


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_tensors(name, dtype, rng):
    torch = pytest.importorskip("torch")
    base = torch.from_numpy(rng.normal(size=(6, 10)).astype(dtype) * 5)
    fn = getattr(crossent, name)
    kw = {"axis": 1} if name in ("logsumexp", "softmax", "log_softmax") else {}
    for t in (base, base.T, base[:, ::3], base[1:, 2:]):
        got = call_unchanged(fn, t, **kw)
        assert isinstance(got, np.ndarray) and got.dtype == np.dtype(dtype)
        assert same_bits(got, fn(t.numpy(), **kw))
        want = quiet(getattr(ref, name), np.array(t.numpy()), **kw)
        assert_close_ulps(got, want, dtype, TOL, row_scale(t.numpy(), extra=[want]))


_ARRAY_CASES = {
    "logsumexp": [dict(axis=1), dict(axis=0), dict(axis=None), dict(axis=(0, 1)),
                  dict(axis=-1, keepdims=True)],
    "softmax": [dict(axis=1), dict(axis=0), dict(axis=None)],
    "log_softmax": [dict(axis=1), dict(axis=0), dict(axis=None)],
    "log_expit": [{}],
    "norm_logpdf": [{}, dict(loc=0.5, scale=2.0)],
}


def _oracle_and_scale(name, x, kw):
    want = quiet(getattr(ref, name), np.ascontiguousarray(x), **kw)
    axis = kw.get("axis", ())
    if name == "softmax":
        lse = sps.logsumexp(x.astype(np.float64), axis=axis, keepdims=True)
        scale = np.abs(want) * np.maximum(_softmax_scale(x.astype(np.float64), axis, lse), 1)
    elif name == "log_softmax":
        lse = sps.logsumexp(x.astype(np.float64), axis=axis, keepdims=True)
        scale = _softmax_scale(x.astype(np.float64), axis, lse)
    elif name == "logsumexp":
        scale = row_scale(x, axis=axis, keepdims=kw.get("keepdims", False), extra=[want])
    else:
        scale = row_scale(x, axis=(), extra=[want, 1.0])
    return want, scale


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape", [(5, 7), (1, 9), (3, 4, 5)])
def test_memory_layouts(name, dtype, shape, rng):
    """Same values in every layout -> results as the reference on the contiguous copy."""
    a = (rng.normal(size=shape) * 20).astype(dtype)
    fn = getattr(crossent, name)
    for kw in _ARRAY_CASES[name]:
        want, scale = _oracle_and_scale(name, a, kw)
        for label, v in layout_variants(a):
            got = call_unchanged(fn, v, **kw)
            assert np.asarray(got).dtype == dtype, label
            assert_close_ulps(got, want, dtype, TOL, scale, f"{name} {kw} {label}")


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
@pytest.mark.parametrize("dtype", [F32, F64])
def test_views(name, dtype, rng):
    """Views of a base array (a[:, ::3], a.T, a[::-1], ...) against the reference."""
    base = (rng.normal(size=(9, 13)) * 20).astype(dtype)
    fn = getattr(crossent, name)
    for label, v in derived_views(base) + derived_views(base[0]):
        for kw in _ARRAY_CASES[name]:
            if v.ndim == 1 and kw.get("axis") not in (None, 0, -1):
                continue
            want, scale = _oracle_and_scale(name, v, kw)
            got = call_unchanged(fn, v, **kw)
            assert_close_ulps(got, want, dtype, TOL, scale, f"{name} {kw} {label}")


@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
def test_zero_stride_input(name, rng):
    """A broadcast view (stride 0, read-only) along and across the reduced axis."""
    row = rng.normal(size=50) * 10
    x = np.broadcast_to(row, (7, 50))
    fn = getattr(crossent, name)
    for axis in (0, 1, None):
        want, scale = _oracle_and_scale(name, x, dict(axis=axis))
        got = call_unchanged(fn, x, axis=axis)
        assert_close_ulps(got, want, F64, TOL, scale, f"{name} axis={axis}")


@pytest.mark.parametrize("name", ["log_expit", "norm_logpdf"])
def test_zero_stride_input_elementwise(name, rng):
    x = np.broadcast_to(rng.normal(size=(1, 50)) * 10, (7, 50))
    want, scale = _oracle_and_scale(name, x, {})
    got = call_unchanged(getattr(crossent, name), x)
    assert_close_ulps(got, want, F64, TOL, scale, name)


@pytest.mark.parametrize("name", PRIMITIVE_NAMES)
def test_zero_dimensional(name):
    for v in (np.float64(0.7), np.array(0.7), np.array(-2.5, dtype=F32), np.array(3)):
        for label, var in layout_variants(np.asarray(v)):
            got = call_unchanged(getattr(crossent, name), var)
            assert np.ndim(got) == 0, label
            want = quiet(getattr(ref, name), np.asarray(v))
            assert_close_ulps(got, want, result_dtype(v), 2, np.abs(np.asarray(v, float)) + 1)


def test_scipy_positional_signatures(rng):
    a = rng.normal(size=(3, 4))
    b = rng.uniform(size=(3, 4))
    assert same_bits(crossent.logsumexp(a, 1, b, True, True),
                     crossent.logsumexp(a, axis=1, b=b, keepdims=True, return_sign=True))
    assert same_bits(crossent.softmax(a, 0), crossent.softmax(a, axis=0))
    assert same_bits(crossent.log_softmax(a, 0), crossent.log_softmax(a, axis=0))
    assert same_bits(crossent.norm_logpdf(a, 0.5, 2.0), crossent.norm_logpdf(a, loc=0.5, scale=2.0))
    # out and n_threads are keyword-only
    with pytest.raises(TypeError):
        crossent.softmax(a, 0, np.empty_like(a))
    with pytest.raises(TypeError):
        crossent.log_expit(a, np.empty_like(a))
    with pytest.raises(TypeError):
        crossent.logsumexp(a, 1, None, False, False, np.empty(3))


# ------------------------------------------------------------------ out=

@pytest.mark.parametrize("name, kw, out_shape", [
    ("logsumexp", dict(axis=1), (5,)),
    ("logsumexp", dict(axis=0, keepdims=True), (1, 7)),
    ("logsumexp", dict(axis=(0, 1), keepdims=True), (1, 1)),
    ("softmax", dict(axis=1), (5, 7)),
    ("log_softmax", dict(axis=0), (5, 7)),
    ("softmax", dict(axis=None), (5, 7)),
    ("log_expit", {}, (5, 7)),
    ("norm_logpdf", dict(loc=1.0, scale=2.0), (5, 7)),
])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_out_argument(name, kw, out_shape, dtype, rng):
    x = (rng.normal(size=(5, 7)) * 10).astype(dtype)
    fn = getattr(crossent, name)
    want, scale = _oracle_and_scale(name, x, kw)
    # a fresh contiguous out
    out = np.full(out_shape, 123.0, dtype=dtype)
    res = call_unchanged(fn, x, out=out, **kw)
    assert res is out
    assert_close_ulps(out, want, dtype, TOL, scale, f"{name} out=")
    assert same_bits(out, fn(x, **kw))
    # a strided out: right shape and dtype, not contiguous; the gaps stay untouched
    big = np.full(out_shape[:-1] + (3 * out_shape[-1],), 123.0, dtype=dtype)
    out = big[..., ::3]
    res = fn(x, out=out, **kw)
    assert res is out
    assert same_bits(np.ascontiguousarray(out), fn(x, **kw))
    assert np.all(big[..., 1::3] == 123.0) and np.all(big[..., 2::3] == 123.0)
    # refused: wrong shape, wrong dtype, read-only, not an array
    bad_shape = np.empty(out_shape + (1,), dtype=dtype)
    with pytest.raises(ValueError, match="out"):
        fn(x, out=bad_shape, **kw)
    other = F64 if dtype == F32 else F32
    with pytest.raises((TypeError, ValueError), match="out"):
        fn(x, out=np.empty(out_shape, dtype=other), **kw)
    ro = np.empty(out_shape, dtype=dtype)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        fn(x, out=ro, **kw)
    with pytest.raises((TypeError, ValueError), match="out"):
        fn(x, out=np.empty(out_shape, dtype=dtype).tolist(), **kw)


@pytest.mark.parametrize("kw", [dict(axis=None), dict(axis=(0, 1)), dict(axis=None, b=0.5)])
def test_out_full_reduction(kw, rng):
    """A full reduction into a 0-d out: out is filled and returned (as np.sum does)."""
    x = rng.normal(size=(4, 6))
    out = np.empty(())
    res = crossent.logsumexp(x, out=out, **kw)
    assert res is out, f"returned {type(res).__name__}, not out"
    want = scipy_logsumexp(x, **kw)
    assert_close_ulps(out, want, F64, TOL, row_scale(x, extra=[want]))
    with pytest.raises(ValueError, match="out"):
        crossent.logsumexp(x, out=np.empty((1,)), **kw)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "log_expit", "norm_logpdf"])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_out_in_place(name, dtype, rng):
    fn = getattr(crossent, name)
    kw = {"axis": 1} if name in ("softmax", "log_softmax") else {}
    x = (rng.normal(size=(6, 40)) * 10).astype(dtype)
    expected = fn(x.copy(), **kw)
    y = x.copy()
    res = fn(y, out=y, **kw)
    assert res is y
    assert same_bits(y, expected)
    # in place on a strided view: the rest of the buffer untouched
    big = np.full((12, 80), 7.0, dtype=dtype)
    v = big[::2, ::2]
    v[...] = x
    res = fn(v, out=v, **kw)
    assert res is v and same_bits(np.ascontiguousarray(v), expected)
    assert np.all(big[1::2] == 7.0) and np.all(big[:, 1::2] == 7.0)
    # in place on a negative-stride view
    z = x[::-1].copy()[::-1]
    res = fn(z, out=z, **kw)
    assert same_bits(np.ascontiguousarray(z), expected)


def test_out_in_place_norm_logpdf_loc_and_scale(rng):
    x = rng.normal(size=(4, 5))
    loc = rng.normal(size=(4, 5))
    scale = rng.uniform(0.5, 2, size=(4, 5))
    expected = crossent.norm_logpdf(x, loc, scale)
    lc = loc.copy()
    assert crossent.norm_logpdf(x, lc, scale, out=lc) is lc and same_bits(lc, expected)
    sc = scale.copy()
    assert crossent.norm_logpdf(x, loc, sc, out=sc) is sc and same_bits(sc, expected)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "log_expit", "norm_logpdf"])
def test_out_partial_overlap_refused(name, rng):
    fn = getattr(crossent, name)
    kw = {"axis": 1} if name in ("softmax", "log_softmax") else {}
    buf = rng.normal(size=(6, 11))
    before = buf.copy()
    with pytest.raises(ValueError, match="out|overlap"):
        fn(buf[:, :-1], out=buf[:, 1:], **kw)
    with pytest.raises(ValueError, match="out|overlap"):
        fn(buf[:-1], out=buf[1:], **kw)
    assert same_bits(buf, before), "a refused call must not write"
    # the same memory, mapped differently: refused, or computed as if out were fresh
    x = buf[:, ::-1]
    expected = fn(x.copy(), **kw)
    try:
        res = fn(x, out=buf, **kw)
    except ValueError:
        assert same_bits(buf, before)
    else:
        assert res is buf and same_bits(buf, expected)


def test_out_overlap_reduction_refused(rng):
    a = rng.normal(size=(4, 4))
    before = a.copy()
    with pytest.raises(ValueError, match="out|overlap"):
        crossent.logsumexp(a, axis=0, out=a[0])
    with pytest.raises(ValueError, match="out|overlap"):
        crossent.logsumexp(a, axis=1, out=a[:, 2])
    assert same_bits(a, before)


def test_inputs_unchanged_all_kwargs(rng):
    """b, loc and scale arrays (and read-only ones) are never written either."""
    a = rng.normal(size=(5, 6))
    b = rng.uniform(size=(5, 6))
    b.flags.writeable = False
    a.flags.writeable = False
    with inputs_unchanged(a, b):
        crossent.logsumexp(a, axis=1, b=b, return_sign=True)
        crossent.logsumexp(a, axis=(0, 1), b=b[0], keepdims=True)
    loc, scale = rng.normal(size=6), rng.uniform(1, 2, size=(5, 1))
    with inputs_unchanged(a, loc, scale):
        crossent.norm_logpdf(a, loc, scale)


# ------------------------------------------------------------------ cross-cutting

def test_public_names():
    for name in PRIMITIVE_NAMES + ["get_include", "show_config"]:
        assert callable(getattr(crossent, name)), name
    for name in PRIMITIVE_NAMES:
        assert callable(getattr(ref, name)), f"reference.{name}"


def test_get_include():
    inc = crossent.get_include()
    assert isinstance(inc, str)
    assert os.path.isabs(inc) and os.path.isdir(inc), inc
    headers = glob.glob(os.path.join(inc, "**", "*.h"), recursive=True)
    assert headers, f"no C headers in {inc}"
    for h in headers:
        assert os.path.getsize(h) > 0, h


def test_show_config(capsys):
    crossent.show_config()
    text = capsys.readouterr().out
    low = text.lower()
    for word in ("compiler", "flag", "openmp", "simd", "thread"):
        assert word in low, f"show_config() does not mention {word!r}:\n{text}"
    assert "-ffast-math" not in text and "-Ofast" not in text
