"""Accuracy of the Gaussian / Poisson family against mpmath (50 digits), in ulps.

API.md: every output element within 2 ulp of the result dtype at max(|exact|, R), R the
largest of the terms the element adds (for the Gaussian NLL: 1/2 log 2 pi, |1/2 log
sigma**2| and r**2 / (2 sigma**2)); gradients within 4 ulp of max(|exact|, the largest of
their terms); a mean or sum may add a pairwise-sum error of about log2 N ulp.  The inputs
are adversarial: residuals that cancel to the last bits or vanish, squares and quotients
that leave the floating-point range while the loss does not, variances at the float
limits (subnormal included), log-variances whose exp overflows.
"""
import math
from functools import lru_cache

import mpmath
import numpy as np
import pytest

import crossent

from _helpers import MP_DPS, dd_from_mp, ulp_errors

BOUND = 2.0
GRAD_BOUND = 4.0
DTYPES = ["float64", "float32"]


def _mp(v):
    return mpmath.mpf(float(v))


@lru_cache(maxsize=None)
def _inputs(dtype_name, kind):
    """(x, t, p) arrays of one adversarial set for the parametrisation `kind`."""
    dtype = np.dtype(dtype_name)
    f64 = dtype == np.float64
    rng = np.random.default_rng(sum(map(ord, dtype_name + kind)))
    fmax = float(np.finfo(dtype).max)
    tiny = float(np.finfo(dtype).tiny)
    sub = tiny * 2.0**-20  # a subnormal
    n = 600
    x = rng.standard_normal(n) * np.exp(rng.uniform(-3, 3, n))
    t = x + rng.standard_normal(n) * np.exp(rng.uniform(-6, 4, n))
    p = np.exp(rng.uniform(-8, 8, n))
    xs, ts, ps = [x], [t], [p]
    # residuals that cancel: t within a few ulps of x
    k = rng.integers(1, 5, 200)
    base = rng.uniform(0.5, 4.0, 200) * np.exp2(rng.integers(-30, 30, 200))
    xs.append(base)
    ts.append(base * (1 + k * float(np.finfo(dtype).eps)))
    ps.append(np.exp(rng.uniform(-60, 0, 200)))
    # variances (and residuals) at the limits of the type
    lim = np.array([sub, tiny, tiny * 3, fmax / 4, fmax, 1.0, 1 / (2 * math.pi), 0.5, 2.0])
    r = np.array([sub, tiny, 1.0, math.sqrt(fmax), fmax / 8, 1e-3, 0.0, 3.0])
    R, V = np.meshgrid(r, lim)
    xs.append(R.ravel())
    ts.append(np.zeros(R.size))
    ps.append(V.ravel())
    # (x - t)**2 overflows (or x - t itself) while the loss is finite
    big = fmax / 3
    xs.append(np.array([big, big, -big, big / 1e5, math.sqrt(fmax) * 4]))
    ts.append(np.array([-big, -big / 2, big, -big / 1e5, 0.0]))
    ps.append(np.array([fmax, fmax / 2, fmax, big, 20.0]))
    x = np.concatenate(xs).astype(dtype)
    t = np.concatenate(ts).astype(dtype)
    p = np.concatenate(ps).astype(dtype)
    if kind == "std":
        p = np.sqrt(p.astype(np.float64)).astype(dtype)
    elif kind == "log_var":
        # exp(-log_var) overflows or underflows while r**2 exp(-log_var) does not
        if f64:
            ex = [(1e-300, -1500.0), (1e300, 1500.0), (1e-200, -750.0), (1e100, 720.0), (3.0, 1e-20),
                  (2.5, 40.0), (1e-300, -1e5), (1e10, 3e4), (1e-160, -709.9), (1e150, 709.5)]
        else:
            ex = [(1e-30, -100.0), (1e30, 100.0), (1e-35, -104.0), (1e20, 95.0), (3.0, 1e-20), (2.5, 40.0)]
        x = np.concatenate([x, [a for a, _ in ex]]).astype(dtype)
        t = np.concatenate([t, np.zeros(len(ex))]).astype(dtype)
        p = np.concatenate([np.log(p.astype(np.float64)), [b for _, b in ex]]).astype(dtype)
    return x, t, p


def _exact_gauss(x, t, p, kind, torch_full=None, eps=0.0):
    """Loss, grad wrt input, grad wrt parameter and their R scales, exactly."""
    L, GX, GP, RL, RX, RP = [], [], [], [], [], []
    with mpmath.workdps(MP_DPS):
        half_log_2pi = mpmath.log(2 * mpmath.pi) / 2
        for xi, ti, pi in zip(x.tolist(), t.tolist(), p.tolist()):
            r = _mp(xi) - _mp(ti)
            if kind == "var":
                v = _mp(pi)
                hlv = mpmath.log(v) / 2
            elif kind == "torch":
                v = max(_mp(pi), _mp(eps))
                hlv = mpmath.log(v) / 2
            elif kind == "std":
                v = _mp(pi) ** 2
                hlv = mpmath.log(_mp(pi))
            else:
                v = mpmath.exp(_mp(pi))
                hlv = _mp(pi) / 2
            hq = r * r / (2 * v)
            c = half_log_2pi if (kind != "torch" or torch_full) else 0
            L.append(c + hlv + hq)
            RL.append(max(abs(c), abs(hlv), hq))
            GX.append(r / v)
            RX.append(abs(r / v))
            if kind in ("var", "torch"):
                GP.append(1 / (2 * v) - r * r / (2 * v * v))
                RP.append(max(1 / (2 * v), r * r / (2 * v * v)))
            elif kind == "std":
                s = _mp(pi)
                GP.append(1 / s - r * r / s**3)
                RP.append(max(1 / s, r * r / s**3))
            else:
                GP.append(mpmath.mpf(0.5) - hq)
                RP.append(max(mpmath.mpf(0.5), hq))
    to_f = lambda vals: np.array([float(v) for v in vals])
    return dd_from_mp(L), dd_from_mp(GX), dd_from_mp(GP), to_f(RL), to_f(RX), to_f(RP)


def _check(got, exact, dtype, scale, bound, what):
    err = ulp_errors(np.asarray(got), exact, dtype, scale)
    worst = int(np.argmax(err))
    assert err[worst] <= bound, f"{what}: {err[worst]:.3g} ulps at element {worst}"
    return float(err[worst])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["var", "log_var", "std"])
def test_gaussian_nll_elements_within_2_ulp(dtype, kind):
    x, t, p = _inputs(dtype, kind)
    L, GX, GP, RL, RX, RP = _exact_gauss(x, t, p, kind)
    loss, gx, gp = crossent.gaussian_nll(x, t, reduction="none", return_grad=True, **{kind: p})
    _check(loss, L, dtype, RL, BOUND, f"{kind} loss")
    _check(gx, GX, dtype, RX, GRAD_BOUND, f"{kind} grad_input")
    _check(gp, GP, dtype, RP, GRAD_BOUND, f"{kind} grad_{kind}")
    # the same element values through other code paths: strided, broadcast parameter
    loss2 = crossent.gaussian_nll(np.repeat(x, 2)[::2], t, reduction="none", **{kind: p})
    _check(loss2, L, dtype, RL, BOUND, f"{kind} loss (strided)")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_loss_elements_within_2_ulp(dtype, full):
    x, t, p = _inputs(dtype, "var")
    eps = 1e-6
    L, GX, GP, RL, RX, RP = _exact_gauss(x, t, p, "torch", torch_full=full,
                                          eps=float(np.asarray(eps, dtype)))
    loss, gx, gp = crossent.gaussian_nll_loss(x, t, p, full=full, eps=eps, reduction="none", return_grad=True)
    _check(loss, L, dtype, RL, BOUND, "loss")
    _check(gx, GX, dtype, RX, GRAD_BOUND, "grad_input")
    _check(gp, GP, dtype, RP, GRAD_BOUND, "grad_var")


@pytest.mark.parametrize("dtype", DTYPES)
def test_mse_and_poisson_elements_within_2_ulp(dtype):
    x, t, _ = _inputs(dtype, "var")
    finite = np.abs(x.astype(np.float64)) < 1e150
    x, t = x[finite], t[finite]
    with mpmath.workdps(MP_DPS):
        ex = [(_mp(a) - _mp(b)) ** 2 for a, b in zip(x.tolist(), t.tolist())]
    loss = crossent.mse_loss(x, t, reduction="none")
    _check(loss, dd_from_mp(ex), dtype, None, BOUND, "mse")
    # poisson with log-rates of moderate size and counts (full: Stirling)
    rng = np.random.default_rng(5)
    lr = rng.uniform(-20, 20 if dtype == "float64" else 10, 400).astype(dtype)
    k = np.concatenate([rng.poisson(3.0, 300), rng.integers(0, 10**6, 100)]).astype(dtype)
    for full in (False, True):
        vals, R = [], []
        with mpmath.workdps(MP_DPS):
            for a, c in zip(lr.tolist(), k.tolist()):
                e, tx = mpmath.exp(_mp(a)), _mp(c) * _mp(a)
                v = e - tx
                terms = [abs(e), abs(tx)]
                if full and c > 1:
                    st = _mp(c) * mpmath.log(_mp(c)) - _mp(c) + mpmath.log(2 * mpmath.pi * _mp(c)) / 2
                    v += st
                    terms += [abs(_mp(c) * mpmath.log(_mp(c))), _mp(c)]
                vals.append(v)
                R.append(float(max(terms)))
        got = crossent.poisson_nll_loss(lr, k, full=full, reduction="none")
        _check(got, dd_from_mp(vals), dtype, np.array(R), BOUND, f"poisson full={full}")


@pytest.mark.parametrize("log_input", [True, False])
def test_poisson_full_finite_where_terms_overflow(log_input):
    """full=True with counts near 1e306: t x (or t log rate) and Stirling's t log t each
    overflow while the loss is finite; the loss is that finite value within 2 ulp."""
    if log_input:
        x = np.array([622.0, 650.0, 700.0])
    else:
        x = np.array([1e300, 3e303, 1e305])
    t = np.array([2.89e305, 1e306, 5e306])
    eps = 1e-8
    vals = []
    with mpmath.workdps(MP_DPS):
        for a, c in zip(x.tolist(), t.tolist()):
            A, C = _mp(a), _mp(c)
            v = mpmath.exp(A) - C * A if log_input else A - C * mpmath.log(A + _mp(eps))
            vals.append(v + C * mpmath.log(C) - C + mpmath.log(2 * mpmath.pi * C) / 2)
    got = crossent.poisson_nll_loss(x, t, log_input=log_input, full=True, eps=eps,
                                    reduction="none")
    _check(got, dd_from_mp(vals), "float64", None, BOUND, f"poisson log_input={log_input}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [1.0, 1e-160, 1e155, 1e-310])
def test_profiled_elements_and_mean(dtype, scale):
    if dtype == "float32" and scale != 1.0:
        scale = {1e-160: 1e-22, 1e155: 1e18, 1e-310: 1e-42}[scale]
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(257) * scale).astype(dtype)
    t = (x.astype(np.float64) + rng.standard_normal(257) * scale).astype(dtype)
    loss, g = crossent.gaussian_nll(x, t, reduction="none", return_grad=True)
    mean = crossent.gaussian_nll(x, t)
    with mpmath.workdps(MP_DPS):
        r = [_mp(a) - _mp(b) for a, b in zip(x.tolist(), t.tolist())]
        s2 = mpmath.fsum(v * v for v in r) / len(r)
        c = mpmath.log(2 * mpmath.pi * s2) / 2
        L = [c + v * v / (2 * s2) for v in r]
        G = [v / s2 for v in r]
        M = c + mpmath.mpf(0.5)
        RL = np.array([float(max(abs(c), v * v / (2 * s2))) for v in r])
    _check(loss, dd_from_mp(L), dtype, RL, BOUND + 1, "profiled loss")  # + the pairwise mean of r**2
    gmax = np.array([abs(float(v)) for v in G])
    gmax = np.max(gmax[np.isfinite(gmax)], initial=0.0)  # the largest gradient of the row
    _check(g, dd_from_mp(G), dtype, gmax, GRAD_BOUND, "profiled grad")
    _check(mean, dd_from_mp([M]), dtype, None, BOUND + 1, "profiled mean")


@pytest.mark.parametrize("dtype", DTYPES)
def test_reductions_add_at_most_a_pairwise_sum_error(dtype):
    rng = np.random.default_rng(3)
    n = 131_075  # a sequential float64 sum of this many terms is ~30 ulp off
    x = rng.standard_normal(n).astype(dtype)
    t = rng.standard_normal(n).astype(dtype)
    v = np.exp(rng.uniform(-2, 2, n)).astype(dtype)
    elem = crossent.gaussian_nll(x, t, var=v, reduction="none").astype(np.float64)
    # exact sum of the (already accurate) rounded-in-double elements is not the point:
    # compare with the exact sum of the exact elements
    with mpmath.workdps(MP_DPS):
        H = mpmath.log(2 * mpmath.pi) / 2
        ex = mpmath.fsum(H + mpmath.log(_mp(c)) / 2 + (_mp(a) - _mp(b)) ** 2 / (2 * _mp(c))
                         for a, b, c in zip(x.tolist(), t.tolist(), v.tolist()))
    total = crossent.gaussian_nll(x, t, var=v, reduction="sum")
    mean = crossent.gaussian_nll(x, t, var=v, reduction="mean")
    bound = BOUND + math.log2(n)
    scale = float(np.sum(np.abs(elem)))
    _check(total, dd_from_mp([ex]), dtype, scale, bound, "sum")
    _check(mean, dd_from_mp([ex / n]), dtype, scale / n, bound, "mean")
    for nt in (1, 2, 3):
        assert crossent.gaussian_nll(x, t, var=v, reduction="sum", n_threads=nt).tobytes() == total.tobytes()
