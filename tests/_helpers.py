"""Shared helpers of the test suite.

- ulp measurement against exact values (mpmath, double-double), in ulps of the result
  dtype at max(|exact|, R) as API.md "Accuracy" defines it;
- mpmath oracles of the primitives (``mp.dps`` 50, exact float inputs);
- variants of an array that hold the same values in other memory layouts (strided,
  negative strides, Fortran order, read-only, non-native byte order, ...);
- an "inputs unchanged" checker;
- scaled comparisons (NaN/inf positions exact, finite values within k ulps at a scale);
- hypothesis strategies for float arrays with adversarial and special values, and axes.

Importable both under pytest (conftest puts this folder on ``sys.path``) and from the
script mode of ``test_accuracy.py``.
"""
from __future__ import annotations

import contextlib
import warnings

import mpmath
import numpy as np

F32 = np.dtype(np.float32)
F64 = np.dtype(np.float64)

MP_DPS = 50  # >= 40 digits; 50 digits also cover a triple-double (159 bits)

_PRECISION = {F32: 24, F64: 53}
_MIN_EXPONENT = {F32: -149, F64: -1074}  # exponent of the smallest subnormal


# ----------------------------------------------------------------------------- ulps

def ulp_at(scale, dtype):
    """The spacing of ``dtype`` numbers at magnitude ``scale`` (elementwise, as float64).

    ``2**(floor(log2|scale|) - p + 1)``, never below the smallest subnormal.
    """
    dtype = np.dtype(dtype)
    s = np.abs(np.asarray(scale, dtype=np.float64))
    _, e = np.frexp(s)  # s = m * 2**e, 0.5 <= m < 1  ->  floor(log2 s) = e - 1
    e = np.where((s == 0) | ~np.isfinite(s), _MIN_EXPONENT[dtype] + _PRECISION[dtype], e)
    return np.ldexp(1.0, np.maximum(e - _PRECISION[dtype], _MIN_EXPONENT[dtype]))


def two_sum(a, b):
    """Error-free transformation: a + b == s + e exactly (float64, no overflow)."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def dd_from_mp(values):
    """mpf values -> (hi, lo) float64 arrays with hi + lo equal to the value to ~2**-106."""
    hi = np.array([float(v) for v in values], dtype=np.float64)
    with mpmath.workdps(MP_DPS):
        lo = np.array(
            [float(v - h) if np.isfinite(h) else 0.0 for v, h in zip(values, hi)],
            dtype=np.float64,
        )
    return hi, lo


def ulp_errors(got, exact, dtype, scale=None):
    """Errors of ``got`` in ulps of ``dtype`` at ``max(|exact|, scale)`` (elementwise).

    ``exact`` is a pair ``(hi, lo)`` of float64 arrays (a double-double) or a float64
    array. Where the exact value rounded to ``dtype`` is not finite (inf, NaN, overflow)
    the error is 0 if ``got`` is that same value and inf otherwise; a non-finite ``got``
    where the exact value is finite is an infinite error.
    """
    dtype = np.dtype(dtype)
    if isinstance(exact, tuple):
        hi, lo = (np.asarray(v, dtype=np.float64) for v in exact)
    else:
        hi = np.asarray(exact, dtype=np.float64)
        lo = np.zeros_like(hi)
    got = np.asarray(got)
    assert got.dtype == dtype, f"result dtype {got.dtype}, expected {dtype}"
    g = got.astype(np.float64)
    hi, lo, g = np.broadcast_arrays(hi, lo, g)
    with np.errstate(all="ignore"):
        rounded = hi.astype(dtype).astype(np.float64)  # overflow -> inf, as rounding does
        special = ~np.isfinite(rounded)
        same_special = (g == rounded) | (np.isnan(g) & np.isnan(rounded))
        if scale is None:
            scale = 0.0
        scale = np.maximum(np.abs(hi), np.abs(np.broadcast_to(scale, hi.shape)))
        s, e = two_sum(g, -hi)
        err = np.abs(s + (e - lo))
        ulps = err / ulp_at(scale, dtype)
    ulps = np.where(special, np.where(same_special, 0.0, np.inf), ulps)
    ulps = np.where(~special & ~np.isfinite(g), np.inf, ulps)
    return ulps


# ------------------------------------------------------------------- mpmath oracles

def _mp(v):
    return mpmath.mpf(float(v))  # exact: every float32/float64 is a float


def mp_lse_parts(row):
    """logsumexp of a 1-D row with a finite max as (m, L): lse = m + L exactly, m the
    largest entry (a float) and L = log1p(sum of exp(x_j - m) over the other entries),
    an mpf. Kept apart because 700 + 1e-304 is not a 50-digit number."""
    row = np.asarray(row, dtype=np.float64).ravel()
    values, counts = np.unique(row, return_counts=True)  # sorted: the max is last
    counts[-1] -= 1
    m = float(values[-1])
    with mpmath.workdps(MP_DPS):
        mm = _mp(m)
        tail = mpmath.fsum(int(c) * mpmath.exp(_mp(v) - mm)
                           for v, c in zip(values.tolist(), counts.tolist()) if c)
        return m, mpmath.log1p(tail)


def mp_logsumexp_row(row):
    """Exact logsumexp of a 1-D row with a finite max, an mpf (m + L of mp_lse_parts)."""
    m, L = mp_lse_parts(row)
    with mpmath.workdps(MP_DPS):
        return _mp(m) + L


def mp_triple(value):
    """An mpf -> three float64 whose sum equals it to ~2**-159 relative."""
    with mpmath.workdps(MP_DPS):
        t0 = float(value)
        t1 = float(value - t0)
        t2 = float(value - t0 - t1)
    return t0, t1, t2


def dd_log_softmax_row(row, m, L):
    """Exact log_softmax of ``row`` as a double-double: (x_i - m) - L, from the parts
    of ``mp_lse_parts``. Vectorised with error-free sums, so that the dominant entry
    (-L, e.g. -1e-17 or -1e-304 next to x = 700) is exact to ~2**-100 relative."""
    x = np.asarray(row, dtype=np.float64)
    t0, t1, t2 = mp_triple(L)
    with np.errstate(invalid="ignore"):
        s, e = two_sum(x, -m)  # exact
        u, f = two_sum(s, -t0)
        v, g = two_sum(u, -t1)
        rest = ((f + g) + e) - t2
        hi, lo = two_sum(v, rest)
    finite = np.isfinite(x)
    return np.where(finite, hi, x), np.where(finite, lo, 0.0)


def mp_log_expit(x):
    with mpmath.workdps(MP_DPS):
        v = _mp(x)
        if v >= 0:
            return -mpmath.log1p(mpmath.exp(-v))
        return v - mpmath.log1p(mpmath.exp(v))


def mp_norm_logpdf(x, loc=0.0, scale=1.0):
    with mpmath.workdps(MP_DPS):
        z = (_mp(x) - _mp(loc)) / _mp(scale)
        return -z * z / 2 - mpmath.log(_mp(scale)) - mpmath.log(2 * mpmath.pi) / 2


# ------------------------------------------------------------------- array layouts

def layout_variants(a):
    """Arrays holding the same values as ``a`` in other layouts: list of (name, array).

    Gaps of the strided variants are filled with NaN, so a kernel that reads outside
    the view gives NaN instead of a plausible number.
    """
    a = np.asarray(a)
    out = [("contiguous", a.copy(order="C"))]
    ro = a.copy()
    ro.flags.writeable = False
    out.append(("read-only", ro))
    swapped = a.astype(a.dtype.newbyteorder())
    out.append(("non-native-byte-order", swapped))
    if a.ndim == 0:
        return out
    out.append(("fortran", np.asfortranarray(a)))
    out.append(("transposed-view", np.ascontiguousarray(a.T).T))

    big_shape = tuple(2 * n for n in a.shape[:-1]) + (3 * a.shape[-1],)
    big = np.full(big_shape, np.nan, dtype=a.dtype)
    view = (slice(None, None, 2),) * (a.ndim - 1) + (slice(None, None, 3),)
    big[view] = a
    out.append(("strided", big[view]))

    rev = (slice(None, None, -1),) * a.ndim
    out.append(("negative-strides", a[rev].copy()[rev]))

    big2 = np.full(a.shape[:-1] + (2 * a.shape[-1],), np.nan, dtype=a.dtype)
    big2[..., ::-2] = a
    out.append(("negative-strided-last-axis", big2[..., ::-2]))

    ro_strided = big[view]
    ro_strided.flags.writeable = False
    out.append(("read-only-strided", ro_strided))

    big3 = np.full(big_shape, np.nan, dtype=a.dtype.newbyteorder())
    big3[view] = a
    out.append(("non-native-strided", big3[view]))
    return out


def derived_views(base):
    """Views of ``base`` (different values!): a[:, ::3], a.T, a[::-1], ... (name, view)."""
    base = np.asarray(base)
    views = [("a", base), ("a[::-1]", base[::-1])]
    if base.ndim >= 2:
        views += [
            ("a.T", base.T),
            ("a[:, ::3]", base[:, ::3]),
            ("a[::2, ::-1]", base[::2, ::-1]),
            ("a[1:, 1:]", base[1:, 1:]),
        ]
    else:
        views += [("a[::3]", base[::3]), ("a[1:]", base[1:])]
    return views


# --------------------------------------------------------------- inputs unchanged

def _snapshot(x):
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        t = x.detach()
        return ("torch", x, (t.clone().numpy().tobytes(), t.dtype, tuple(t.shape), t.stride()))
    if isinstance(x, np.ndarray):
        return ("numpy", x, (x.copy(order="K").tobytes(), x.dtype, x.shape, x.strides,
                             x.flags.writeable))
    return None


@contextlib.contextmanager
def inputs_unchanged(*objs):
    """Assert that the arrays/tensors given are bitwise unchanged by the block."""
    snaps = [s for s in (_snapshot(o) for o in objs) if s is not None]
    yield
    for kind, obj, before in snaps:
        if kind == "torch":
            t = obj.detach()
            assert (t.clone().numpy().tobytes(), t.dtype, tuple(t.shape), t.stride()) == before, (
                "a torch input was modified"
            )
        else:
            data, dtype, shape, strides, writeable = before
            assert obj.dtype == dtype and obj.shape == shape and obj.strides == strides
            assert obj.flags.writeable == writeable, "writeable flag of an input changed"
            assert obj.copy(order="K").tobytes() == data, "an input array was modified"


def call_unchanged(func, *args, **kwargs):
    """Call ``func`` and assert that no array argument (except ``out``) changed."""
    watched = list(args) + [v for k, v in kwargs.items() if k != "out"]
    with inputs_unchanged(*watched):
        return func(*args, **kwargs)


# ------------------------------------------------------------------- comparisons

def quiet(func, *args, **kwargs):
    """Call an oracle with NumPy/SciPy warnings silenced."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def assert_special_match(got, expected):
    """NaN where expected is NaN, same infinities, finite where expected is finite."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    bad = np.isnan(got) != np.isnan(expected)
    assert not bad.any(), (
        f"NaN mismatch at {np.argwhere(bad)[:5].tolist()}: got {got[bad][:5]}, "
        f"expected {expected[bad][:5]}"
    )
    inf_e = np.isinf(expected)
    inf_g = np.isinf(got)
    bad = (inf_e | inf_g) & (got != expected) & ~np.isnan(expected)
    assert not bad.any(), (
        f"inf mismatch at {np.argwhere(bad)[:5].tolist()}: got {got[bad][:5]}, "
        f"expected {expected[bad][:5]}"
    )


def assert_close_ulps(got, expected, dtype, ulps, scale=None, what=""):
    """Same NaN/inf pattern as ``expected`` rounded to ``dtype``; finite values within
    ``ulps`` ulps of ``dtype`` at max(|expected|, scale)."""
    dtype = np.dtype(dtype)
    got = np.asarray(got)
    expected = np.asarray(expected, dtype=np.float64)
    with np.errstate(all="ignore"):
        assert_special_match(got, expected.astype(dtype))
    err = ulp_errors(got.astype(dtype), expected, dtype, scale)
    if err.size and np.isfinite(expected).any():
        worst = np.unravel_index(np.argmax(err), err.shape)
        assert err[worst] <= ulps, (
            f"{what}: {err[worst]:.3g} ulps > {ulps} at {worst}: got {got[worst]!r}, "
            f"expected {expected[worst]!r}"
        )


def row_scale(x, axis=None, keepdims=False, b=None, extra=()):
    """R of API.md for a reduction: the largest |x| (finite, b != 0) of each slice,
    including |x + log|b|| for weights, and the magnitudes in ``extra``."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        terms = np.where(np.isfinite(x), np.abs(x), 0.0)
        if b is not None:
            bb = np.broadcast_to(np.asarray(b, dtype=np.float64), np.broadcast_shapes(x.shape, np.shape(b)))
            xb = np.broadcast_to(x, bb.shape)
            shifted = np.abs(xb + np.log(np.abs(bb)))
            terms = np.where(bb != 0, np.maximum(np.broadcast_to(terms, bb.shape),
                                                 np.where(np.isfinite(shifted), shifted, 0.0)), 0.0)
    r = np.max(terms, axis=axis, keepdims=keepdims, initial=0.0)
    for e in extra:
        with np.errstate(all="ignore"):
            e = np.abs(np.asarray(e, dtype=np.float64))
        r = np.maximum(r, np.where(np.isfinite(e), e, 0.0))
    return r


def same_bits(a, b):
    """Bitwise equality of two results (arrays, scalars or tuples of them)."""
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(map(same_bits, a, b))
    a = np.asarray(a)
    b = np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def result_dtype(*inputs):
    """The result dtype rule of API.md for the primitives: NumPy promotion of the float
    inputs, with integer/bool arrays taken as float64 and float16 computed as float32.
    Python scalars stay weak (as in NumPy 2)."""
    parts = []
    for v in inputs:
        if isinstance(v, (bool, int, float)):
            parts.append(v)
            continue
        dt = np.asarray(v).dtype
        parts.append(np.float64 if dt.kind in "biu" else dt)
    if all(isinstance(p, (bool, int, float)) for p in parts):
        return F64
    dt = np.result_type(*parts)
    return F32 if dt == np.float16 else dt


# ------------------------------------------------------------------- hypothesis

def hyp_strategies():
    """Hypothesis strategies, built lazily so that the script mode needs no hypothesis."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    def elements(dtype, bound=None, special=True):
        dtype = np.dtype(dtype)
        width = 32 if dtype == F32 else 64
        if bound is None:
            bound = 80.0 if dtype == F32 else 700.0
        big = float(np.finfo(dtype).max)
        parts = [
            st.floats(-bound, bound, width=width),
            st.floats(-3.0, 3.0, width=width),
            st.sampled_from([0.0, -0.0, 1.0, -bound, bound]),
            st.floats(-big, big, width=width),
        ]
        if special:
            parts.append(st.sampled_from([np.inf, -np.inf, np.nan, -np.inf]))
        return st.one_of(*parts)

    def arrays(dtype, shape=None, bound=None, special=True, max_dims=3, max_side=6):
        if shape is None:
            shape = hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=max_side)
        return hnp.arrays(dtype, shape, elements=elements(dtype, bound, special))

    def axes(ndim, allow_none=True, allow_tuple=True):
        choices = []
        if allow_none:
            choices.append(st.none())
        if ndim > 0:
            choices.append(st.integers(-ndim, ndim - 1))
            if allow_tuple:
                choices.append(
                    st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)
                    .flatmap(lambda ax: st.tuples(*[st.sampled_from([a, a - ndim]) for a in ax]))
                )
        return st.one_of(*choices)

    return st, hnp, elements, arrays, axes


# ------------------------------------------------------------- threads and builds

def gil_handshake(call, n_threads, max_calls):
    """How many kernel calls a thread made before another Python thread got to run.

    With a huge switch interval the interpreter never takes the GIL away from the
    kernel thread; the other thread can get it only when the kernel thread gives it up
    itself, i.e. inside a kernel call. If the kernels held the GIL the other thread
    would run only after all ``max_calls`` calls; with the GIL released it runs during
    the first call(s). Bounded by the iteration count, not by a clock; the threads are
    daemons joined with a limit, so a deadlock fails instead of hanging.
    """
    import sys
    import threading

    other_ready = threading.Event()
    go = threading.Event()
    other_ran = threading.Event()
    calls_done = []

    def kernel_thread():
        other_ready.wait()
        go.set()
        for i in range(max_calls):
            call(n_threads)
            if other_ran.is_set():
                break
        calls_done.append(i + 1)

    def other_thread():
        other_ready.set()
        go.wait()
        other_ran.set()  # Python code: needs the GIL

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        threads = [threading.Thread(target=f, daemon=True) for f in (kernel_thread, other_thread)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(900)
        assert not any(t.is_alive() for t in threads), "GIL handshake: a thread hung"
    finally:
        sys.setswitchinterval(old)
    assert other_ran.is_set() and calls_done
    return calls_done[0]


def build_extension(folder, name, files, setup_args):
    """Write ``files`` ({file name: text}) into ``folder``, run ``python setup.py
    *setup_args`` there and import the extension module ``name`` from it."""
    import importlib
    import subprocess
    import sys

    for fname, text in files.items():
        (folder / fname).write_text(text)
    proc = subprocess.run([sys.executable, "setup.py", *setup_args],
                          cwd=folder, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))
