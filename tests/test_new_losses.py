"""l1_loss, smooth_l1_loss, huber_loss, binary_cross_entropy and mse_loss(weight=), and
out= / grad_out= on every loss of the Gaussian family: values and autograd gradients
against torch 2.13, against crossent.reference, accuracy against mpmath (in ulps), bad
inputs, buffers in several layouts, bitwise identity across n_threads.
"""
import mpmath
import numpy as np
import pytest

import crossent
from crossent import reference

from _helpers import MP_DPS, dd_from_mp, same_bits, ulp_errors

torch = pytest.importorskip("torch")
F = torch.nn.functional

DTYPES = [np.float64, np.float32]
REDUCTIONS = ["mean", "sum", "none"]
ATOL = {np.float64: 1e-12, np.float32: 2e-5}


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def _torch_call(name, x, t, kw, reduction):
    """torch's loss and autograd gradient d loss.sum() / d input."""
    xt = _t(x).clone().requires_grad_(True)
    tkw = {k: (_t(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about broadcasting targets
        loss = getattr(F, name)(xt, _t(t), reduction=reduction, **tkw)
    loss.sum().backward()
    return loss.detach().numpy(), xt.grad.numpy()


def _close(got, want, dtype, what, scale=None):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, what
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=what)
    fin = np.isfinite(want)
    np.testing.assert_array_equal(got[~fin], want[~fin], err_msg=what)
    s = np.max(np.abs(want[fin]), initial=1.0) if scale is None else scale
    np.testing.assert_allclose(got[fin], want[fin], rtol=0, atol=ATOL[dtype] * s, err_msg=what)


def _data(dtype, shape=(37, 11), seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=shape) * 2).astype(dtype)
    t = (rng.normal(size=shape) * 2).astype(dtype)
    w = rng.uniform(0.0, 2.0, size=shape).astype(dtype)
    return x, t, w


# ------------------------------------------------------------------------ against torch

CASES = [
    ("l1_loss", {}),
    ("l1_loss", {"weight": "w"}),
    ("mse_loss", {"weight": "w"}),
    ("smooth_l1_loss", {}),
    ("smooth_l1_loss", {"beta": 0.5}),
    ("smooth_l1_loss", {"beta": 0.0}),
    ("smooth_l1_loss", {"beta": 3.0}),
    ("huber_loss", {}),
    ("huber_loss", {"delta": 0.3}),
    ("huber_loss", {"delta": 2.0, "weight": "w"}),
]


def _bind(kw, w):
    return {k: (w if v == "w" else v) for k, v in kw.items()}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_against_torch(case, reduction, dtype):
    name, kw = case
    x, t, w = _data(dtype)
    kw = _bind(kw, w)
    want_l, want_g = _torch_call(name, x, t, kw, reduction)
    loss, grad = getattr(crossent, name)(x, t, reduction=reduction, return_grad=True, **kw)
    assert np.asarray(loss).dtype == dtype and grad.dtype == dtype
    _close(loss, want_l, dtype, f"{name} loss")
    _close(grad, want_g, dtype, f"{name} grad")
    alone = getattr(crossent, name)(x, t, reduction=reduction, **kw)
    assert same_bits(alone, loss)  # the loss is the same with and without the gradient


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss"])
def test_broadcast_against_torch(name, reduction, dtype):
    """input broadcast against target (its gradient summed back), with a weight of
    input's shape broadcast against the loss (torch 2.13's rule)."""
    rng = np.random.default_rng(3)
    for xs, ts in (((37, 1), (37, 11)), ((11,), (5, 11)), ((5, 11), (11,)), ((3, 1, 4), (1, 6, 1))):
        x = rng.normal(size=xs).astype(dtype)
        t = rng.normal(size=ts).astype(dtype)
        kw = {} if name == "smooth_l1_loss" else {"weight": rng.uniform(0.1, 2.0, xs).astype(dtype)}
        want_l, want_g = _torch_call(name, x, t, kw, reduction)
        loss, grad = getattr(crossent, name)(x, t, reduction=reduction, return_grad=True, **kw)
        _close(loss, want_l, dtype, f"{name} {xs} {ts}")
        _close(grad, want_g, dtype, f"{name} grad {xs} {ts}")


def test_weighted_mean_divides_by_the_weight_of_input_shape():
    """torch 2.13: sum(w l) / sum(w) with w of input's shape, also where input is
    broadcast (each weight is used for several losses but counted once)."""
    x = np.array([[1.0], [2.0]])
    t = np.zeros((2, 3))
    w = np.array([[1.0], [3.0]])
    assert crossent.mse_loss(x, t, weight=w) == (3 * 1 + 3 * 3 * 4) / 4
    assert crossent.l1_loss(x, t, weight=w) == (3 * 1 + 3 * 3 * 2) / 4
    assert crossent.huber_loss(x, t, weight=w) == (3 * 0.5 + 3 * 3 * 1.5) / 6


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight", [None, "full", "row", "scalar"])
def test_bce_against_torch(weight, reduction, dtype):
    rng = np.random.default_rng(4)
    x = rng.uniform(size=(23, 7)).astype(dtype)
    t = rng.uniform(size=(23, 7)).astype(dtype)
    x[0, :4] = [0.0, 1.0, 0.0, 1.0]  # the clamp of each log at -100
    t[0, :4] = [1.0, 0.0, 0.0, 1.0]
    x[1, :3] = [1e-30, 1 - 1e-7, 0.5]
    t[2, :] = rng.integers(0, 2, 7)
    kw = {}
    if weight == "full":
        kw["weight"] = rng.uniform(0, 2, (23, 7)).astype(dtype)
    elif weight == "row":
        kw["weight"] = rng.uniform(0, 2, 7).astype(dtype)
    elif weight == "scalar":
        kw["weight"] = np.array(2.5, dtype)
    want_l, want_g = _torch_call("binary_cross_entropy", x, t, kw, reduction)
    loss, grad = crossent.binary_cross_entropy(x, t, reduction=reduction, return_grad=True, **kw)
    _close(loss, want_l, dtype, "bce loss")
    # the gradient reaches 1e12 at 0 and 1: each element against its own magnitude
    got, want = np.asarray(grad, np.float64), want_g.astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=0)


def test_bce_clamp_and_gradient_formula_at_0_and_1():
    x = np.array([0.0, 0.0, 1.0, 1.0, 0.0])
    t = np.array([0.0, 1.0, 0.0, 1.0, 0.25])
    loss, grad = crossent.binary_cross_entropy(x, t, reduction="none", return_grad=True)
    np.testing.assert_array_equal(loss, [0.0, 100.0, 100.0, 0.0, 25.0])
    floor = float(np.float32(1e-12))  # torch's EPSILON, a float
    np.testing.assert_array_equal(grad, [0.0, -1 / floor, 1 / floor, 0.0, -0.25 / floor])


@pytest.mark.parametrize("dtype", DTYPES)
def test_kinks_exactly(dtype):
    """Gradients at r = 0 (|r| has gradient 0) and at |r| == beta / delta, as torch."""
    t = np.zeros(7, dtype)
    for name, kw, k in (("l1_loss", {}, 1.0), ("smooth_l1_loss", {"beta": 0.5}, 0.5),
                        ("smooth_l1_loss", {"beta": 0.0}, 0.0), ("huber_loss", {"delta": 0.25}, 0.25),
                        ("huber_loss", {}, 1.0), ("smooth_l1_loss", {}, 1.0)):
        x = np.array([0.0, -0.0, k, -k, 2 * k, np.nextafter(k, 0), -3.0], dtype)
        want_l, want_g = _torch_call(name, x, t, kw, "none")
        loss, grad = getattr(crossent, name)(x, t, reduction="none", return_grad=True, **kw)
        np.testing.assert_array_equal(loss, want_l, err_msg=f"{name} {kw}")
        np.testing.assert_array_equal(grad, want_g, err_msg=f"{name} {kw}")
    assert crossent.l1_loss([1.0, 2.0], [1.0, 2.0], return_grad=True)[1].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_special_values_propagate_as_torch(dtype):
    """inf and NaN residuals: the losses as torch; gradients as torch except that a NaN
    residual gives a NaN gradient of l1_loss (API.md: NaN propagates; torch's sign is 0)."""
    inf, nan = np.inf, np.nan
    x = np.array([inf, -inf, inf, nan, 1.0, 2.0, inf], dtype)
    t = np.array([0.0, 0.0, inf, 0.0, nan, 1.0, -inf], dtype)
    for name, kw in (("l1_loss", {}), ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.3}),
                     ("huber_loss", {"delta": 0.3}), ("mse_loss", {}),
                     ("mse_loss", {"weight": np.full(7, 0.5, dtype)}),
                     ("l1_loss", {"weight": np.array([0, 1, 1, 1, 1, 1, 2], dtype)})):
        want_l, want_g = _torch_call(name, x, t, kw, "none")
        loss, grad = getattr(crossent, name)(x, t, reduction="none", return_grad=True, **kw)
        _close(loss, want_l, dtype, f"{name} {kw}")  # torch rounds in float32 on the way
        if name == "l1_loss":
            with np.errstate(invalid="ignore"):
                want_g = np.where(np.isnan(x - t), nan, want_g)
        np.testing.assert_array_equal(grad, want_g, err_msg=f"{name} {kw} grad")
        for red in ("mean", "sum"):
            got = getattr(crossent, name)(x, t, reduction=red, **kw)
            assert np.isnan(got), (name, red)


@pytest.mark.parametrize("dtype", DTYPES)
def test_huge_and_tiny_magnitudes(dtype):
    """Residuals near overflow (x - t itself overflowing in float64) and subnormal."""
    fi = np.finfo(dtype)
    big, tiny = float(fi.max) * 0.75, float(fi.smallest_subnormal) * 8
    x = np.array([big, -big, big, tiny, -tiny, 1e-30, 3.0], dtype)
    t = np.array([-big, big, big / 3, 0.0, tiny, 0.0, 3.0 + 2 ** -20], dtype)
    for name, kw in (("l1_loss", {}), ("smooth_l1_loss", {"beta": float(big)}),
                     ("smooth_l1_loss", {"beta": 1e-30}), ("huber_loss", {"delta": float(big) / 2}),
                     ("huber_loss", {"delta": 1e-20})):
        got_l, got_g = getattr(crossent, name)(x, t, reduction="none", return_grad=True, **kw)
        want_l, want_g = getattr(reference, name)(x, t, reduction="none", return_grad=True, **kw)
        np.testing.assert_array_equal(np.isfinite(got_l), np.isfinite(want_l), err_msg=name)
        sub = 2 * float(fi.smallest_subnormal)  # a subnormal result: ulps are absolute
        np.testing.assert_allclose(got_l, want_l, rtol=4 * fi.eps, atol=sub, err_msg=name)
        np.testing.assert_allclose(got_g, want_g, rtol=4 * fi.eps, atol=sub, err_msg=name)
    # the mean of losses whose sum overflows is finite (the rescue of reduced_value)
    xs = np.full(4, big, dtype)
    for fn, kw in ((crossent.l1_loss, {}), (crossent.l1_loss, {"weight": np.ones(4, dtype)}),
                   (crossent.smooth_l1_loss, {"beta": 1.0}), (crossent.huber_loss, {"delta": 0.5})):
        m = fn(xs, np.zeros(4, dtype), **kw)
        want = getattr(reference, fn.__name__)(xs, np.zeros(4, dtype), **kw)
        assert np.isfinite(want) and np.isfinite(m), fn.__name__
        np.testing.assert_allclose(m, want, rtol=4 * fi.eps)


# -------------------------------------------------------------------- against reference

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_against_reference(reduction, dtype):
    x, t, w = _data(dtype, (64, 33), seed=7)
    p = np.abs(np.tanh(x))
    q = np.abs(np.tanh(t))
    calls = [(n, (x, t), _bind(k, w)) for n, k in CASES]
    calls += [("binary_cross_entropy", (p, q), {}), ("binary_cross_entropy", (p, q), {"weight": w[0]})]
    for name, args, kw in calls:
        got = getattr(crossent, name)(*args, reduction=reduction, return_grad=True, **kw)
        want = getattr(reference, name)(*args, reduction=reduction, return_grad=True, **kw)
        for g, r, what in zip(got, want, ("loss", "grad")):
            assert np.asarray(g).dtype == np.asarray(r).dtype
            _close(g, r, dtype, f"{name} {kw} {what}")


# ------------------------------------------------------------------------ mpmath accuracy

BOUND, GRAD_BOUND = 2.0, 4.0


def _hard(dtype, n=600, seed=9):
    """Residuals over many magnitudes, near-cancelling x and t, exact kinks."""
    rng = np.random.default_rng(seed)
    e = rng.uniform(-30, 30, n) if dtype == np.float32 else rng.uniform(-300, 300, n)
    x = (rng.choice([-1, 1], n) * 10.0 ** e).astype(dtype)
    rel = 10.0 ** rng.uniform(-12, 0, n)
    t = (x.astype(np.float64) * (1 + rng.choice([-1, 1], n) * rel)).astype(dtype)
    t[::5] = rng.normal(size=t[::5].shape).astype(dtype)
    return x, t


def _mp_elem(name, a, b, k, w=1.0):
    """Exact loss, gradient and the scale R (the largest term) of one element."""
    r = mpmath.mpf(a) - mpmath.mpf(b)
    ar = abs(r)
    sg = (r > 0) - (r < 0)
    if name == "l1_loss":
        return w * ar, w * sg, w * ar
    if name == "smooth_l1_loss":
        if ar < k:
            return r * r / (2 * k), r / k, r * r / (2 * k)
        return ar - mpmath.mpf(k) / 2, sg, ar
    if ar < k:
        return w * r * r / 2, w * r, w * r * r / 2
    return w * k * (ar - mpmath.mpf(k) / 2), w * k * sg, w * k * ar


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,k", [("l1_loss", 0.0), ("smooth_l1_loss", 1.0),
                                    ("smooth_l1_loss", 1e-3), ("smooth_l1_loss", 1e20),
                                    ("huber_loss", 1.0), ("huber_loss", 1e-20), ("huber_loss", 1e15)])
def test_elements_within_2_ulp(name, k, dtype):
    x, t = _hard(dtype)
    rng = np.random.default_rng(10)
    w = rng.uniform(0.1, 3.0, x.shape).astype(dtype)
    kw = {}
    if name == "smooth_l1_loss":
        kw["beta"] = k
    elif name == "huber_loss":
        kw["delta"] = k
    if name != "smooth_l1_loss":
        kw["weight"] = w
    k = float(np.asarray(k, dtype))
    loss, grad = getattr(crossent, name)(x, t, reduction="none", return_grad=True, **kw)
    with mpmath.workdps(MP_DPS):
        ex = [_mp_elem(name, a, b, k, mpmath.mpf(c) if name != "smooth_l1_loss" else 1)
              for a, b, c in zip(x.tolist(), t.tolist(), w.tolist())]
        L, G, R = ([e[i] for e in ex] for i in range(3))
        R = np.array([float(v) for v in R])
    for got, exact, bound, what in ((loss, L, BOUND, "loss"), (grad, G, GRAD_BOUND, "grad")):
        err = ulp_errors(got, dd_from_mp(exact), dtype, R if what == "loss" else None)
        assert np.max(err) <= bound, f"{name} {what}: {np.max(err):.3g} ulp at {np.argmax(err)}"


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_within_2_ulp(dtype):
    rng = np.random.default_rng(11)
    n = 500
    x = np.concatenate([10.0 ** rng.uniform(-40, 0, n // 2), 1 - 10.0 ** rng.uniform(-15, 0, n // 2)])
    x = np.clip(x, 0, 1).astype(dtype)
    t = np.concatenate([rng.uniform(0, 1, n - 50), 10.0 ** rng.uniform(-30, 0, 25),
                        rng.integers(0, 2, 25)]).astype(dtype)
    rng.shuffle(t)
    w = rng.uniform(0.1, 3.0, n).astype(dtype)
    loss, grad = crossent.binary_cross_entropy(x, t, weight=w, reduction="none", return_grad=True)
    L, G, R = [], [], []
    with mpmath.workdps(MP_DPS):
        for a, b, c in zip(x.tolist(), t.tolist(), w.tolist()):
            A, B, C = mpmath.mpf(a), mpmath.mpf(b), mpmath.mpf(c)
            lx = max(mpmath.log(A), -100) if A > 0 else mpmath.mpf(-100)
            l1x = max(mpmath.log(1 - A), -100) if A < 1 else mpmath.mpf(-100)
            t1, t2 = -C * B * lx, -C * (1 - B) * l1x
            L.append(t1 + t2)
            R.append(float(max(abs(t1), abs(t2))))
            G.append(C * (A - B) / max(A * (1 - A), mpmath.mpf(float(np.float32(1e-12)))))
    err = ulp_errors(loss, dd_from_mp(L), dtype, np.array(R))
    assert np.max(err) <= BOUND, f"bce loss: {np.max(err):.3g} ulp"
    err = ulp_errors(grad, dd_from_mp(G), dtype)
    assert np.max(err) <= GRAD_BOUND, f"bce grad: {np.max(err):.3g} ulp"


def test_weighted_mse_within_2_ulp():
    x, t = _hard(np.float64)
    keep = np.abs(x) < 1e150
    x, t = x[keep], t[keep]
    w = np.random.default_rng(12).uniform(0.1, 3.0, x.shape)
    loss = crossent.mse_loss(x, t, weight=w, reduction="none")
    with mpmath.workdps(MP_DPS):
        ex = [mpmath.mpf(c) * (mpmath.mpf(a) - mpmath.mpf(b)) ** 2
              for a, b, c in zip(x.tolist(), t.tolist(), w.tolist())]
    err = ulp_errors(loss, dd_from_mp(ex), np.float64)
    assert np.max(err) <= BOUND


# ------------------------------------------------------------------------------ bad inputs

def test_bce_range_errors_name_the_argument():
    ok = np.array([0.2, 0.5])
    for bad in ([0.2, 1.5], [-0.1, 0.5], [np.nan, 0.5], [0.2, np.inf]):
        with pytest.raises(ValueError, match="input"):
            crossent.binary_cross_entropy(np.array(bad), ok)
        with pytest.raises(ValueError, match="target"):
            crossent.binary_cross_entropy(ok, np.array(bad))
    big = np.full(100_000, 0.5)
    big[77_777] = 2.0  # one bad element in a large, multithreaded call
    with pytest.raises(ValueError, match="input"):
        crossent.binary_cross_entropy(big, big * 0.5, return_grad=True, n_threads=2)
    with pytest.raises(ValueError, match="target"):
        crossent.binary_cross_entropy(np.full(3, 0.5), np.full((1, 3), 0.5))
    with pytest.raises(ValueError, match="weight"):
        crossent.binary_cross_entropy(ok, ok, weight=np.ones(3))
    with pytest.raises(ValueError, match="weight"):
        crossent.binary_cross_entropy(ok, ok, weight=np.ones((2, 2)))


def test_parameter_errors():
    x = np.ones(3)
    for beta in (-1.0, -1e-300, np.nan):
        with pytest.raises(ValueError, match="beta"):
            crossent.smooth_l1_loss(x, x, beta=beta)
        with pytest.raises(ValueError, match="beta"):
            reference.smooth_l1_loss(x, x, beta=beta)
    for delta in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="delta"):
            crossent.huber_loss(x, x, delta=delta)
        with pytest.raises(ValueError, match="delta"):
            reference.huber_loss(x, x, delta=delta)
    with pytest.raises(TypeError, match="beta"):
        crossent.smooth_l1_loss(x, x, beta="1")
    with pytest.raises(TypeError, match="delta"):
        crossent.huber_loss(x, x, delta=None)
    for fn in (crossent.mse_loss, crossent.l1_loss, crossent.huber_loss):
        with pytest.raises(ValueError, match="weight"):
            fn(x, x, weight=np.ones(4))
        with pytest.raises(ValueError, match="weight"):
            fn(np.ones((3, 1)), np.ones((3, 4)), weight=np.ones((3, 4)))  # torch: input's shape
        with pytest.raises(ValueError, match="target"):
            fn(x, np.ones(4))
        with pytest.raises(TypeError, match="weight"):
            fn(x, x, weight=np.ones(3, complex))


def _loss_calls():
    """(name, call(out, grad_out, reduction, return_grad), loss shape, grad shape(s))."""
    rng = np.random.default_rng(20)
    x, t = rng.normal(size=(2, 30, 7))
    p, q = rng.uniform(size=(2, 30, 7))
    v = rng.uniform(0.5, 2, (30, 7))
    c = crossent
    return [
        ("mse_loss", lambda **k: c.mse_loss(x, t, weight=v, **k), x.shape, x.shape),
        ("l1_loss", lambda **k: c.l1_loss(x, t, **k), x.shape, x.shape),
        ("smooth_l1_loss", lambda **k: c.smooth_l1_loss(x, t, beta=0.5, **k), x.shape, x.shape),
        ("huber_loss", lambda **k: c.huber_loss(x, t, weight=v, **k), x.shape, x.shape),
        ("binary_cross_entropy", lambda **k: c.binary_cross_entropy(p, q, **k), p.shape, p.shape),
        ("poisson_nll_loss", lambda **k: c.poisson_nll_loss(x, np.abs(t), **k), x.shape, x.shape),
        ("gaussian_nll_loss", lambda **k: c.gaussian_nll_loss(x, t, v, **k), x.shape,
         (x.shape, v.shape)),
        ("gaussian_nll-var", lambda **k: c.gaussian_nll(x, t, v, **k), x.shape, (x.shape, v.shape)),
        ("gaussian_nll-profiled", lambda **k: c.gaussian_nll(x, t, **k), x.shape, x.shape),
    ]


def _buffers(shapes, make):
    if isinstance(shapes[0], tuple):
        return tuple(make(s) for s in shapes)
    return make(shapes)


@pytest.mark.parametrize("case", _loss_calls(), ids=[c[0] for c in _loss_calls()])
def test_out_and_grad_out_errors(case):
    name, call, ls, gs = case
    with pytest.raises(ValueError, match="out"):
        call(out=np.empty(ls), reduction="mean")
    with pytest.raises(ValueError, match="out"):
        call(out=np.empty((3,) + ls), reduction="none")
    with pytest.raises(TypeError, match="out"):
        call(out=np.empty(ls, np.float32), reduction="none")
    ro = np.empty(ls)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        call(out=ro, reduction="none")
    with pytest.raises(ValueError, match="grad_out"):
        call(grad_out=_buffers(gs, np.empty))  # without return_grad
    with pytest.raises(ValueError, match="grad_out"):
        call(grad_out=_buffers(gs, lambda s: np.empty(s + (2,))), return_grad=True)
    with pytest.raises(TypeError, match="grad_out"):
        call(grad_out=_buffers(gs, lambda s: np.empty(s, np.float32)), return_grad=True)
    g = _buffers(gs, np.empty)
    first = g[0] if isinstance(g, tuple) else g
    with pytest.raises(ValueError, match="grad_out"):  # the loss and a gradient in one buffer
        call(out=first, grad_out=g, reduction="none", return_grad=True)
    if isinstance(gs[0], tuple):
        with pytest.raises(TypeError, match="grad_out"):
            call(grad_out=g[0], return_grad=True)


def test_out_overlapping_an_input_is_refused():
    buf = np.random.default_rng(21).uniform(0.1, 0.9, 20_001)
    x, shifted = buf[:20_000], buf[1:]
    before = buf.copy()
    for fn in (crossent.l1_loss, crossent.huber_loss, crossent.binary_cross_entropy,
               crossent.mse_loss, crossent.smooth_l1_loss):
        with pytest.raises(ValueError, match=r"out.*input"):
            fn(x, np.full(20_000, 0.5), reduction="none", out=shifted)
        with pytest.raises(ValueError, match=r"grad_out.*input"):
            fn(x, np.full(20_000, 0.5), reduction="sum", return_grad=True, grad_out=shifted)
        with pytest.raises(ValueError, match=r"grad_out.*target"):
            fn(np.full(20_000, 0.5), x, reduction="sum", return_grad=True, grad_out=shifted)
    with pytest.raises(ValueError, match=r"out.*weight"):
        crossent.l1_loss(np.ones(20_000), np.ones(20_000), weight=x, reduction="none", out=shifted)
    assert np.array_equal(buf, before)


def test_grad_out_exactly_the_input_goes_through_a_temporary():
    """A mean's gradient over its own input (the overflow rescue re-reads the input) and
    a gradient summed back into a broadcast input are computed first, then copied."""
    rng = np.random.default_rng(22)
    x = rng.uniform(-2, 2, 20_000)
    want = crossent.l1_loss(x.copy(), np.zeros(20_000), return_grad=True)
    got = crossent.l1_loss(x, np.zeros(20_000), return_grad=True, grad_out=x)
    assert got[1] is x and got[0] == want[0] and np.array_equal(x, want[1])
    col = rng.uniform(-2, 2, (100, 1))
    want = crossent.l1_loss(col.copy(), np.zeros((100, 5)), reduction="sum", return_grad=True)
    got = crossent.l1_loss(col, np.zeros((100, 5)), reduction="sum", return_grad=True,
                           grad_out=col)
    assert got[1] is col and got[0] == want[0] and np.array_equal(col, want[1])


def _layouts(shape):
    """Writable buffers of `shape` in several layouts: C, Fortran, strided, negative
    strides, a misaligned view of a byte buffer."""
    n = int(np.prod(shape))
    yield "C", np.empty(shape)
    yield "F", np.empty(shape, order="F")
    yield "strided", np.empty(shape[:-1] + (3 * shape[-1],))[..., ::3]
    yield "reversed", np.empty(shape)[::-1]
    raw = np.empty(8 * n + 1, np.uint8)
    yield "misaligned", raw[1:].view(np.float64).reshape(shape)


@pytest.mark.parametrize("case", _loss_calls(), ids=[c[0] for c in _loss_calls()])
def test_out_and_grad_out_layouts(case):
    name, call, ls, gs = case
    for red in ("none", "sum"):
        want = call(reduction=red, return_grad=True)
        for lay, buf in _layouts(ls):
            if red == "none":
                res = call(reduction="none", out=buf)
                assert res is buf, (name, lay)
                assert same_bits(np.ascontiguousarray(buf), want[0]), (name, lay)
            gbufs = _buffers(gs, lambda s: next(b for ly, b in _layouts(s) if ly == lay))
            res = call(reduction=red, return_grad=True, grad_out=gbufs)
            gl = gbufs if isinstance(gbufs, tuple) else (gbufs,)
            for got, g, w in zip(res[1:], gl, want[1:]):
                assert got is g, (name, lay)
                assert same_bits(np.ascontiguousarray(g), np.asarray(w)), (name, lay, red)
            # the reduced loss: the walk merges dims by every operand's strides, so a
            # grad_out layout can change the blocking of the sum (not its accuracy)
            np.testing.assert_allclose(res[0], want[0], rtol=1e-14, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_in_place(dtype):
    """out= and grad_out= may be the input (or target, weight) itself where nothing is
    summed back: the engine reads each sub-block before writing it."""
    rng = np.random.default_rng(22)
    shape = (300, 301)  # several blocks and tasks
    x = rng.uniform(0.01, 0.99, shape).astype(dtype)
    t = rng.uniform(0.0, 1.0, shape).astype(dtype)
    w = rng.uniform(0.5, 2.0, shape).astype(dtype)
    c = crossent
    calls = [
        ("l1", lambda x, t, w, **k: c.l1_loss(x, t, weight=w, **k)),
        ("smooth", lambda x, t, w, **k: c.smooth_l1_loss(x, t, beta=0.3, **k)),
        ("huber", lambda x, t, w, **k: c.huber_loss(x, t, weight=w, delta=0.2, **k)),
        ("mse", lambda x, t, w, **k: c.mse_loss(x, t, weight=w, **k)),
        ("bce", lambda x, t, w, **k: c.binary_cross_entropy(x, t, weight=w, **k)),
        ("poisson", lambda x, t, w, **k: c.poisson_nll_loss(x, t, **k)),
        ("gauss", lambda x, t, w, **k: c.gaussian_nll_loss(x, t, w, **k)[:2]
         if k.get("return_grad") else c.gaussian_nll_loss(x, t, w, **k)),
    ]
    for name, fn in calls:
        want = fn(x, t, w, reduction="none")
        for which in (0, 1, 2):
            args = [x.copy(), t.copy(), w.copy()]
            for view in (args[which], args[which][::-1]):
                if view is not args[which]:
                    args = [a[::-1].copy()[::-1] for a in (x, t, w)]
                    view = args[which]
                if name in ("smooth", "poisson") and which == 2:
                    continue
                res = fn(*args, reduction="none", out=view, n_threads=2)
                assert res is view
                assert same_bits(view, want), (name, which)
        if name == "gauss":
            continue
        want_g = fn(x, t, w, reduction="sum", return_grad=True)[1]
        xx = x.copy()
        res = fn(xx, t, w, reduction="sum", return_grad=True, grad_out=xx)
        assert res[1] is xx and same_bits(xx, want_g), name


# -------------------------------------------------------------------------- determinism

@pytest.mark.parametrize("dtype", DTYPES)
def test_bitwise_identical_across_threads(dtype):
    rng = np.random.default_rng(30)
    x = rng.normal(size=(700, 1001)).astype(dtype)
    t = rng.normal(size=(700, 1001)).astype(dtype)
    w = rng.uniform(0, 2, (700, 1001)).astype(dtype)
    p, q = np.abs(np.tanh(x)), np.abs(np.tanh(t))
    xb = x[:, :1].copy()
    c = crossent
    calls = [
        lambda n, r: c.l1_loss(x, t, weight=w, reduction=r, return_grad=True, n_threads=n),
        lambda n, r: c.smooth_l1_loss(x, t, beta=0.7, reduction=r, return_grad=True, n_threads=n),
        lambda n, r: c.huber_loss(x, t, delta=0.4, weight=w, reduction=r, return_grad=True,
                                  n_threads=n),
        lambda n, r: c.mse_loss(x, t, weight=w, reduction=r, return_grad=True, n_threads=n),
        lambda n, r: c.binary_cross_entropy(p, q, weight=w[0], reduction=r, return_grad=True,
                                            n_threads=n),
        lambda n, r: c.l1_loss(xb, t, weight=xb * 0 + 2, reduction=r, return_grad=True, n_threads=n),
        lambda n, r: c.huber_loss(x[0], t, reduction=r, return_grad=True, n_threads=n),
    ]
    for i, call in enumerate(calls):
        for r in ("mean", "sum"):
            one = call(1, r)
            for n in (2, 3):
                assert same_bits(call(n, r), one), (i, r, n)
