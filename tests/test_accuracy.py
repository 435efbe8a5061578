"""Accuracy of the primitives against mpmath (50 digits), in ulps (API.md "Accuracy").

The error of every output element is measured in ulps of the result dtype at
max(|exact|, R): for logsumexp / log_softmax R is the largest finite |x| of the row and
|logsumexp|; for log_expit R = |min(x, 0)| (so large positive x is measured *relative*);
for norm_logpdf R is the largest of the terms 1/2 log 2 pi, |log scale|, z**2 / 2. The
entry of a dominant class in a log_softmax row (the maximum, with probability > 1/2) is
measured relative to itself (R = 0): the true value -4.2e-18 of log_softmax([0, -40])[0]
must not come out as -0.0. The contract: at most 2 ulp.

Also a script: ``python tests/test_accuracy.py`` prints the table of max ulp errors per
case and dtype for crossent and for the peers on the same inputs: numpy-naive
(log(sum(exp(x))), -log(1 + exp(-x)), log(pdf)), numpy-shift (the max-shifted
textbook formulas, -logaddexp(0, -x), -z**2/2 - log(scale) - log(2 pi)/2), sequential
(max-shifted with a one-after-the-other sum, np.cumsum), SciPy and PyTorch. Under pytest the crossent column is printed at the
end of the run (see conftest.py) and each test records ``max_ulp`` as a property.
"""
import math
import os
import sys
from functools import lru_cache

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import mpmath  # noqa: E402
import numpy as np  # noqa: E402

from _helpers import (  # noqa: E402
    MP_DPS,
    dd_from_mp,
    dd_log_softmax_row,
    mp_log_expit,
    mp_lse_parts,
    mp_logsumexp_row,
    mp_norm_logpdf,
    ulp_errors,
)

BOUND = 2.0  # ulps, API.md
# The dominant entry of a log_softmax row: API.md bounds it at 2 ulp of R (absolute)
# and asks for relative accuracy (-1e-17 never -0.0); crossent keeps it within
# REL_BOUND ulp of itself (a sum of terms each within 0.8 ulp, measured in the ulp of
# the sum, can reach ~2.5 ulp).
REL_BOUND = 4.0
LONG = 131_075  # a sequential float64 sum of this many terms is ~30 ulp off

# the max ulp error of crossent per (function, case, dtype), filled by the tests and
# printed by conftest.py at the end of a pytest run
ULP_TABLE = {}


# ------------------------------------------------------------------ adversarial rows

def _rows(case, dtype):
    """The rows of one adversarial case (a list of 1-D arrays of ``dtype``)."""
    f64 = np.dtype(dtype) == np.float64
    rng = np.random.default_rng(sum(map(ord, case)))
    big = 700.0 if f64 else 80.0
    gap = 40.0 if f64 else 20.0  # exp(-gap) ~ a few ulps of 1: the tiny others
    rows = []
    if case == "dominant":
        rows = [[0.0, -gap], [0.0, -gap, -gap - 5, -gap - 10], [1000.0, 1000.0 - gap],
                [-5.0, -5.0 - gap, -5.0 - 2 * gap], [0.0] + [-gap + 3] * 100,
                [3.0, 3.0 - gap * 0.8, 3.0 - gap * 0.9, 3.0 - gap * 1.1],
                [0.0, -big - 45.0, -big], [-big, -big - gap]]
        for _ in range(20):
            m = rng.uniform(-big / 2, big / 2)
            n = int(rng.integers(2, 50))
            r = m - rng.uniform(0.6 * gap, 1.3 * gap, size=n)
            r[rng.integers(n)] = m
            rows.append(r)
    elif case == "spread":
        rows = [rng.uniform(-big, big, size=n) for n in (2, 5, 17, 1000, 4099)]
        rows.append(np.linspace(-big, big, 301)[::-1])
    elif case == "equal":
        rows = [np.full(n, v) for n, v in [(2, 0.0), (3, 0.3), (1000, -12.5), (4097, 1.0),
                                             (65, big), (33, -big), (1024, 0.0)]]
    elif case == "length-1":
        rows = [[v] for v in (0.0, -3.5, 1.0, big, -big, 1e-30, 123.456)]
    elif case == "subnormal-result":  # exp of the others underflows to a subnormal
        rows = ([[0.0, -731.0], [353.75, 353.75 - 732.0], [0.0, -740.0, -741.0], [-5.0, -744.0]]
                if f64 else [[0.0, -95.0], [40.0, -60.0], [0.0, -100.0, -101.0]])
    elif case == "ascending":
        rows = [np.linspace(-50.0 if f64 else -20.0, 50.0 if f64 else 20.0, 10_001),
                np.sort(rng.normal(size=5000) * 10)]
    elif case == "offset":
        rows = [1e4 + rng.normal(size=1000), -1e4 + rng.normal(size=999) * 3,
                rng.normal(size=500) * 1e-3 + 100.0]
    elif case == "with-neg-inf":
        rows = [[0.0, -np.inf, -3.0, -np.inf], [-np.inf, 5.0], [-np.inf] * 7 + [-1.0, -1.5]]
    elif case == "short-rows":  # many short rows: the across-rows kernel path
        n, k = 2000, 10
        x = rng.normal(size=(n, k)) * 5  # half the rows: random
        dom = np.flatnonzero(rng.random(n) < 0.5)  # the other half: one dominant entry
        m = rng.uniform(-big / 2, big / 2, size=dom.size)
        x[dom] = m[:, None] - rng.uniform(0.6 * gap, 1.3 * gap, size=(dom.size, k))
        x[dom, rng.integers(k, size=dom.size)] = m
        rows = list(x)
    elif case == "long":
        # random rows, and equal terms next to a larger one: a one-after-the-other
        # sum of those is 1000+ ulp off (systematic rounding)
        rows = [_long_random_row(), np.r_[0.0, np.full(LONG - 1, -0.1)],
                np.r_[np.full(LONG - 1, 5.0 - 2.3), 5.0]]
    elif case == "long-ascending":  # the same values sorted: one rescale per element
        rows = [np.sort(_long_random_row())]  # (online softmax) would drift here
    else:  # pragma: no cover
        raise KeyError(case)
    return [np.asarray(r, dtype=np.float64).astype(dtype) for r in rows]


def _long_random_row():
    return np.random.default_rng(131075).uniform(-3.0, 3.0, size=LONG)


_PARTS_CACHE = {}


def _lse_parts_cached(row):
    """mp_lse_parts depends on the multiset of values only: sorted rows share it."""
    key = (row.dtype.str, np.sort(row).tobytes())
    if key not in _PARTS_CACHE:
        _PARTS_CACHE[key] = mp_lse_parts(row)
    return _PARTS_CACHE[key]


ROW_CASES = ["dominant", "spread", "subnormal-result", "equal", "length-1", "ascending", "offset",
             "with-neg-inf", "short-rows", "long", "long-ascending"]


@lru_cache(maxsize=None)
def _row_exact(case, dtype_name):
    """Exact logsumexp (mpf) of every row of a case, and the R of each row."""
    out = []
    for row in _rows(case, dtype_name):
        m, L = _lse_parts_cached(row)
        with mpmath.workdps(MP_DPS):
            lse = mpmath.mpf(m) + L
        fin = row[np.isfinite(row)].astype(np.float64)
        R = max(float(np.max(np.abs(fin))) if fin.size else 0.0, abs(float(lse)))
        out.append((row, (m, L), lse, R))
    return out


def _lse_errors(case, dtype, impl):
    """Max ulp error of ``impl(rows list) -> list of results`` over a case."""
    data = _row_exact(case, np.dtype(dtype).name)
    rows = [d[0] for d in data]
    results = impl(rows)
    worst = 0.0
    for (row, _, lse, R), got in zip(data, results):
        hi, lo = dd_from_mp([lse])
        err = ulp_errors(np.asarray(got).reshape(1), (hi, lo), dtype, R)
        worst = max(worst, float(err.max()))
    return worst


def _log_softmax_errors(case, dtype, impl):
    """Worst error in ulps, the dominant entries (relative) counted in units of
    BOUND / REL_BOUND so that one threshold serves both."""
    data = _row_exact(case, np.dtype(dtype).name)
    rows = [d[0] for d in data]
    results = impl(rows)
    worst = 0.0
    for (row, parts, _, R), got in zip(data, results):
        exact = dd_log_softmax_row(row, *parts)
        dom = _dominant(row, exact[0])
        err_abs = ulp_errors(np.asarray(got), exact, dtype, R)  # the contract's bound
        err_rel = ulp_errors(np.asarray(got), exact, dtype, 0.0) * (BOUND / REL_BOUND)
        err = np.where(dom, np.maximum(err_abs, err_rel), err_abs)
        worst = max(worst, float(err.max()))
    return worst


def _dominant(row, exact):
    """The entries of a dominant class: the row's maximum, with probability > 1/2
    (log-probability > -log 2). They are -log1p(sum of the others): relative accuracy."""
    return (row == row.max()) & (exact > -math.log(2.0))


def _per_row(fn):
    return lambda rows: [fn(r) for r in rows]


def _batched(fn2d, fallback):
    """Stack rows of equal length: fn2d(X) -> per-row results, else fall back."""
    def impl(rows):
        if len({r.size for r in rows}) == 1 and len(rows) > 1:
            return list(fn2d(np.stack(rows)))
        return fallback(rows)
    return impl


# ------------------------------------------------------------------ elementwise cases

ELEMENTWISE_CASES = {
    "log_expit": ["grid", "large-positive", "large-negative", "tiny"],
    "norm_logpdf": ["standard", "scaled", "far-tails", "near-overflow"],
}


@lru_cache(maxsize=None)
def _log_expit_data(case, dtype_name):
    f64 = dtype_name == "float64"
    top = 745.0 if f64 else 104.0
    rng = np.random.default_rng(sum(map(ord, case)))
    if case == "grid":
        x = np.concatenate([np.linspace(-50, 50, 2001), rng.normal(size=1000) * 10])
    elif case == "large-positive":  # log_expit(40) ~ -4.2e-18: relative accuracy
        x = np.concatenate([[36.0, 37.0, 40.0, 17.0, 20.0], np.linspace(10, top, 1500),
                            rng.uniform(15, top, size=500)])
    elif case == "large-negative":
        x = -np.concatenate([np.linspace(10, 1000 if f64 else 100, 1500), [top, 1e30]])
    else:
        x = np.concatenate([np.geomspace(1e-300 if f64 else 1e-37, 1.0, 500), [0.0]])
        x = np.concatenate([x, -x])
    x = x.astype(dtype_name)
    exact = dd_from_mp([mp_log_expit(v) for v in x])
    R = np.abs(np.minimum(x.astype(np.float64), 0.0))
    return x, exact, R


@lru_cache(maxsize=None)
def _norm_data(case, dtype_name):
    f64 = dtype_name == "float64"
    rng = np.random.default_rng(sum(map(ord, case)))
    if case == "standard":
        z = np.concatenate([np.linspace(-10, 10, 801), rng.normal(size=400)])
        x, loc, scale = z, np.zeros_like(z), np.ones_like(z)
    elif case == "scaled":
        locs = np.array([0.0, 1.5, -1e3, 7.25])
        scales = np.array([1e-3, 0.37, 1.0, 3.0, 1e4, 2.0**-20])
        L, S, Z = np.meshgrid(locs, scales, np.linspace(-6, 6, 49), indexing="ij")
        loc, scale = L.ravel(), S.ravel()
        x = loc + scale * Z.ravel()
    elif case == "far-tails":
        z = np.concatenate([np.linspace(-1e6, 1e6, 401), rng.normal(size=200) * 1e3])
        x, loc, scale = z, np.full_like(z, 0.25), np.full_like(z, 0.5)
    else:  # (x - loc)**2 overflows while the result itself is finite
        if f64:
            x = np.array([1.5e154, -1.8e154, 1e154, 1.3e154, 1.1e154])
            loc, scale = np.zeros(5), np.array([1.0, 1.0, 0.9, 1.0, 1.0])
        else:
            x = np.array([2e19, -2.5e19, 1.5e19, 2.6e19, 1e19])
            loc, scale = np.zeros(5), np.array([1.0, 1.0, 0.9, 1.0, 1.0])
    x, loc, scale = (v.astype(dtype_name) for v in (x, loc, scale))
    exact = dd_from_mp([mp_norm_logpdf(a, b, c) for a, b, c in zip(x, loc, scale)])
    with np.errstate(over="ignore"):
        x64, l64, s64 = (v.astype(np.float64) for v in (x, loc, scale))
        z = (x64 - l64) / s64
        R = np.maximum(np.maximum(0.5 * z * z, np.abs(np.log(s64))), 0.5 * math.log(2 * math.pi))
    return (x, loc, scale), exact, R


def _elementwise_error(func, case, dtype, impl):
    dtype = np.dtype(dtype)
    if func == "log_expit":
        x, exact, R = _log_expit_data(case, dtype.name)
        got = impl(x)
    else:
        args, exact, R = _norm_data(case, dtype.name)
        got = impl(*args)
    return float(ulp_errors(np.asarray(got), exact, dtype, R).max())


# ------------------------------------------------------------------ implementations

def crossent_impls():
    import crossent

    return {
        "logsumexp": [
            _per_row(crossent.logsumexp),
            _batched(lambda X: crossent.logsumexp(X, axis=1), _per_row(crossent.logsumexp)),
            _batched(lambda X: crossent.logsumexp(np.ascontiguousarray(X.T), axis=0),
                     _per_row(crossent.logsumexp)),
        ],
        "log_softmax": [
            _per_row(crossent.log_softmax),
            _batched(lambda X: crossent.log_softmax(X, axis=1), _per_row(crossent.log_softmax)),
            _batched(lambda X: crossent.log_softmax(np.ascontiguousarray(X.T), axis=0).T,
                     _per_row(crossent.log_softmax)),
        ],
        "log_expit": [crossent.log_expit],
        "norm_logpdf": [crossent.norm_logpdf],
    }


def _np_lse_naive(r):
    with np.errstate(all="ignore"):
        return np.log(np.sum(np.exp(r)))


def _np_lse_shift(r):
    m = np.max(r)
    with np.errstate(all="ignore"):
        return m + np.log(np.sum(np.exp(r - m)))


def _np_lse_sequential(r):
    """max-shifted, but summed one term after the other (np.cumsum is sequential)."""
    m = np.max(r)
    with np.errstate(all="ignore"):
        return m + np.log(np.cumsum(np.exp(r - m))[-1])


def _np_lsm_sequential(r):
    m = np.max(r)
    with np.errstate(all="ignore"):
        return (r - m) - np.log(np.cumsum(np.exp(r - m))[-1])


def _np_lsm_naive(r):
    with np.errstate(all="ignore"):
        return r - np.log(np.sum(np.exp(r)))


def _np_lsm_shift(r):
    m = np.max(r)
    with np.errstate(all="ignore"):
        return (r - m) - np.log(np.sum(np.exp(r - m)))


def _np_log_expit_naive(x):
    with np.errstate(all="ignore"):
        return -np.log(1 + np.exp(-x))


def _np_log_expit_shift(x):
    return -np.logaddexp(np.zeros_like(x), -x)


def _np_norm_naive(x, loc, scale):
    with np.errstate(all="ignore"):
        return np.log(np.exp(-0.5 * ((x - loc) / scale) ** 2) / (np.sqrt(2 * np.pi) * scale)).astype(x.dtype)


def _np_norm_shift(x, loc, scale):
    with np.errstate(all="ignore"):
        z = (x - loc) / scale
        return -0.5 * z * z - np.log(scale) - x.dtype.type(0.5 * math.log(2 * math.pi))


def peer_impls():
    """name -> {function: impl} for the table; missing packages are left out."""
    peers = {
        "numpy-naive": {"logsumexp": _per_row(_np_lse_naive), "log_softmax": _per_row(_np_lsm_naive),
                        "log_expit": _np_log_expit_naive, "norm_logpdf": _np_norm_naive},
        "numpy-shift": {"logsumexp": _per_row(_np_lse_shift), "log_softmax": _per_row(_np_lsm_shift),
                        "log_expit": _np_log_expit_shift, "norm_logpdf": _np_norm_shift},
        "sequential": {"logsumexp": _per_row(_np_lse_sequential),
                       "log_softmax": _per_row(_np_lsm_sequential)},
    }
    try:
        import scipy.special as sps
        import scipy.stats as sst

        peers["scipy"] = {
            "logsumexp": _per_row(sps.logsumexp),
            "log_softmax": _per_row(sps.log_softmax),
            "log_expit": sps.log_expit,
            "norm_logpdf": lambda x, l, s: sst.norm.logpdf(x, l, s).astype(x.dtype),
        }
    except ImportError:  # pragma: no cover
        pass
    try:
        import torch

        t = torch.from_numpy
        peers["torch"] = {
            "logsumexp": _per_row(lambda r: torch.logsumexp(t(r), 0).numpy()),
            "log_softmax": _per_row(lambda r: torch.log_softmax(t(r), 0).numpy()),
            "log_expit": lambda x: torch.nn.functional.logsigmoid(t(x)).numpy(),
            "norm_logpdf": lambda x, l, s: torch.distributions.Normal(
                t(l), t(s), validate_args=False).log_prob(t(x)).numpy(),
        }
    except ImportError:  # pragma: no cover
        pass
    return peers


def max_error(func, case, dtype, impl):
    if func == "logsumexp":
        return _lse_errors(case, dtype, impl)
    if func == "log_softmax":
        return _log_softmax_errors(case, dtype, impl)
    return _elementwise_error(func, case, dtype, impl)


def all_cases():
    for func in ("logsumexp", "log_softmax"):
        for case in ROW_CASES:
            yield func, case
    for func, cases in ELEMENTWISE_CASES.items():
        for case in cases:
            yield func, case


# ------------------------------------------------------------------ tests

try:
    import pytest
except ImportError:  # pragma: no cover - script mode without pytest
    pytest = None

if pytest is not None:
    @pytest.mark.parametrize("dtype", ["float32", "float64"])
    @pytest.mark.parametrize("func, case", list(all_cases()))
    def test_max_ulp_error(func, case, dtype, record_property):
        impls = crossent_impls()[func]
        worst = max(max_error(func, case, dtype, impl) for impl in impls)
        ULP_TABLE[(func, case, dtype)] = worst
        record_property("max_ulp", worst)
        print(f"{func:12s} {case:16s} {dtype:8s} max {worst:.3g} ulp")
        assert worst <= BOUND, f"{func} on {case} {dtype}: {worst:.3g} ulp > {BOUND}"

    @pytest.mark.parametrize("dtype, row", [
        ("float64", [0.0, -40.0]),
        ("float64", [0.0, -40.0, -45.0]),
        ("float64", [0.0, -700.0]),
        ("float64", [0.0, -36.0, -37.0, -38.0]),
        ("float64", [-40.0, 0.0, -41.0]),
        ("float32", [0.0, -20.0]),
        ("float32", [0.0, -17.0, -18.5]),
        ("float32", [-16.0, 0.0]),
    ])
    def test_logsumexp_small_result_relative(dtype, row):
        """API.md: logsumexp([0, -40]) is 4.25e-18, not 0 -- relative accuracy when the
        largest term is exp(0) = 1 (SciPy's log1p of the other terms)."""
        import crossent

        row = np.array(row, dtype=dtype)
        lse = mp_logsumexp_row(row)
        got = crossent.logsumexp(row)
        assert got > 0, f"logsumexp({row.tolist()}) = {got!r}: true value {float(lse):.4g}"
        err = ulp_errors(np.asarray(got).reshape(1), dd_from_mp([lse]), dtype, 0.0)
        assert err.max() <= BOUND, f"{err.max():.3g} ulp relative, got {got!r}, exact {float(lse)!r}"

    @pytest.mark.parametrize("dtype, row", [
        ("float64", [0.0, -40.0]),
        ("float64", [1000.0, 960.0]),
        ("float64", [-3.0, -43.0, -48.0, -100.0]),
        ("float64", [5.0, 5.0 - 37.5, 5.0 - 39.0] + [-30.0] * 50),
        ("float64", [700.0, 0.0, -700.0]),
        ("float32", [0.0, -20.0]),
        ("float32", [80.0, 62.0, 61.0]),
        ("float32", [-3.0, -21.0, -22.0]),
    ])
    def test_log_softmax_dominant_relative(dtype, row):
        """The dominant entry keeps relative accuracy: log_softmax([0, -40])[0] is
        -4.248e-18, never -0.0 (API.md)."""
        import crossent

        row = np.array(row, dtype=dtype)
        hi, lo = dd_log_softmax_row(row, *mp_lse_parts(row))
        for label, got in (("1-D", crossent.log_softmax(row)),
                           ("2-D axis=1", crossent.log_softmax(np.stack([row, row]), axis=1)[1]),
                           ("2-D axis=0", crossent.log_softmax(np.stack([row, row]).T.copy(), axis=0)[:, 0])):
            k = int(np.argmax(row))
            assert got[k] < 0, f"{label}: dominant entry {got[k]!r}, true {hi[k]!r}"
            err = ulp_errors(got[k:k + 1], (hi[k:k + 1], lo[k:k + 1]), dtype, 0.0)
            assert err.max() <= REL_BOUND, f"{label}: {err.max():.3g} ulp relative, got {got[k]!r}, exact {hi[k]!r}"

    @pytest.mark.parametrize("dtype, x", [
        ("float64", 40.0), ("float64", 36.0), ("float64", 100.0), ("float64", 700.0),
        ("float64", 740.0), ("float32", 20.0), ("float32", 40.0), ("float32", 87.0),
    ])
    def test_log_expit_large_positive_relative(dtype, x):
        """log_expit(40) = -4.248e-18 (relative accuracy), as scipy.special.log_expit."""
        import crossent

        xv = np.array([x], dtype=dtype)
        exact = dd_from_mp([mp_log_expit(xv[0])])
        got = crossent.log_expit(xv)
        assert got[0] < 0, f"log_expit({x}) = {got[0]!r}, true value {exact[0][0]!r}"
        err = ulp_errors(got, exact, dtype, 0.0)
        assert err.max() <= BOUND, f"{err.max():.3g} ulp relative: got {got[0]!r}, exact {exact[0][0]!r}"

    @pytest.mark.parametrize("call, dtype, finite", [
        (lambda c: c.norm_logpdf(np.array([1.5e154, -1.8e154])), "float64", [1, 1]),
        (lambda c: c.norm_logpdf(np.array([2e19, -2.5e19], dtype=np.float32)), "float32", [1, 1]),
        (lambda c: c.norm_logpdf(np.array([1e-150]), 0.0, 1e-300), "float64", [1]),
        (lambda c: c.logsumexp(np.array([1.7e308, 1.7e308])), "float64", 1),
        (lambda c: c.logsumexp(np.array([3.4e38, 3.4e38], dtype=np.float32)), "float32", 1),
        # the last entry is -2.7e308: it overflows, correctly
        (lambda c: c.log_softmax(np.array([1.7e308, 1.7e308, -1e308])), "float64", [1, 1, 0]),
        (lambda c: c.softmax(np.array([1.7e308, 1.7e308])), "float64", [1, 1]),
        (lambda c: c.log_expit(np.array([-1.7e308])), "float64", [1]),
    ])
    def test_finite_where_exact_is_finite(call, dtype, finite):
        """No overflow of intermediates (z**2, a sum of exps) where the result is finite
        (API.md), and inf where the exact value is beyond the dtype."""
        import crossent

        got = np.asarray(call(crossent))
        assert got.dtype == dtype
        finite = np.asarray(finite, dtype=bool)
        np.testing.assert_array_equal(np.isfinite(got), finite, err_msg=f"got {got!r}")


# ------------------------------------------------------------------ script

def _fmt(v):
    if v is None:
        return "-"
    if not np.isfinite(v):
        return "inf"
    if v >= 1e4:
        return f"{v:.1e}"
    return f"{v:.2f}"


def main():
    import crossent  # noqa: F401

    peers = peer_impls()
    ours = crossent_impls()
    cols = ["crossent"] + list(peers)
    head = f"{'function':12s} {'case':16s} {'dtype':8s} " + " ".join(f"{c:>12s}" for c in cols)
    print(f"max error in ulps of the result dtype at max(|exact|, R) (API.md); bound {BOUND}")
    print(head)
    print("-" * len(head))
    for func, case in all_cases():
        for dtype in ("float32", "float64"):
            vals = [max(max_error(func, case, dtype, impl) for impl in ours[func])]
            for name in peers:
                if func not in peers[name]:
                    vals.append(None)
                    continue
                try:
                    vals.append(max_error(func, case, dtype, peers[name][func]))
                except Exception as exc:  # a peer that cannot run this case
                    print(f"# {name} {func} {case} {dtype}: {type(exc).__name__}: {exc}",
                          file=sys.stderr)
                    vals.append(None)
            flag = "  <-- over the bound" if vals[0] > BOUND else ""
            print(f"{func:12s} {case:16s} {dtype:8s} "
                  + " ".join(f"{_fmt(v):>12s}" for v in vals) + flag)


if __name__ == "__main__":
    main()
