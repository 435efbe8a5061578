"""Tests of the NumPy reference (``crossent.reference``) itself.

The reference is the oracle of every other test, so here it is checked against
independent implementations: SciPy (primitives), PyTorch CPU (losses, values and
autograd gradients) and mpmath (hard cases, at high precision).
"""

import math

import mpmath
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

from crossent import reference as ref  # noqa: E402

mpmath.mp.dps = 50

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["none", "mean", "sum"]


def tol(dtype, scale=1.0):
    """Tolerances against a peer that computes in ``dtype`` itself."""
    if np.dtype(dtype) == np.float32:
        return dict(rtol=3e-5 * scale, atol=3e-6 * scale)
    return dict(rtol=1e-12 * scale, atol=1e-13 * scale)


def rng(seed):
    return np.random.default_rng(seed)


def assert_close(actual, expected, dtype, scale=1.0, check_dtype=True):
    actual_arr = np.asarray(actual)
    if check_dtype:
        assert actual_arr.dtype == np.dtype(dtype), (actual_arr.dtype, dtype)
    np.testing.assert_allclose(actual_arr.astype(np.float64), np.asarray(expected, dtype=np.float64), equal_nan=True, **tol(dtype, scale))


def t_(a, grad=False):
    """NumPy array -> torch tensor (optionally requiring grad)."""
    t = torch.from_numpy(np.array(a, copy=True))
    if grad:
        t.requires_grad_(True)
    return t


def torch_value_and_grad(fn, x, *args, reduction="mean", **kwargs):
    """Run a torch loss, return (loss, d loss.sum() / d x) as NumPy arrays."""
    xt = t_(x, grad=True)
    loss = fn(xt, *args, reduction=reduction, **kwargs)
    loss.sum().backward()
    return loss.detach().numpy(), xt.grad.numpy()


# ------------------------------------------------------------------------------------------
# primitives against SciPy
# ------------------------------------------------------------------------------------------

AXES_3D = [None, 0, 1, -1, (0, 2), (2, 0, 1), ()]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", AXES_3D)
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_matches_scipy(dtype, axis, keepdims):
    x = (rng(1).standard_normal((3, 4, 5)) * 10).astype(dtype)
    got = ref.logsumexp(x, axis=axis, keepdims=keepdims)
    exp = sp.logsumexp(x.astype(np.float64), axis=axis, keepdims=keepdims)
    assert np.shape(got) == np.shape(exp)
    assert_close(got, exp, dtype, scale=0.5)
    if axis is None and not keepdims:
        assert isinstance(got, np.generic) and got.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [None, 1, -1, (0, 1)])
def test_logsumexp_weights_sign_broadcast(dtype, axis):
    r = rng(2)
    a = r.standard_normal((4, 6)).astype(dtype)
    b = r.standard_normal((6,))  # broadcasts against a, has negative entries
    b[1] = 0.0
    a[:, 1] = np.inf  # ignored where b == 0
    a[2, 3] = np.nan
    b2 = np.where(np.arange(6) == 3, 0.0, b)  # zero weight on the NaN column too
    got, sgn = ref.logsumexp(a, axis=axis, b=b2, return_sign=True)
    exp, esgn = sp.logsumexp(a.astype(np.float64), axis=axis, b=b2, return_sign=True)
    assert_close(got, exp, np.result_type(dtype, np.float64), scale=10)
    np.testing.assert_array_equal(sgn, esgn)
    # without return_sign: NaN where the sum is negative, as SciPy
    got = ref.logsumexp(a, axis=axis, b=b2)
    exp = sp.logsumexp(a.astype(np.float64), axis=axis, b=b2)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(exp))


@pytest.mark.parametrize(
    "a, b",
    [
        ([0.0, -40.0], None),
        ([-np.inf, -np.inf], None),
        ([np.inf, 1.0], None),
        ([np.inf, -np.inf], None),
        ([np.nan, 1.0], None),
        ([1.0, np.nan], [1.0, 0.0]),
        ([1.0, np.inf], [1.0, 0.0]),
        ([1.0, 2.0], [1.0, -1.0]),
        ([1.0, 1.0], [1.0, -1.0]),
        ([1e308, 1e308], None),
        ([-1e308, 1e308], [2.0, 3.0]),
        ([0.0, 0.0, 0.0], [0.5, 0.25, 0.25]),
        ([np.inf, np.inf], [1.0, 2.0]),
        ([np.inf, np.inf], [1.0, -1.0]),
        ([5.0], [-2.0]),
    ],
)
def test_logsumexp_edge_cases_match_scipy(a, b):
    got, sgn = ref.logsumexp(a, b=b, return_sign=True)
    with np.errstate(all="ignore"):
        exp, esgn = sp.logsumexp(a, b=b, return_sign=True)
    np.testing.assert_allclose(got, exp, rtol=1e-15, atol=0, equal_nan=True)
    np.testing.assert_array_equal(sgn, esgn)


def test_logsumexp_zero_dim_and_empty():
    assert ref.logsumexp(3.0) == 3.0
    assert np.shape(ref.logsumexp(3.0, keepdims=True)) == np.shape(sp.logsumexp(3.0, keepdims=True))
    out = ref.logsumexp(np.zeros((2, 0)), axis=1)
    np.testing.assert_array_equal(out, sp.logsumexp(np.zeros((2, 0)), axis=1))
    # deliberate: the sign of an empty sum is 0 (SciPy says -1)
    _, sgn = ref.logsumexp(np.zeros((2, 0)), axis=1, return_sign=True)
    np.testing.assert_array_equal(sgn, [0.0, 0.0])


def test_logsumexp_cancelled_maximum_is_exact():
    # The maximal terms cancel exactly; SciPy's naive fallback overflows to NaN.
    a = [1e308, 1e308, 3.0]
    b = [1.0, -1.0, 2.0]
    out, sgn = ref.logsumexp(a, b=b, return_sign=True)
    assert sgn == 1.0 and out == pytest.approx(3.0 + math.log(2.0), rel=1e-15)
    out, sgn = ref.logsumexp([1e308, 1e308], b=[1.0, -1.0], return_sign=True)
    assert out == -np.inf and sgn == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", AXES_3D)
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family_matches_scipy(dtype, axis, name):
    x = (rng(3).standard_normal((3, 4, 5)) * 5).astype(dtype)
    got = getattr(ref, name)(x, axis=axis)
    exp = getattr(sp, name)(x.astype(np.float64), axis=axis)
    assert got.shape == x.shape
    assert_close(got, exp, dtype, scale=2)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize(
    "row",
    [
        [0.0, -40.0],
        [1.0, np.nan, 2.0],
        [-np.inf, -np.inf],
        [np.inf, 1.0],
        [np.inf, np.inf, 1.0],
        [-np.inf, 0.0, 3.0],
        [1e308, -1e308, 1e308],
        [7.0],
    ],
)
def test_softmax_family_edge_rows_match_scipy(name, row):
    got = getattr(ref, name)(np.array(row))
    with np.errstate(all="ignore"):
        exp = getattr(sp, name)(np.array(row))
    # SciPy's log_softmax loses the relative accuracy of the dominant entry: compare
    # within an ulp of the row's largest magnitude (the accuracy bound's R)
    finite = np.abs(np.array(row)[np.isfinite(row)])
    big = finite.max() if finite.size else 0.0
    np.testing.assert_allclose(got, exp, rtol=1e-15, atol=2.3e-16 * big, equal_nan=True)


def test_softmax_family_default_axis_is_whole_array():
    x = rng(4).standard_normal((3, 4))
    assert ref.softmax(x).sum() == pytest.approx(1.0, rel=1e-14)
    np.testing.assert_allclose(ref.log_softmax(x), sp.log_softmax(x), rtol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_expit_matches_scipy(dtype):
    x = np.concatenate([rng(5).standard_normal(50) * 30, [0.0, -800.0, 800.0, 40.0, -40.0, np.inf, -np.inf, np.nan]]).astype(dtype)
    got = ref.log_expit(x)
    exp = sp.log_expit(x.astype(np.float64))
    assert_close(got, exp, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_norm_logpdf_matches_scipy(dtype):
    r = rng(6)
    x = (r.standard_normal((4, 5)) * 3).astype(dtype)
    loc = r.standard_normal((5,)).astype(dtype)
    scale = (r.random((4, 1)) * 2 + 0.1).astype(dtype)
    got = ref.norm_logpdf(x, loc, scale)
    exp = st.norm.logpdf(x.astype(np.float64), loc.astype(np.float64), scale.astype(np.float64))
    assert_close(got, exp, dtype)
    # scale <= 0 -> NaN, as SciPy
    np.testing.assert_array_equal(np.isnan(ref.norm_logpdf([1.0, 1.0, 1.0], 0.0, [0.0, -1.0, 1.0])), [True, True, False])
    # Python-float defaults do not promote float32
    assert ref.norm_logpdf(np.float32([1.0])).dtype == np.float32


def test_primitive_dtype_rules():
    assert ref.logsumexp(np.float16([1, 2])).dtype == np.float32
    assert ref.softmax(np.array([1, 2, 3])).dtype == np.float64
    assert ref.log_softmax(np.array([True, False])).dtype == np.float64
    assert ref.log_expit(np.float32(1.0)).dtype == np.float32
    assert ref.logsumexp(np.float32([1, 2]), b=np.float64([1, 1])).dtype == np.float64
    assert ref.norm_logpdf(np.float32(1.0), np.float64(0.0)).dtype == np.float64
    for fn in (ref.logsumexp, ref.softmax, ref.log_softmax, ref.log_expit, ref.norm_logpdf):
        with pytest.raises(TypeError):
            fn(np.array([1 + 1j, 2]))
    with pytest.raises(TypeError):
        ref.softmax([1.0, 2.0], axis=1.0)
    with pytest.raises(TypeError):
        ref.logsumexp([1.0, 2.0], axis=[0])


# ------------------------------------------------------------------------------------------
# cross_entropy and nll_loss against torch
# ------------------------------------------------------------------------------------------

CE_SHAPES = [(5, 4), (3, 4, 2), (4,)]


def _class_problem(shape, dtype, ignore_index, seed):
    r = rng(seed)
    x = (r.standard_normal(shape) * 3).astype(dtype)
    cax = 1 if len(shape) > 1 else 0
    n_classes = shape[cax]
    tshape = shape[:cax] + shape[cax + 1 :]
    labels = r.integers(0, n_classes, size=tshape)
    if labels.ndim:
        labels.flat[0] = ignore_index  # at least one ignored row (or an in-range ignore_index)
    probs = r.random(shape)
    probs = probs / probs.sum(axis=cax, keepdims=True)
    weight = r.random(n_classes) + 0.5
    return x, labels, probs.astype(dtype), weight.astype(dtype), n_classes


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind", ["index", "prob"])
def test_cross_entropy_matches_torch(dtype, shape, use_weight, ignore_index, label_smoothing, reduction, kind):
    x, labels, probs, weight, _ = _class_problem(shape, dtype, ignore_index, seed=7)
    target = labels if kind == "index" else probs
    w = weight if use_weight else None
    if kind == "prob" and ignore_index != -100:
        # torch refuses ignore_index with probability targets; so does the reference
        with pytest.raises(RuntimeError, match="ignore_index"):
            F.cross_entropy(t_(x), t_(target), ignore_index=ignore_index)
        with pytest.raises(ValueError, match="ignore_index"):
            ref.cross_entropy(x, target, ignore_index=ignore_index)
        return
    loss, grad = ref.cross_entropy(
        x, target, w, ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing, return_grad=True
    )
    e_loss, e_grad = torch_value_and_grad(
        F.cross_entropy,
        x,
        t_(target),
        weight=None if w is None else t_(w),
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )
    assert_close(loss, e_loss, dtype)
    assert_close(grad, e_grad, dtype)
    assert grad.shape == x.shape
    if reduction != "none":
        assert isinstance(loss, np.generic)
    # the loss alone is the same number
    assert_close(
        ref.cross_entropy(x, target, w, ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing),
        loss,
        dtype,
        scale=0.01,
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("use_weight", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(dtype, shape, use_weight, ignore_index, reduction):
    x, labels, _, weight, _ = _class_problem(shape, dtype, ignore_index, seed=8)
    cax = 1 if len(shape) > 1 else 0
    logp = sp.log_softmax(x.astype(np.float64), axis=cax).astype(dtype)
    w = weight if use_weight else None
    loss, grad = ref.nll_loss(logp, labels, w, ignore_index=ignore_index, reduction=reduction, return_grad=True)
    e_loss, e_grad = torch_value_and_grad(
        F.nll_loss, logp, t_(labels), weight=None if w is None else t_(w), ignore_index=ignore_index, reduction=reduction
    )
    assert_close(loss, e_loss, dtype)
    assert_close(grad, e_grad, dtype)


@pytest.mark.parametrize("kind", ["index", "prob"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_axis_names_class_axis(kind, reduction):
    x, labels, probs, weight, _ = _class_problem((3, 4, 2), np.float64, -100, seed=9)
    target = labels if kind == "index" else probs
    moved_t = target if kind == "index" else np.moveaxis(target, 1, -1)
    base, gbase = ref.cross_entropy(x, target, weight, reduction=reduction, label_smoothing=0.1, return_grad=True)
    got, g = ref.cross_entropy(np.moveaxis(x, 1, -1), moved_t, weight, reduction=reduction, label_smoothing=0.1, axis=-1, return_grad=True)
    np.testing.assert_allclose(got, base, rtol=1e-14)
    np.testing.assert_allclose(np.moveaxis(g, -1, 1), gbase, rtol=1e-14, atol=1e-16)
    nb = ref.nll_loss(x, labels, weight, reduction=reduction)
    ng = ref.nll_loss(np.moveaxis(x, 1, 0), labels, weight, reduction=reduction, axis=0)
    np.testing.assert_allclose(ng, nb, rtol=1e-14)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_all_ignored_is_nan_with_zero_grad(label_smoothing):
    x = rng(10).standard_normal((4, 3))
    labels = np.full(4, -100)
    loss, grad = ref.cross_entropy(x, labels, label_smoothing=label_smoothing, return_grad=True)
    e_loss, e_grad = torch_value_and_grad(F.cross_entropy, x, t_(labels), label_smoothing=label_smoothing)
    assert np.isnan(loss) and np.isnan(e_loss)
    np.testing.assert_array_equal(grad, np.zeros_like(x))
    np.testing.assert_array_equal(e_grad, grad)
    loss, grad = ref.nll_loss(x, labels, return_grad=True)
    assert np.isnan(loss)
    np.testing.assert_array_equal(grad, np.zeros_like(x))
    assert ref.cross_entropy(x, labels, reduction="sum") == 0.0


def test_cross_entropy_zero_weight_sum_follows_torch():
    x = rng(11).standard_normal((4, 3))
    labels = np.zeros(4, dtype=np.int64)
    weight = np.array([0.0, 1.0, 1.0])
    for fn in (F.cross_entropy, F.nll_loss):
        name = fn.__name__
        loss, grad = getattr(ref, name)(x, labels, weight, return_grad=True)
        e_loss, e_grad = torch_value_and_grad(fn, x, t_(labels), weight=t_(weight))
        assert np.isnan(loss) and np.isnan(e_loss)
        np.testing.assert_array_equal(np.isnan(grad), np.isnan(e_grad))


def test_cross_entropy_non_finite_rows():
    x = np.array([[-np.inf, -np.inf, -np.inf], [0.0, -np.inf, 1.0], [np.inf, 0.0, 1.0]])
    labels = np.array([0, 0, 1])
    loss = ref.cross_entropy(x, labels, reduction="none")
    e_loss = F.cross_entropy(t_(x), t_(labels), reduction="none").numpy()
    np.testing.assert_allclose(loss, e_loss, rtol=1e-15, equal_nan=True)
    assert np.isnan(loss[0]) and np.isnan(loss[2]) and np.isfinite(loss[1])
    # deliberate deviation: a zero probability on a -inf logit contributes 0 (torch: NaN)
    probs = np.array([[0.5, 0.0, 0.5]])
    got = ref.cross_entropy(x[1:2], probs)
    exact = -0.5 * (0.0 - math.log(1 + math.e)) - 0.5 * (1.0 - math.log(1 + math.e))
    assert got == pytest.approx(exact, rel=1e-15)


def test_cross_entropy_dominant_class_relative_accuracy():
    x = np.array([[0.0, -40.0, -45.0]])
    exact = float(mpmath.log(1 + mpmath.exp(-40) + mpmath.exp(-45)))
    got = ref.cross_entropy(x, np.array([0]))
    assert got == pytest.approx(exact, rel=1e-15)
    assert got > 0
    got32 = ref.cross_entropy(x.astype(np.float32), np.array([0]))
    assert got32.dtype == np.float32 and got32 == pytest.approx(exact, rel=1e-7)


def test_cross_entropy_label_and_argument_validation():
    x = rng(12).standard_normal((3, 4))
    for bad in ([0, 4, 1], [0, -1, 1]):
        with pytest.raises(ref.LabelError) as info:
            ref.cross_entropy(x, np.array(bad))
        assert isinstance(info.value, ValueError) and isinstance(info.value, IndexError)
        with pytest.raises(ref.LabelError):
            ref.nll_loss(x, np.array(bad))
    ref.cross_entropy(x, np.array([0, 2, 7], dtype=np.uint8), ignore_index=7)  # any integer dtype
    with pytest.raises(TypeError):
        ref.cross_entropy(x, np.array([True, False, True]))
    with pytest.raises(TypeError):
        ref.nll_loss(x, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="reduction"):
        ref.cross_entropy(x, np.array([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        ref.cross_entropy(x, np.array([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="weight"):
        ref.cross_entropy(x, np.array([0, 1, 2]), np.ones(3))
    with pytest.raises(ValueError, match="target"):
        ref.cross_entropy(x, np.array([0, 1]))
    with pytest.raises(ValueError, match="target"):
        ref.cross_entropy(x, np.zeros((3, 5)))
    with pytest.raises(TypeError):
        ref.cross_entropy(x.astype(np.complex128), np.array([0, 1, 2]))
    with pytest.raises(TypeError):
        ref.cross_entropy(x, np.array([0, 1, 2]), axis=1.0)
    with pytest.raises(TypeError):
        ref.cross_entropy(x, np.array([0, 1, 2]), None, -100)  # keyword-only


def test_loss_dtype_rules():
    x16 = np.float16([[1, 2], [3, 4]])
    loss = ref.cross_entropy(x16, np.array([0, 1]))
    assert isinstance(loss, np.float32)
    assert ref.mse_loss(np.array([1, 2]), np.array([0, 0])).dtype == np.float64
    loss, grad = ref.mse_loss(np.float32([1, 2]), np.float64([0.5, 0.5]), return_grad=True)
    assert isinstance(loss, np.float32) and grad.dtype == np.float32


# ------------------------------------------------------------------------------------------
# elementwise losses against torch
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight_shape", [None, (4,), (3, 1), (3, 4)])
@pytest.mark.parametrize("pos_weight_shape", [None, (4,), (3, 4)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_torch(dtype, weight_shape, pos_weight_shape, reduction):
    r = rng(13)
    x = (r.standard_normal((3, 4)) * 6).astype(dtype)
    x[0, :] = [40.0, -40.0, 1e4, -1e4]
    target = r.random((3, 4)).astype(dtype)
    target[0, :] = [0.0, 0.0, 1.0, 0.0]
    weight = None if weight_shape is None else (r.random(weight_shape) + 0.5).astype(dtype)
    pos_weight = None if pos_weight_shape is None else (r.random(pos_weight_shape) * 3).astype(dtype)
    loss, grad = ref.binary_cross_entropy_with_logits(
        x, target, weight=weight, pos_weight=pos_weight, reduction=reduction, return_grad=True
    )
    e_loss, e_grad = torch_value_and_grad(
        F.binary_cross_entropy_with_logits,
        x,
        t_(target),
        weight=None if weight is None else t_(weight),
        pos_weight=None if pos_weight is None else t_(pos_weight),
        reduction=reduction,
    )
    assert_close(loss, e_loss, dtype)
    assert_close(grad, e_grad, dtype)


def test_bce_with_logits_stable_extremes():
    x = np.array([40.0, -40.0, 1e4, -1e4, 0.0])
    t = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    loss = ref.binary_cross_entropy_with_logits(x, t, reduction="none")
    exact = [float(mpmath.log1p(mpmath.exp(v)) if tt == 0 else mpmath.log1p(mpmath.exp(-v))) for v, tt in zip(x, t)]
    np.testing.assert_allclose(loss, exact, rtol=1e-15, atol=0)
    assert loss[0] == 40.0 and loss[1] > 0
    with pytest.raises(ValueError, match="target"):
        ref.binary_cross_entropy_with_logits(x, t[:4])
    with pytest.raises(ValueError, match="weight"):
        ref.binary_cross_entropy_with_logits(x, t, weight=np.ones(3))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
def test_kl_div_matches_torch(dtype, log_target, reduction):
    r = rng(14)
    x = sp.log_softmax(r.standard_normal((4, 5)), axis=1).astype(dtype)
    p = r.random((4, 5))
    if not log_target:
        p[0, 0] = 0.0  # xlogy(0, 0) = 0 in torch too
    p = p / p.sum(axis=1, keepdims=True)
    target = (np.log(p) if log_target else p).astype(dtype)
    loss, grad = ref.kl_div(x, target, reduction=reduction, log_target=log_target, return_grad=True)
    e_loss, e_grad = torch_value_and_grad(F.kl_div, x, t_(target), reduction=reduction, log_target=log_target)
    assert_close(loss, e_loss, dtype)
    assert_close(grad, e_grad, dtype)


def test_kl_div_zero_target_convention():
    x = np.array([-np.inf, -1.0, np.nan])
    loss, grad = ref.kl_div(x, np.array([0.0, 0.0, 0.0]), reduction="none", return_grad=True)
    np.testing.assert_array_equal(loss, [0.0, 0.0, np.nan])
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.0])
    loss = ref.kl_div(x, np.array([-np.inf, -np.inf, -np.inf]), reduction="none", log_target=True)
    np.testing.assert_array_equal(loss, [0.0, 0.0, np.nan])
    assert ref.kl_div(np.zeros((2, 3)), np.full((2, 3), 0.5), reduction="batchmean") == pytest.approx(3 * 0.5 * math.log(0.5))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_matches_torch(dtype, reduction):
    r = rng(15)
    x = (r.standard_normal((3, 5)) * 4).astype(dtype)
    y = (r.standard_normal((3, 5)) * 4).astype(dtype)
    loss, grad = ref.mse_loss(x, y, reduction=reduction, return_grad=True)
    e_loss, e_grad = torch_value_and_grad(F.mse_loss, x, t_(y), reduction=reduction)
    assert_close(loss, e_loss, dtype)
    assert_close(grad, e_grad, dtype)


def test_mse_loss_no_spurious_overflow():
    # (1e308 - (-1e308)) overflows, the mean of the squares over 2 elements does too: inf
    assert ref.mse_loss([1e308], [-1e308]) == np.inf
    # a mean that is finite although the plain sum of squares overflows
    x = np.array([1.2e154, 1.2e154])
    assert ref.mse_loss(x, np.zeros(2)) == pytest.approx(1.44e308, rel=1e-15)
    loss, grad = ref.mse_loss([1e308, 0.0], [-1e308, 0.0], return_grad=True)
    assert grad[0] == pytest.approx(2e308 * 2 / 2 / 2, rel=1e-15)  # 2 r / N with r = 2e308


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_nll_loss_matches_torch(dtype, log_input, full, reduction):
    r = rng(16)
    x = r.standard_normal((3, 5)).astype(dtype)
    if not log_input:
        x = np.exp(x).astype(dtype)
    target = r.poisson(2.0, size=(3, 5)).astype(dtype)
    target[0, :3] = [0.0, 1.0, 7.0]
    loss, grad = ref.poisson_nll_loss(x, target, log_input=log_input, full=full, reduction=reduction, return_grad=True)
    e_loss, e_grad = torch_value_and_grad(F.poisson_nll_loss, x, t_(target), log_input=log_input, full=full, reduction=reduction)
    assert_close(loss, e_loss, dtype)
    assert_close(grad, e_grad, dtype)


# ------------------------------------------------------------------------------------------
# gaussian_nll_loss (torch 2.13) and gaussian_nll (beyond the peers)
# ------------------------------------------------------------------------------------------

INPUT_SHAPE = (4, 3)
VAR_SHAPES = ["float", (4, 3), (4,), (4, 1), (1, 3)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", VAR_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss_matches_torch(dtype, full, var_shape, reduction):
    r = rng(17)
    x = (r.standard_normal(INPUT_SHAPE) * 2).astype(dtype)
    y = (r.standard_normal(INPUT_SHAPE) * 2).astype(dtype)
    if var_shape == "float":
        var = 0.7
        var_t = var
    else:
        var = (r.random(var_shape) + 0.1).astype(dtype)
        var.flat[0] = 1e-9  # below eps: clamped, with the straight-through gradient
        var_t = t_(var, grad=True)
    loss, g_x, g_v = ref.gaussian_nll_loss(x, y, var, full=full, reduction=reduction, return_grad=True)
    xt = t_(x, grad=True)
    e_loss = F.gaussian_nll_loss(xt, t_(y), var_t, full=full, reduction=reduction)
    e_loss.sum().backward()
    assert_close(loss, e_loss.detach().numpy(), dtype)
    assert_close(g_x, xt.grad.numpy(), dtype, scale=10)
    if var_shape == "float":
        assert isinstance(g_v, np.generic) and g_v.dtype == dtype
        # the gradient with respect to a scalar var: torch with a broadcast 0-d tensor
        vt = torch.tensor(var, dtype=xt.dtype, requires_grad=True)
        ref_loss = 0.5 * (torch.log(vt) + (t_(x) - t_(y)) ** 2 / vt) + (0.5 * math.log(2 * math.pi) if full else 0.0)
        {"none": ref_loss.sum(), "sum": ref_loss.sum(), "mean": ref_loss.mean()}[reduction].backward()
        assert_close(g_v, vt.grad.numpy(), dtype)
    else:
        assert g_v.shape == var.shape
        assert_close(g_v, var_t.grad.numpy(), dtype, scale=1e3 if dtype == np.float32 else 1e4)


def test_gaussian_nll_loss_validation():
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="negative"):
        ref.gaussian_nll_loss(x, x, -1.0)
    with pytest.raises(ValueError, match="negative"):
        ref.gaussian_nll_loss(x, x, np.full((4, 3), -0.5))
    for bad in [(3,), (4, 2), (1, 1), (2, 4, 3)]:
        with pytest.raises(ValueError, match="var"):
            ref.gaussian_nll_loss(x, x, np.ones(bad))
        with pytest.raises((ValueError, RuntimeError)):
            F.gaussian_nll_loss(t_(x), t_(x), t_(np.ones(bad)))
    with pytest.raises(ValueError, match="reduction"):
        ref.gaussian_nll_loss(x, x, 1.0, reduction="batchmean")


def _mp_gauss(r, var):
    r, var = mpmath.mpf(r), mpmath.mpf(var)
    return 0.5 * (mpmath.log(2 * mpmath.pi) + mpmath.log(var) + r * r / var)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_parametrisations_agree_with_torch(dtype, reduction):
    r = rng(18)
    x = (r.standard_normal((4, 1)) * 2).astype(dtype)  # broadcasts against target
    y = (r.standard_normal((4, 3)) * 2).astype(dtype)
    std = (r.random((3,)) + 0.3).astype(dtype)
    var = (std.astype(np.float64) ** 2).astype(dtype)
    log_var = np.log(var.astype(np.float64)).astype(dtype)
    results = {
        "var": ref.gaussian_nll(x, y, var, reduction=reduction, return_grad=True),
        "std": ref.gaussian_nll(x, y, std=std, reduction=reduction, return_grad=True),
        "log_var": ref.gaussian_nll(x, y, log_var=log_var, reduction=reduction, return_grad=True),
    }
    for name, param in (("var", var), ("std", std), ("log_var", log_var)):
        xt, pt = t_(x, grad=True), t_(param, grad=True)
        v = {"var": pt, "std": pt**2, "log_var": torch.exp(pt)}[name]
        elem = -torch.distributions.Normal(xt, torch.sqrt(v)).log_prob(t_(y))
        total = elem.mean() if reduction == "mean" else elem.sum()
        total.backward()
        loss, g_x, g_p = results[name]
        e_loss = elem.detach().numpy() if reduction == "none" else total.detach().numpy()
        scale = 10 if name == "log_var" or dtype == np.float32 else 2
        assert_close(loss, e_loss, dtype, scale=scale)
        assert g_x.shape == x.shape and g_p.shape == param.shape
        assert_close(g_x, xt.grad.numpy(), dtype, scale=scale)
        assert_close(g_p, pt.grad.numpy(), dtype, scale=scale)


def test_gaussian_nll_scalar_std_is_affine_in_mse():
    r = rng(19)
    x, y = r.standard_normal(20), r.standard_normal(20)
    std = 1.7
    expected = 0.5 * math.log(2 * math.pi) + math.log(std) + ref.mse_loss(x, y) / (2 * std**2)
    assert ref.gaussian_nll(x, y, std=std) == pytest.approx(expected, rel=1e-14)
    assert ref.gaussian_nll(x, y, var=std**2) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_profiled_matches_torch(reduction):
    r = rng(20)
    x = r.standard_normal((5, 1))
    y = r.standard_normal((5, 4))
    loss, g_x = ref.gaussian_nll(x, y, reduction=reduction, return_grad=True)
    xt = t_(x, grad=True)
    res = xt - t_(y)
    sigma2 = (res**2).mean()  # a function of the input: the profiled loss's true derivative
    elem = 0.5 * (math.log(2 * math.pi) + torch.log(sigma2) + res**2 / sigma2)
    total = elem.mean() if reduction == "mean" else elem.sum()
    total.backward()
    e_loss = elem.detach().numpy() if reduction == "none" else total.detach().numpy()
    np.testing.assert_allclose(loss, e_loss, rtol=1e-13)
    np.testing.assert_allclose(g_x, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
    if reduction == "mean":
        s2 = np.mean((x - y) ** 2)
        assert loss == pytest.approx(0.5 * (math.log(2 * math.pi * s2) + 1), rel=1e-15)
    # sigma2 == 0 gives -inf
    assert ref.gaussian_nll(np.ones(3), np.ones(3)) == -np.inf


def test_gaussian_nll_validation_and_zero_variance():
    x = np.array([0.0, 1.0])
    y = np.array([0.0, 0.0])
    with pytest.raises(ValueError, match="at most one"):
        ref.gaussian_nll(x, y, 1.0, std=1.0)
    with pytest.raises(ValueError, match="var"):
        ref.gaussian_nll(x, y, -1.0)
    with pytest.raises(ValueError, match="std"):
        ref.gaussian_nll(x, y, std=[1.0, -1.0])
    with pytest.raises(ValueError):
        ref.gaussian_nll(x, np.zeros(3), 1.0)
    for kwargs in ({"var": 0.0}, {"std": 0.0}, {"log_var": -np.inf}):
        loss = ref.gaussian_nll(x, y, reduction="none", **kwargs)
        np.testing.assert_array_equal(loss, [-np.inf, np.inf])


@pytest.mark.parametrize(
    "r, log_var",
    [
        (1e-300, -1500.0),  # exp(-log_var) overflows, r**2 underflows, the product is ~1e51
        (1e300, 1500.0),  # r**2 overflows, exp(-log_var) underflows
        (3.0, 1e-20),
        (1e-200, -900.0),
        (2.5, 40.0),
    ],
)
def test_gaussian_nll_log_var_hard_cases_against_mpmath(r, log_var):
    exact = 0.5 * (mpmath.log(2 * mpmath.pi) + log_var + mpmath.mpf(r) ** 2 * mpmath.exp(-mpmath.mpf(log_var)))
    loss, g_x, g_s = ref.gaussian_nll(np.array([r]), np.array([0.0]), log_var=np.array([log_var]), reduction="sum", return_grad=True)
    assert float(loss) == pytest.approx(float(exact), rel=4e-16)
    exact_gx = mpmath.mpf(r) * mpmath.exp(-mpmath.mpf(log_var))
    assert float(g_x[0]) == pytest.approx(float(exact_gx), rel=4e-16)
    exact_gs = 0.5 * (1 - mpmath.mpf(r) ** 2 * mpmath.exp(-mpmath.mpf(log_var)))
    assert float(g_s[0]) == pytest.approx(float(exact_gs), rel=4e-16, abs=1e-300)


def test_gaussian_nll_var_huge_residual_against_mpmath():
    # (x - y)**2 overflows float64, but the loss is finite
    x, y, var = 1.5e200, -1e200, 1e250
    loss = ref.gaussian_nll([x], [y], var=[var], reduction="sum")
    exact = _mp_gauss(mpmath.mpf(x) - mpmath.mpf(y), var)
    assert float(loss) == pytest.approx(float(exact), rel=4e-16)
    loss = ref.gaussian_nll_loss([x], [y], [var], full=True, reduction="sum")
    assert float(loss) == pytest.approx(float(exact), rel=4e-16)
    # even where x - y itself overflows
    loss = ref.gaussian_nll([1.5e308], [-1.5e308], std=[1e300], reduction="sum")
    exact = _mp_gauss(2 * mpmath.mpf(1.5e308), mpmath.mpf(1e300) ** 2)
    assert float(loss) == pytest.approx(float(exact), rel=4e-16)


# ------------------------------------------------------------------------------------------
# accuracy of the primitives against mpmath
# ------------------------------------------------------------------------------------------


def _mp_lse(xs):
    return mpmath.log(mpmath.fsum(mpmath.exp(mpmath.mpf(v)) for v in xs))


@pytest.mark.parametrize(
    "xs",
    [
        [0.0, -40.0],
        [0.0, -40.0, -41.0, -745.0],
        [1000.0, 999.0, -1000.0],
        [-1e308, -1e308 + 1e292],
        list(np.linspace(-30.0, 5.0, 101)),
        [1e-300, -1e-300],
    ],
)
def test_logsumexp_and_log_softmax_against_mpmath(xs):
    lse = ref.logsumexp(np.array(xs))
    exact = _mp_lse(xs)
    assert float(lse) == pytest.approx(float(exact), rel=2.3e-16, abs=0)
    ls = ref.log_softmax(np.array(xs))
    big = max(max(abs(v) for v in xs), abs(float(exact)))
    for got, v in zip(ls, xs):
        e = float(mpmath.mpf(v) - exact)
        # relative accuracy for the dominant entry (-4.25e-18, not -0.0); else within R = big
        bound = 4.5e-16 * (abs(e) if v == max(xs) else max(abs(e), big))
        assert abs(got - e) <= bound, (got, e)


def test_logsumexp_known_value():
    assert ref.logsumexp([0.0, -40.0]) == 4.248354255291589e-18
    assert ref.log_softmax([0.0, -40.0])[0] == pytest.approx(-4.248354255291589e-18, rel=1e-15)
    assert ref.softmax([0.0, -40.0])[1] == pytest.approx(float(mpmath.exp(-40) / (1 + mpmath.exp(-40))), rel=1e-15)


def test_norm_logpdf_against_mpmath():
    # ((x - loc)/scale)**2 overflows as a product of two huge numbers, the value is finite
    x, loc, scale = 1e200, -5e199, 1e50
    exact = -0.5 * mpmath.log(2 * mpmath.pi) - mpmath.log(scale) - 0.5 * ((mpmath.mpf(x) - loc) / scale) ** 2
    assert ref.norm_logpdf(x, loc, scale) == pytest.approx(float(exact), rel=4e-16)


def test_inputs_are_not_modified():
    x = rng(21).standard_normal((3, 4))
    y = rng(22).random((3, 4))
    x0, y0 = x.copy(), y.copy()
    x.setflags(write=False)
    ref.cross_entropy(x, y, return_grad=True)
    ref.log_softmax(x, axis=1)
    ref.gaussian_nll(x, y, var=y, return_grad=True)
    ref.binary_cross_entropy_with_logits(x, y, return_grad=True)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("fn, args", [
    (ref.mse_loss, ()),
    (ref.kl_div, ()),
    (ref.binary_cross_entropy_with_logits, ()),
    (ref.poisson_nll_loss, ()),
])
def test_elementwise_losses_reject_bad_arguments(fn, args):
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="target"):
        fn(x, np.ones((3, 2)))
    with pytest.raises(ValueError, match="reduction"):
        fn(x, x, reduction="avg")
    with pytest.raises(TypeError):
        fn(x.astype(np.complex64), x)


def test_keyword_only_signatures():
    import inspect

    for name in ref.__all__:
        obj = getattr(ref, name)
        if not callable(obj) or isinstance(obj, type):
            continue
        assert "n_threads" not in inspect.signature(obj).parameters
        assert obj.__doc__ and len(obj.__doc__) > 40
    for fn, positional in [
        (ref.cross_entropy, 3),
        (ref.nll_loss, 3),
        (ref.binary_cross_entropy_with_logits, 2),
        (ref.kl_div, 2),
        (ref.mse_loss, 2),
        (ref.gaussian_nll_loss, 3),
        (ref.poisson_nll_loss, 2),
        (ref.gaussian_nll, 3),
    ]:
        params = list(inspect.signature(fn).parameters.values())
        kinds = [p.kind for p in params]
        assert all(k == inspect.Parameter.POSITIONAL_OR_KEYWORD for k in kinds[:positional])
        assert all(k == inspect.Parameter.KEYWORD_ONLY for k in kinds[positional:])


def test_strided_byteswapped_and_tensor_inputs():
    base = rng(23).standard_normal((6, 8))
    views = [
        base[::2, ::-1],  # non-contiguous, negative stride
        np.asfortranarray(base)[1:5],
        base.astype(base.dtype.newbyteorder(">")),  # non-native byte order
        torch.from_numpy(base.copy()),  # a CPU tensor that does not require grad
    ]
    for v in views:
        arr = np.ascontiguousarray(np.asarray(v), dtype=np.float64)
        np.testing.assert_array_equal(ref.log_softmax(v, axis=1), ref.log_softmax(arr, axis=1))
        np.testing.assert_array_equal(ref.logsumexp(v, axis=0), ref.logsumexp(arr, axis=0))
        labels = np.zeros(arr.shape[0], dtype=np.int64)
        np.testing.assert_array_equal(ref.cross_entropy(v, labels, reduction="none"), ref.cross_entropy(arr, labels, reduction="none"))
    with pytest.raises(TypeError):
        ref.softmax(torch.zeros(3, requires_grad=True))


def test_reference_imports_only_numpy_and_stdlib():
    import ast
    import sys

    tree = ast.parse(open(ref.__file__).read())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports (the compiled package must not be reached)"
            modules.add(node.module.split(".")[0])
    modules.discard("numpy")
    modules.discard("__future__")
    assert modules <= set(sys.stdlib_module_names), modules
