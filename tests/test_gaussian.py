"""The Gaussian / Poisson family: mse_loss, gaussian_nll_loss, poisson_nll_loss (torch
semantics) and gaussian_nll (the exact Gaussian NLL), with their fused gradients.

Against crossent.reference (the NumPy oracle), against torch.nn.functional (values and
autograd gradients), the identities of the family, bad input, bitwise determinism across
thread counts, memory layouts and read-only inputs.  Accuracy in ulps against mpmath is in
test_gauss_accuracy.py.
"""
import math

import numpy as np
import pytest

import crossent
from crossent import reference as ref

from _helpers import call_unchanged, layout_variants, same_bits

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# ----------------------------------------------------------------------------- helpers

def ulps(dtype):
    return float(np.finfo(dtype).eps)


def assert_close(got, expected, dtype, k=4.0, scale=None, what=""):
    """Same dtype, shape and inf/NaN pattern; finite values within k ulps of
    max(|expected|, scale) (scale defaults to the largest |expected|)."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype}, expected {np.dtype(dtype)}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    g = got.astype(np.float64)
    e = expected.astype(np.float64)
    assert np.array_equal(np.isnan(g), np.isnan(e)), f"{what}: NaN pattern {g} vs {e}"
    inf = np.isinf(e) | np.isinf(g)
    assert np.array_equal(g[inf], e[inf]), f"{what}: inf mismatch {g[inf]} vs {e[inf]}"
    fin = np.isfinite(e)
    if not fin.any():
        return
    if scale is None:
        scale = np.max(np.abs(e[fin]))
    bound = k * ulps(dtype) * np.maximum(np.abs(e), scale)
    with np.errstate(invalid="ignore"):
        err = np.abs(g - e)
    bad = fin & ~(err <= bound)
    assert not bad.any(), (f"{what}: max error {np.max((err / np.maximum(np.abs(e), scale))[fin]) / ulps(dtype):.3g} "
                           f"ulps at {np.argwhere(bad)[:3].tolist()}: got {g[bad][:3]}, expected {e[bad][:3]}")


def assert_all_close(got, expected, dtype, k=4.0, scales=None, what=""):
    assert isinstance(got, tuple) == isinstance(expected, tuple)
    if not isinstance(got, tuple):
        got, expected = (got,), (expected,)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert_close(g, e, dtype, k, None if scales is None else scales[i], what=f"{what}[{i}]")


def t_(a, grad=False):
    t = torch.from_numpy(np.array(a, copy=True))
    if grad:
        t.requires_grad_(True)
    return t


# ------------------------------------------------------------------- against the reference

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("grad", [False, True])
def test_mse_and_poisson_match_reference(dtype, reduction, grad, rng):
    x = (rng.standard_normal((7, 33)) * 3).astype(dtype)
    y = (rng.standard_normal((7, 33)) * 3).astype(dtype)
    counts = rng.poisson(2.0, size=x.shape).astype(dtype)
    counts.flat[:4] = [0.0, 1.0, 1.5, 9.0]
    got = crossent.mse_loss(x, y, reduction=reduction, return_grad=grad)
    assert_all_close(got, ref.mse_loss(x, y, reduction=reduction, return_grad=grad), dtype,
                     what="mse")
    for log_input in (True, False):
        xin = x if log_input else np.abs(x).astype(dtype)
        for full in (False, True):
            kw = dict(log_input=log_input, full=full, reduction=reduction, return_grad=grad)
            got = crossent.poisson_nll_loss(xin, counts, **kw)
            exp = ref.poisson_nll_loss(xin, counts, **kw)
            scale = np.max(np.abs(np.exp(x.astype(np.float64)))) * (counts.size if reduction == "sum" else 1)
            assert_all_close(got, exp, dtype, k=8, scales=None if not log_input else [scale, None],
                             what=f"poisson {kw}")


VAR_SHAPES = ["float", "0d", (5, 4, 3), (5, 4), (5, 4, 1), (5, 1, 3), (1, 4, 3)]


def _var(var_shape, dtype, rng):
    if var_shape == "float":
        return 0.7
    if var_shape == "0d":
        return np.array(0.3, dtype)
    v = (rng.random(var_shape) + 0.05).astype(dtype)
    v.flat[0] = 1e-9  # below eps: clamped, straight-through gradient
    return v


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", VAR_SHAPES)
def test_gaussian_nll_loss_matches_reference(dtype, reduction, var_shape, rng):
    x = (rng.standard_normal((5, 4, 3)) * 2).astype(dtype)
    y = (rng.standard_normal((5, 4, 3)) * 2).astype(dtype)
    var = _var(var_shape, dtype, rng)
    for full in (False, True):
        for eps in (1e-6, 0.1):
            kw = dict(full=full, eps=eps, reduction=reduction, return_grad=True)
            got = crossent.gaussian_nll_loss(x, y, var, **kw)
            exp = ref.gaussian_nll_loss(x, y, var, **kw)
            assert_all_close(got, exp, dtype, k=8, what=f"{var_shape} {kw}")
            assert np.shape(got[2]) == np.shape(var)
            assert_close(crossent.gaussian_nll_loss(x, y, var, full=full, eps=eps, reduction=reduction),
                         exp[0], dtype, k=8)


PARAM_CASES = [
    # input, target, param shapes (NumPy broadcasting)
    ((6, 5), (6, 5), (6, 5)),
    ((6, 1), (6, 5), (5,)),      # both summed back: two passes
    ((6, 5), (6, 5), ()),
    ((6, 5), (5,), (6, 1)),
    ((3, 1, 4), (1, 5, 4), (3, 5, 1)),
    ((40, 20), (40, 20), (20,)),  # across: the parameter keeps the contiguous dim
    ((), (7,), ()),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("param", ["var", "log_var", "std", None])
@pytest.mark.parametrize("shapes", PARAM_CASES)
def test_gaussian_nll_matches_reference(dtype, reduction, param, shapes, rng):
    xs, ts, ps = shapes
    x = (rng.standard_normal(xs) * 2).astype(dtype)
    y = (rng.standard_normal(ts) * 2).astype(dtype)
    kw = {}
    if param is not None:
        p = (rng.random(ps) + 0.2).astype(dtype)
        kw[param] = np.log(p).astype(dtype) if param == "log_var" else p
    got = crossent.gaussian_nll(x, y, reduction=reduction, return_grad=True, **kw)
    exp = ref.gaussian_nll(x, y, reduction=reduction, return_grad=True, **kw)
    # gradients summed over many elements: the scale of the terms, not of the sum
    n = int(np.prod(np.broadcast_shapes(xs, ts, ps)))
    gscale = [None] + [n * np.max(np.abs(e)) / max(np.size(e), 1) for e in exp[1:]]
    assert_all_close(got, exp, dtype, k=16, scales=gscale, what=f"{param} {shapes}")
    assert np.shape(got[1]) == np.shape(x)
    if param is not None:
        assert np.shape(got[2]) == np.shape(kw[param])
    assert_close(crossent.gaussian_nll(x, y, reduction=reduction, **kw), exp[0], dtype, k=16)


# ----------------------------------------------------------------- against torch (conformance)

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("eps", [1e-6, 0.25])
@pytest.mark.parametrize("var_shape", ["float", (4, 3, 5), (4, 3), (4, 3, 1), (4, 1, 5), (1, 3, 5)])
def test_gaussian_nll_loss_conforms_to_torch(dtype, reduction, full, eps, var_shape, rng):
    x = (rng.standard_normal((4, 3, 5)) * 2).astype(dtype)
    y = (rng.standard_normal((4, 3, 5)) * 2).astype(dtype)
    var = _var(var_shape, dtype, rng)
    loss, g_x, g_v = crossent.gaussian_nll_loss(x, y, var, full=full, eps=eps, reduction=reduction,
                                                return_grad=True)
    xt = t_(x, grad=True)
    vt = torch.tensor(var, dtype=xt.dtype, requires_grad=True) if var_shape == "float" else t_(var, grad=True)
    if var_shape == "float":
        # torch's float var carries no gradient: the same loss with a 0-d tensor var
        vb = vt * torch.ones_like(xt)
        e = F.gaussian_nll_loss(xt, t_(y), vb, full=full, eps=eps, reduction=reduction)
    else:
        e = F.gaussian_nll_loss(xt, t_(y), vt, full=full, eps=eps, reduction=reduction)
    e.sum().backward()
    tol = dict(rtol=5e-6, atol=5e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(loss, np.float64), e.detach().numpy().astype(np.float64), **tol)
    np.testing.assert_allclose(g_x.astype(np.float64), xt.grad.numpy(), **tol)
    gv_scale = dict(tol, atol=tol["atol"] * 1e4)  # grad_var ~ 1/var**2 near the clamp
    np.testing.assert_allclose(np.asarray(g_v, np.float64), vt.grad.numpy(), **gv_scale)
    assert np.asarray(g_v).dtype == dtype and np.shape(g_v) == np.shape(var)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_conforms_to_torch(dtype, reduction, rng):
    x = (rng.standard_normal((6, 7)) * 3).astype(dtype)
    y = (rng.standard_normal((6, 7)) * 3).astype(dtype)
    loss, grad = crossent.mse_loss(x, y, reduction=reduction, return_grad=True)
    xt = t_(x, grad=True)
    e = F.mse_loss(xt, t_(y), reduction=reduction)
    e.sum().backward()
    tol = dict(rtol=2e-6) if dtype == np.float32 else dict(rtol=1e-13)
    np.testing.assert_allclose(np.asarray(loss, np.float64), e.detach().numpy(), **tol)
    np.testing.assert_allclose(grad, xt.grad.numpy(), **tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_loss_conforms_to_torch(dtype, reduction, log_input, full, rng):
    x = rng.standard_normal((5, 6)).astype(dtype)
    if not log_input:
        x = np.exp(x).astype(dtype)
    counts = rng.poisson(2.0, size=x.shape).astype(dtype)
    counts.flat[:3] = [0.0, 1.0, 7.0]
    loss, grad = crossent.poisson_nll_loss(x, counts, log_input=log_input, full=full,
                                           reduction=reduction, return_grad=True)
    xt = t_(x, grad=True)
    e = F.poisson_nll_loss(xt, t_(counts), log_input=log_input, full=full, reduction=reduction)
    e.sum().backward()
    tol = dict(rtol=5e-6, atol=5e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(loss, np.float64), e.detach().numpy(), **tol)
    np.testing.assert_allclose(grad, xt.grad.numpy(), **tol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_conforms_to_torch_normal(reduction, rng):
    """The exact NLL is -Normal(mean, sd).log_prob(y), with autograd's gradients."""
    x = rng.standard_normal((4, 1)) * 2
    y = rng.standard_normal((4, 3)) * 2
    std = rng.random(3) + 0.3
    for name, param in (("var", std**2), ("std", std), ("log_var", np.log(std**2))):
        loss, g_x, g_p = crossent.gaussian_nll(x, y, reduction=reduction, return_grad=True, **{name: param})
        xt, pt = t_(x, grad=True), t_(param, grad=True)
        sd = {"var": torch.sqrt(pt), "std": pt, "log_var": torch.exp(0.5 * pt)}[name]
        elem = -torch.distributions.Normal(xt, sd).log_prob(t_(y))
        total = elem.mean() if reduction == "mean" else elem.sum()
        total.backward()
        e = elem.detach().numpy() if reduction == "none" else total.detach().numpy()
        np.testing.assert_allclose(loss, e, rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(g_x, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g_p, pt.grad.numpy(), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------ the identities

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("s", [0.3, 1.0, 2.5])
def test_identity_fixed_std_is_affine_in_mse(dtype, s, rng):
    """(a) gaussian_nll(m, y, std=s) == mse_loss(m, y) / (2 s**2) + log(2 pi s**2) / 2."""
    m = rng.standard_normal(1000).astype(dtype)
    y = rng.standard_normal(1000).astype(dtype)
    s_ = float(np.asarray(s, dtype))
    got = crossent.gaussian_nll(m, y, std=s_)
    expected = float(crossent.mse_loss(m, y)) / (2 * s_**2) + 0.5 * math.log(2 * math.pi * s_**2)
    assert got.dtype == dtype
    assert abs(float(got) - expected) <= 8 * ulps(dtype) * max(abs(expected), 1.0)
    # the variance form, too
    assert abs(float(crossent.gaussian_nll(m, y, var=np.asarray(s_**2, np.float64).astype(dtype)))
               - expected) <= 16 * ulps(dtype) * max(abs(expected), 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_identity_sum_is_n_times_mean(dtype, rng):
    """(b) the sum reduction is N times the mean, for every loss of the family."""
    x = rng.standard_normal((30, 17)).astype(dtype)
    y = rng.standard_normal((30, 17)).astype(dtype)
    v = (rng.random((30, 17)) + 0.1).astype(dtype)
    n = x.size
    calls = [
        lambda r: crossent.mse_loss(x, y, reduction=r),
        lambda r: crossent.poisson_nll_loss(x, np.abs(y), reduction=r),
        lambda r: crossent.gaussian_nll_loss(x, y, v, reduction=r),
        lambda r: crossent.gaussian_nll(x, y, var=v, reduction=r),
        lambda r: crossent.gaussian_nll(x, y, log_var=np.log(v), reduction=r),
        lambda r: crossent.gaussian_nll(x, y, std=v, reduction=r),
        lambda r: crossent.gaussian_nll(x, y, reduction=r),
    ]
    for call in calls:
        total, mean = float(call("sum")), float(call("mean"))
        assert abs(total - n * mean) <= 8 * ulps(dtype) * n * max(abs(mean), 1.0)
        # and the mean of the elementwise losses
        elem = call("none").astype(np.float64)
        assert abs(elem.mean() - mean) <= 8 * ulps(dtype) * max(np.abs(elem).mean(), 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_identity_profiled_is_half_log_2pi_mse_plus_half(dtype, rng):
    """(c) the profiled NLL = (log(2 pi mse) + 1) / 2."""
    x = rng.standard_normal((50, 3)).astype(dtype)
    y = (rng.standard_normal((50, 3)) * 4).astype(dtype)
    mse = float(crossent.mse_loss(x, y))
    expected = 0.5 * (math.log(2 * math.pi * mse) + 1.0)
    got = crossent.gaussian_nll(x, y)
    assert got.dtype == dtype
    assert abs(float(got) - expected) <= 4 * ulps(dtype) * max(abs(expected), 1.0)
    # and it is the minimum over fixed variances
    for v in (0.5 * mse, 0.9 * mse, 1.1 * mse, 2 * mse):
        assert float(crossent.gaussian_nll(x, y, var=np.asarray(v, dtype))) >= float(got) - 1e-6


@pytest.mark.parametrize("dtype", DTYPES)
def test_identity_var_and_log_var_agree(dtype, rng):
    """(d) var and log_var = log(var) give the same loss and consistent gradients."""
    x = (rng.standard_normal((40, 6)) * 2).astype(dtype)
    y = (rng.standard_normal((40, 6)) * 2).astype(dtype)
    log_var = (rng.standard_normal(6) * 3).astype(dtype)
    var = np.exp(log_var.astype(np.float64)).astype(dtype)
    lv = np.log(var.astype(np.float64)).astype(dtype)  # the log of the rounded var
    for reduction in REDUCTIONS:
        a = crossent.gaussian_nll(x, y, var=var, reduction=reduction, return_grad=True)
        b = crossent.gaussian_nll(x, y, log_var=lv, reduction=reduction, return_grad=True)
        tol = 64 * ulps(dtype)
        np.testing.assert_allclose(a[0], b[0], rtol=tol, atol=tol)
        np.testing.assert_allclose(a[1], b[1], rtol=tol, atol=tol)
        # d/dlog_var = var * d/dvar
        np.testing.assert_allclose(b[2], a[2] * var.astype(np.float64), rtol=tol * 4, atol=tol * 4)


# ----------------------------------------------------------------------- exact edge values

def test_zero_variance_limits_and_specials():
    x = np.array([0.0, 1.0, -2.0, np.nan, np.inf])
    y = np.zeros(5)
    for kw in ({"var": 0.0}, {"std": 0.0}, {"log_var": -np.inf}):
        got = crossent.gaussian_nll(x, y, reduction="none", return_grad=True, **kw)
        exp = ref.gaussian_nll(x, y, reduction="none", return_grad=True, **kw)
        for g, e in zip(got, exp):
            np.testing.assert_array_equal(g, e)
        np.testing.assert_array_equal(got[0], [-np.inf, np.inf, np.inf, np.nan, np.inf])
    # inf / NaN / infinite variances follow the reference
    xs = np.array([0.0, 1.0, np.inf, -np.inf, np.nan, 3.0, 1e-300])
    ps = np.array([np.inf, np.inf, 1.0, np.inf, 1.0, np.nan, 1e-300])
    for name, p in (("var", ps), ("std", ps), ("log_var", np.where(np.isinf(ps), ps, np.log(ps)))):
        got = crossent.gaussian_nll(xs, np.zeros(7), reduction="none", return_grad=True, **{name: p})
        exp = ref.gaussian_nll(xs, np.zeros(7), reduction="none", return_grad=True, **{name: p})
        for g, e in zip(got, exp):
            assert_close(g, e, np.float64, k=4, what=name)


def test_profiled_special_cases():
    assert crossent.gaussian_nll(np.ones(3), np.ones(3)) == -np.inf
    loss, g = crossent.gaussian_nll(np.ones(3), np.ones(3), return_grad=True)
    assert np.isnan(g).all()
    loss, g = crossent.gaussian_nll([0.0, np.inf, 1.0], [0.0, 0.0, 0.0], return_grad=True)
    assert loss == np.inf and np.isnan(g[1]) and g[0] == 0 and g[2] == 0
    assert np.isnan(crossent.gaussian_nll([0.0, np.nan], [0.0, 1.0]))
    # residuals whose squares overflow or underflow: sigma2 is still exact
    for scale in (1e300, 1e-300, 1e-320):
        x = np.array([1.0, -2.0, 3.0]) * scale
        for red in REDUCTIONS:
            got = crossent.gaussian_nll(x, np.zeros(3), reduction=red, return_grad=True)
            exp = ref.gaussian_nll(x, np.zeros(3), reduction=red, return_grad=True)
            assert_all_close(got, exp, np.float64, k=8, what=f"{scale} {red}")
    # an x - y that overflows although x and y are finite
    got = crossent.gaussian_nll([1.5e308, 0.0], [-1.5e308, 0.0], reduction="none", return_grad=True)
    exp = ref.gaussian_nll([1.5e308, 0.0], [-1.5e308, 0.0], reduction="none", return_grad=True)
    assert_all_close(got, exp, np.float64, k=8)


def test_no_spurious_overflow():
    # (x - y)**2 overflows, the loss does not
    exp = ref.gaussian_nll([1.5e200], [-1e200], var=[1e250], reduction="sum")
    assert_close(crossent.gaussian_nll([1.5e200], [-1e200], var=[1e250], reduction="sum"), exp, np.float64, 2)
    assert_close(crossent.gaussian_nll_loss([1.5e200], [-1e200], [1e250], full=True, reduction="sum"),
                 exp, np.float64, 2)
    # x - y itself overflows
    exp = ref.gaussian_nll([1.5e308], [-1.5e308], std=[1e300], reduction="sum")
    assert_close(crossent.gaussian_nll([1.5e308], [-1.5e308], std=[1e300], reduction="sum"), exp, np.float64, 2)
    for lv in (1500.0, -1500.0):
        r = 1e300 if lv > 0 else 1e-300
        exp = ref.gaussian_nll([r], [0.0], log_var=[lv], return_grad=True)
        assert_all_close(crossent.gaussian_nll([r], [0.0], log_var=[lv], return_grad=True), exp, np.float64, 4)
    # mse: a mean that is finite although the sum of squares overflows
    x = np.array([1.2e154, 1.2e154])
    assert crossent.mse_loss(x, np.zeros(2)) == pytest.approx(1.44e308, rel=1e-15)
    assert crossent.mse_loss([1e308], [-1e308]) == np.inf
    loss, grad = crossent.mse_loss([1e308, 0.0, 0.0, 0.0], [-1e308, 0.0, 0.0, 0.0], return_grad=True)
    assert loss == np.inf and grad[0] == pytest.approx(1e308, rel=1e-15)  # 2 r / N, r = 2e308
    # float32 inputs are computed in float64: no overflow of the float32 square
    x32 = np.array([2e19, 0.0], np.float32)
    assert crossent.mse_loss(x32, np.zeros(2, np.float32)) == np.float32(np.float64(x32[0]) ** 2 / 2)
    assert np.isinf(crossent.mse_loss(x32, np.zeros(2, np.float32), reduction="none")[0])
    assert np.isfinite(crossent.gaussian_nll_loss(x32, np.zeros(2, np.float32), np.float32(1e30), reduction="sum"))


def test_negative_var_in_gaussian_nll_loss_is_clamped_but_refused():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="var.*negative"):
        crossent.gaussian_nll_loss(x, x, -1.0)
    v = np.full((4, 3), 0.5)
    v[2, 1] = -1e-30
    with pytest.raises(ValueError, match="var.*negative"):
        crossent.gaussian_nll_loss(x, x, v)
    with pytest.raises(ValueError, match="var.*negative"):
        crossent.gaussian_nll_loss(np.zeros((0, 3)), np.zeros((0, 3)), -1.0)
    big = np.zeros(100_000)
    vb = np.ones(100_000)
    vb[77_777] = -2.0
    for nt in (1, 2):
        with pytest.raises(ValueError, match="var.*negative"):
            crossent.gaussian_nll_loss(big, big, vb, n_threads=nt)


# --------------------------------------------------------------------------- bad input

def test_errors_name_the_argument():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="at most one"):
        crossent.gaussian_nll(x, x, 1.0, std=1.0)
    with pytest.raises(ValueError, match="at most one.*log_var.*std"):
        crossent.gaussian_nll(x, x, log_var=0.0, std=1.0)
    with pytest.raises(ValueError, match="var"):
        crossent.gaussian_nll(x, x, -1.0)
    with pytest.raises(ValueError, match="std"):
        crossent.gaussian_nll(x, x, std=[1.0, -1.0, 2.0])
    with pytest.raises(ValueError, match="std"):
        crossent.gaussian_nll(np.zeros(200_000), 0.0, std=np.r_[np.ones(199_999), -1.0], n_threads=2)
    crossent.gaussian_nll(x, x, log_var=-5.0)  # a negative log_var is fine
    with pytest.raises(ValueError, match="broadcast"):
        crossent.gaussian_nll(x, np.zeros(5), 1.0)
    with pytest.raises(ValueError, match="log_var"):
        crossent.gaussian_nll(x, x, log_var=np.zeros(5))
    for bad in [(3,), (4, 2), (1, 1), (2, 4, 3), (3, 4)]:
        with pytest.raises(ValueError, match="var"):
            crossent.gaussian_nll_loss(x, x, np.ones(bad))
    for fn in (crossent.mse_loss, crossent.poisson_nll_loss):
        with pytest.raises(ValueError, match="target"):
            fn(x, np.zeros((4, 2)))
        with pytest.raises(ValueError, match="reduction"):
            fn(x, x, reduction="batchmean")
        with pytest.raises(TypeError, match="return_grad"):
            fn(x, x, return_grad=1)
        with pytest.raises(TypeError, match="n_threads"):
            fn(x, x, n_threads=1.5)
        with pytest.raises(ValueError, match="n_threads"):
            fn(x, x, n_threads=0)
        with pytest.raises(TypeError, match="input"):
            fn(x.astype(complex), x)
        with pytest.raises(TypeError, match="target"):
            fn(x, np.array([["a"] * 3] * 4))
    with pytest.raises(ValueError, match="target"):  # (4,) does not broadcast with (4, 3)
        crossent.gaussian_nll_loss(x, np.zeros(4), 1.0)
    with pytest.raises(TypeError, match="full"):
        crossent.gaussian_nll_loss(x, x, 1.0, full="yes")
    with pytest.raises(TypeError, match="eps"):
        crossent.gaussian_nll_loss(x, x, 1.0, eps="small")
    with pytest.raises(TypeError, match="log_input"):
        crossent.poisson_nll_loss(x, x, log_input=None)
    with pytest.raises(TypeError, match="var"):
        crossent.gaussian_nll_loss(x, x, np.ones((4, 3), complex))
    with pytest.raises(TypeError):  # keyword-only beyond input, target (and var)
        crossent.gaussian_nll(x, x, None, None)
    with pytest.raises(TypeError):
        crossent.mse_loss(x, x, "mean")


# --------------------------------------------------------------- determinism and layouts

def _all_calls(x, y, v, lv, s):
    return [
        lambda nt: crossent.mse_loss(x, y, return_grad=True, n_threads=nt),
        lambda nt: crossent.mse_loss(x, y, reduction="sum", return_grad=True, n_threads=nt),
        lambda nt: crossent.poisson_nll_loss(x, np.abs(y), full=True, return_grad=True, n_threads=nt),
        lambda nt: crossent.gaussian_nll_loss(x, y, v, return_grad=True, n_threads=nt),
        lambda nt: crossent.gaussian_nll_loss(x, y, v[:, :1], reduction="sum", return_grad=True, n_threads=nt),
        lambda nt: crossent.gaussian_nll_loss(x, y, v[:1], return_grad=True, n_threads=nt),
        lambda nt: crossent.gaussian_nll_loss(x, y, v[:, 0], reduction="none", return_grad=True, n_threads=nt),
        lambda nt: crossent.gaussian_nll_loss(x, y, 0.5, return_grad=True, n_threads=nt),
        lambda nt: crossent.gaussian_nll(x, y, log_var=lv, return_grad=True, n_threads=nt),
        lambda nt: crossent.gaussian_nll(x, y, std=s, reduction="sum", return_grad=True, n_threads=nt),
        lambda nt: crossent.gaussian_nll(x[:, :1], y, var=v[0], return_grad=True, n_threads=nt),
        lambda nt: crossent.gaussian_nll(x, y, return_grad=True, n_threads=nt),
        lambda nt: crossent.gaussian_nll(x, y, reduction="none", return_grad=True, n_threads=nt),
    ]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(700, 300), (3, 90_001), (150_000, 2)])
def test_bitwise_identical_for_every_n_threads(dtype, shape, rng):
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.standard_normal(shape).astype(dtype)
    v = (rng.random(shape) + 0.1).astype(dtype)
    lv = rng.standard_normal(shape[1]).astype(dtype)
    s = (rng.random((shape[0], 1)) + 0.5).astype(dtype)
    for call in _all_calls(x, y, v, lv, s):
        first = call(1)
        for nt in (2, 3, 7):
            assert same_bits(call(nt), first)


@pytest.mark.parametrize("dtype", DTYPES)
def test_layouts_read_only_and_inputs_unchanged(dtype, rng):
    x = rng.standard_normal((9, 70)).astype(dtype)
    y = rng.standard_normal((9, 70)).astype(dtype)
    v = (rng.random((9, 70)) + 0.1).astype(dtype)
    exp = [
        ref.mse_loss(x, y, return_grad=True),
        ref.gaussian_nll_loss(x, y, v, reduction="none", return_grad=True),
        ref.gaussian_nll(x, y, log_var=v, reduction="sum", return_grad=True),
        ref.gaussian_nll(x, y, return_grad=True, reduction="none"),
    ]
    for (nx, xv), (ny, yv), (nv, vv) in zip(layout_variants(x), layout_variants(y)[::-1],
                                            layout_variants(v)):
        got = [
            call_unchanged(crossent.mse_loss, xv, yv, return_grad=True),
            call_unchanged(crossent.gaussian_nll_loss, xv, yv, vv, reduction="none", return_grad=True),
            call_unchanged(crossent.gaussian_nll, xv, yv, log_var=vv, reduction="sum", return_grad=True),
            call_unchanged(crossent.gaussian_nll, xv, yv, return_grad=True, reduction="none"),
        ]
        for g, e in zip(got, exp):
            assert_all_close(g, e, dtype, k=8, what=f"{nx}/{ny}/{nv}")
    # torch tensors and lists are accepted; the results are NumPy
    out = crossent.gaussian_nll(torch.from_numpy(x), y.tolist(), std=1.0)
    assert isinstance(out, np.generic)


def test_views_and_non_float_inputs(rng):
    base = rng.standard_normal((40, 60))
    t = rng.standard_normal((40, 60))
    for view in (base[::-2, ::3], base.T, base[1:, 1:][::3]):
        tv = t[: view.shape[0], : view.shape[1]] if view.shape != base.T.shape else t.T
        got = crossent.gaussian_nll(view, tv, var=np.abs(tv) + 0.1, reduction="none", return_grad=True)
        exp = ref.gaussian_nll(view, tv, var=np.abs(tv) + 0.1, reduction="none", return_grad=True)
        assert_all_close(got, exp, np.float64, k=8)
    # integer input -> float64; float32 input with float64 target -> float32 (target rounded)
    assert crossent.mse_loss(np.array([1, 2]), np.array([0, 0])).dtype == np.float64
    loss, grad = crossent.mse_loss(np.float32([1, 2]), np.float64([0.5, 0.5]), return_grad=True)
    assert loss.dtype == np.float32 and grad.dtype == np.float32
    assert crossent.gaussian_nll(np.float32([1.0]), [0.0], var=np.float64(0.5)).dtype == np.float32
    # non-native byte order and float16 (computed as float32)
    xb = np.array([1.0, 2.0, 3.0], dtype=">f8")
    assert_close(crossent.mse_loss(xb, np.zeros(3)), ref.mse_loss(xb, np.zeros(3)), np.float64, 1)
    assert crossent.gaussian_nll_loss(np.float16([1.0]), np.float16([0.0]), 1.0).dtype == np.float32


def test_empty_inputs():
    e = np.zeros((0, 3))
    for red, expected in (("mean", np.nan), ("sum", 0.0)):
        for call in (lambda: crossent.mse_loss(e, e, reduction=red, return_grad=True),
                     lambda: crossent.gaussian_nll_loss(e, e, np.ones(0), reduction=red, return_grad=True),
                     lambda: crossent.gaussian_nll(e, e, std=np.ones(3), reduction=red, return_grad=True),
                     lambda: crossent.gaussian_nll(e, e, reduction=red, return_grad=True),
                     lambda: crossent.poisson_nll_loss(e, e, reduction=red, return_grad=True)):
            out = call()
            np.testing.assert_array_equal(out[0], expected)
            assert out[1].shape == (0, 3)
    loss, gx, gp = crossent.gaussian_nll(e, e, std=np.ones(3), reduction="none", return_grad=True)
    assert loss.shape == (0, 3) and gp.shape == (3,) and (gp == 0).all()


def test_scalar_inputs_give_scalars():
    loss, g = crossent.mse_loss(2.0, 0.5, reduction="none", return_grad=True)
    assert isinstance(loss, np.float64) and isinstance(g, np.float64) and g == 3.0
    loss, gx, gv = crossent.gaussian_nll_loss(1.0, 0.0, 2.0, return_grad=True)
    assert all(isinstance(v, np.float64) for v in (loss, gx, gv))
    assert_close(loss, ref.gaussian_nll_loss(1.0, 0.0, 2.0), np.float64, 1)


def test_gil_released_during_kernel():
    """Another Python thread makes progress while a long kernel call runs (a
    handshake: the helper thread counts while the main thread is inside crossent)."""
    import threading

    x = np.random.default_rng(0).standard_normal(4_000_000)
    counter = [0]
    inside = threading.Event()
    done = threading.Event()

    def spin():
        inside.wait()
        while not done.is_set():
            counter[0] += 1

    th = threading.Thread(target=spin)
    th.start()
    try:
        seen = 0
        for _ in range(20):
            inside.set()
            before = counter[0]
            crossent.gaussian_nll(x, 0.0, log_var=x, return_grad=True, n_threads=1)
            seen = max(seen, counter[0] - before)
            if seen > 1000:
                break
    finally:
        done.set()
        inside.set()
        th.join()
    assert seen > 1000


# ------------------------------------------------------------- hypothesis: adversarial values

from hypothesis import given, strategies as st  # noqa: E402
from _helpers import hyp_strategies  # noqa: E402

_st, _hnp, _elements, _arrays, _ = hyp_strategies()


def _terms(x, t, p, kind):
    """Magnitudes of the terms of each element, for the loss and the two gradients (the
    R of API.md: a gradient that cancels is measured against its terms)."""
    with np.errstate(all="ignore"):
        r = x.astype(np.float64) - t.astype(np.float64)
        pp = p.astype(np.float64)
        v = {"var": pp, "torch": pp, "std": pp * pp, "log_var": np.exp(pp)}[kind]
        hq = 0.5 * r * r / v
        c = 0.0 if kind == "torch" else HALF_LOG_2PI
        hl = np.abs(0.5 * pp) if kind == "log_var" else np.abs(0.5 * np.log(v))
        rl = np.maximum(np.maximum(c, hl), hq)
        rx = np.abs(r / v)
        rp = {"var": np.maximum(0.5 / v, hq / v), "torch": np.maximum(0.5 / v, hq / v),
              "std": np.maximum(1 / pp, 2 * hq / pp), "log_var": np.maximum(0.5, hq)}[kind]
    fin = lambda a: np.where(np.isfinite(a), a, 0.0)
    return fin(rl), fin(rx), fin(rp)


def _mask_reference_overflow(got, exp, *inputs):
    """Where the reference subtracts two overflowed terms (inf - inf = NaN) although no
    input is NaN, crossent gives the signed infinity (the limit): compare only the other
    elements (the mpmath tests check such values)."""
    with np.errstate(all="ignore"):
        finite_in = np.ones(np.shape(exp), bool)
        for a in inputs:
            finite_in &= ~np.isnan(np.broadcast_to(a, np.shape(exp)))
    bad = np.isnan(exp) & finite_in & np.isinf(got)
    return np.where(bad, 0.0, got).astype(np.asarray(got).dtype), np.where(bad, 0.0, exp)


@given(data=st.data(), dtype=st.sampled_from(DTYPES), kind=st.sampled_from(["var", "log_var", "std"]))
def test_hypothesis_gaussian_nll_matches_reference(data, dtype, kind):
    shape = data.draw(_hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=5))
    x = data.draw(_arrays(dtype, shape))
    t = data.draw(_arrays(dtype, shape))
    p = np.abs(data.draw(_arrays(dtype, shape))) if kind != "log_var" else data.draw(_arrays(dtype, shape))
    got = crossent.gaussian_nll(x, t, reduction="none", return_grad=True, **{kind: p})
    exp = ref.gaussian_nll(x, t, reduction="none", return_grad=True, **{kind: p})
    for g, e, R, what in zip(got, exp, _terms(x, t, p, kind), ("loss", "grad_input", "grad_param")):
        g, e = _mask_reference_overflow(g, e, x, t, p)
        if kind == "log_var":
            # the reference clips log_var to +-6000 in its exp split, so that an infinite
            # residual times exp(-log_var) is inf * 0 = NaN there; crossent gives the limit
            with np.errstate(all="ignore"):
                art = (np.isnan(e) & np.isinf(x.astype(np.float64) - t) & (np.abs(p) > 6000)
                       & np.isfinite(p) & ~np.isnan(np.asarray(g, np.float64)))
            g, e = np.where(art, 0, g).astype(g.dtype), np.where(art, 0, e)
        assert_close(g, e, dtype, k=4 if what == "loss" else 8, scale=R, what=what)


@given(data=st.data(), dtype=st.sampled_from(DTYPES), full=st.booleans())
def test_hypothesis_torch_losses_match_reference(data, dtype, full):
    shape = data.draw(_hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=5))
    x = data.draw(_arrays(dtype, shape))
    t = data.draw(_arrays(dtype, shape))
    v = np.abs(data.draw(_arrays(dtype, shape)))
    got = crossent.gaussian_nll_loss(x, t, v, full=full, reduction="none", return_grad=True)
    exp = ref.gaussian_nll_loss(x, t, v, full=full, reduction="none", return_grad=True)
    vc = np.maximum(v, np.asarray(1e-6, dtype))
    RL, RX, RP = _terms(x, t, vc, "torch")
    RL = np.maximum(RL, HALF_LOG_2PI if full else 0.0)
    for g, e, R, what in zip(got, exp, (RL, RX, RP), ("loss", "grad_input", "grad_var")):
        g, e = _mask_reference_overflow(g, e, x, t, v)
        assert_close(g, e, dtype, k=4 if what == "loss" else 8, scale=R, what=what)
    got = crossent.mse_loss(x, t, reduction="none", return_grad=True)
    exp = ref.mse_loss(x, t, reduction="none", return_grad=True)
    assert_all_close(got, exp, dtype, k=4, scales=[0, 0])
    c = np.abs(t)
    for log_input in (True, False):
        got = crossent.poisson_nll_loss(x, c, log_input=log_input, full=full, reduction="none", return_grad=True)
        exp = ref.poisson_nll_loss(x, c, log_input=log_input, full=full, reduction="none", return_grad=True)
        with np.errstate(all="ignore"):
            x64, c64 = x.astype(np.float64), c.astype(np.float64)
            eps = float(np.asarray(1e-8, dtype))
            terms = ([np.exp(x64), np.abs(c64 * x64)] if log_input
                     else [np.abs(x64), np.abs(c64 * np.log(x64 + eps)), np.abs(c64 / (x64 + eps))])
            if full:
                terms += [np.abs(c64 * np.log(c64)), c64, np.abs(0.5 * np.log(2 * np.pi * c64))]
            big = np.zeros(np.shape(x))
            for a in terms:
                big = np.maximum(big, np.where(np.isfinite(a), a, 0.0))
        for g, e in zip(got, exp):
            g, e = _mask_reference_overflow(g, e, x, c)
            assert_close(g, e, dtype, k=8, scale=big)


def test_overflowing_terms_give_the_limit():
    """Where two terms of a gradient or loss both overflow, the result is the signed
    infinity of the exact value (the reference's plain subtraction gives inf - inf = NaN)."""
    # d/dvar = 1/(2v) - r**2/(2v**2) at a subnormal var: both terms overflow, r**2 wins
    _, _, gv = crossent.gaussian_nll([0.0], [1.0], var=[2.2e-311], reduction="none", return_grad=True)
    assert gv[0] == -np.inf
    _, _, gv = crossent.gaussian_nll([0.0], [1e-320], var=[2.2e-311], reduction="none", return_grad=True)
    assert gv[0] == np.inf  # here 1/(2v) wins
    # exp(x) - t x with both terms overflowing
    assert crossent.poisson_nll_loss([8.98846567431158e307], [2.0], reduction="sum") == np.inf
    # an infinite residual under any finite log-variance
    assert crossent.gaussian_nll([0.0], [np.inf], log_var=[6746.0], reduction="sum") == np.inf
    for isa_result in (crossent.gaussian_nll([0.0], [np.inf], log_var=[-7000.0], reduction="sum"),):
        assert isa_result == np.inf


@pytest.mark.parametrize("dtype", DTYPES)
def test_loss_is_the_same_with_and_without_gradients(dtype, rng):
    """return_grad changes what else is computed, never the loss (bitwise)."""
    x = rng.standard_normal((300, 50)).astype(dtype)
    y = rng.standard_normal((300, 50)).astype(dtype)
    v = (rng.random((300, 50)) + 0.1).astype(dtype)
    v[5, 7] = 0.0  # a lane through the careful path
    calls = [
        lambda r, g: crossent.mse_loss(x, y, reduction=r, return_grad=g),
        lambda r, g: crossent.poisson_nll_loss(x, np.abs(y), full=True, reduction=r, return_grad=g),
        lambda r, g: crossent.gaussian_nll_loss(x, y, v, reduction=r, return_grad=g),
        lambda r, g: crossent.gaussian_nll_loss(x, y, v[:, :1], reduction=r, return_grad=g),
        lambda r, g: crossent.gaussian_nll(x, y, log_var=v[0], reduction=r, return_grad=g),
        lambda r, g: crossent.gaussian_nll(x, y, std=v + 0.5, reduction=r, return_grad=g),
        lambda r, g: crossent.gaussian_nll(x, y, reduction=r, return_grad=g),
    ]
    for call in calls:
        for r in REDUCTIONS:
            assert same_bits(call(r, True)[0], call(r, False))


@pytest.mark.parametrize("case", ["across", "long-rows", "short-rows"])
def test_summed_back_gradients_on_every_walk(case, rng):
    """The parameter's gradient summed back over broadcast dims on each walk of the
    engine: tiles of columns with several row groups (across), rows cut in groups
    (long rows), many short rows; against the reference."""
    shape, pshape = {"across": ((1100, 600), (600,)), "long-rows": ((3, 150_001), (3, 1)),
                     "short-rows": ((20_000, 7), (20_000, 1))}[case]
    x = rng.standard_normal(shape)
    y = rng.standard_normal(shape)
    lv = rng.standard_normal(pshape)
    got = crossent.gaussian_nll(x, y, log_var=lv, return_grad=True)
    exp = ref.gaussian_nll(x, y, log_var=lv, return_grad=True)
    n_sum = x.size // lv.size
    assert_close(got[0], exp[0], np.float64, k=8)
    assert_close(got[1], exp[1], np.float64, k=8)
    assert_close(got[2], exp[2], np.float64, k=4 * np.log2(n_sum) + 8,
                 scale=np.max(np.abs(exp[2])))
    v = np.exp(lv)
    got = crossent.gaussian_nll_loss(x, y, v if case != "across" else v[None, :], reduction="sum",
                                     return_grad=True)
    exp = ref.gaussian_nll_loss(x, y, v if case != "across" else v[None, :], reduction="sum",
                                return_grad=True)
    assert_all_close(got, exp, np.float64, k=4 * np.log2(x.size) + 8)


def test_public_names_and_stubs():
    import ast
    import os

    names = ["mse_loss", "gaussian_nll_loss", "poisson_nll_loss", "gaussian_nll"]
    for name in names:
        assert name in crossent.__all__ and callable(getattr(crossent, name))
        assert getattr(crossent, name).__doc__ and "Examples" in getattr(crossent, name).__doc__
    stub = os.path.join(os.path.dirname(crossent.__file__), "__init__.pyi")
    tree = ast.parse(open(stub).read())
    stubbed = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert set(names) <= stubbed
