"""Fuzzing every public function of crossent against ``crossent.reference``.

Each hypothesis example builds one call of one public function with arbitrary shapes
(0-d, empty, size-1 and long axes), memory layouts (zero strides from
``np.broadcast_to``, negative and gapped strides, Fortran order, read-only,
non-native byte order, lists, Python scalars, torch tensors), dtypes (float16/32/64,
integers, bool and the refused ones: complex, object, strings, long double), axes
(valid, negative, tuples, out of range, repeated, of a wrong type), labels (valid,
``ignore_index``, negative, huge, of every integer dtype and of non-integer dtypes),
weights and NaN/inf patterns, then calls the reference and crossent on the same
objects. The property, per API.md:

* where the reference refuses the call, crossent raises the same kind of exception
  (``TypeError`` / ``ValueError`` / ``crossent.LabelError``), with a message naming
  the argument when the example broke one on purpose;
* otherwise crossent returns results of the reference's structure, shape and dtype
  (NumPy scalars for full reductions), with the same NaN/inf pattern and finite values
  within a few ulps at the magnitude R of the terms the value is computed from
  (API.md "Accuracy"; margins for the reference's own few-ulp error);
* inputs are never modified (except an ``out=`` that is the input itself);
* crossent-only arguments (``out=``, ``n_threads=``) are checked on their own.

Every example runs in this process: a crash kills pytest, which is a visible failure.
The bounded run here takes well under a minute; ``tools/fuzz_long.sh`` runs the same
tests with ``CROSSENT_HYPOTHESIS_PROFILE=thorough`` and more examples, keeping
hypothesis' database of failures in ``.hypothesis/``.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import crossent
from crossent.reference import _int_equal
from crossent import reference as ref

from _helpers import assert_close_ulps, inputs_unchanged, quiet, row_scale

torch = pytest.importorskip("torch")

F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
inf, nan = np.inf, np.nan
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

# Example counts: the default profile gives a bounded run in the suite; the thorough
# profile (tools/fuzz_long.sh) multiplies them. CROSSENT_FUZZ_EXAMPLES overrides both.
_PROFILE = os.environ.get("CROSSENT_HYPOTHESIS_PROFILE", "default")
_SCALE = 25 if _PROFILE == "thorough" else 1


def n_examples(base):
    env = os.environ.get("CROSSENT_FUZZ_EXAMPLES")
    return int(env) if env else base * _SCALE


# ================================================================== value generation

GOOD_DTYPES = [F64, F32, F64, F32, F16, np.dtype(">f8"), np.dtype(">f4"), np.dtype(np.int64),
               np.dtype(np.int32), np.dtype(np.uint8), np.dtype(np.bool_)]
# dtypes every function refuses with TypeError (API.md: complex; no real number type)
BAD_DTYPES = [np.dtype(np.complex128), np.dtype(np.complex64), np.dtype(object),
              np.dtype("U3"), np.dtype(np.longdouble), np.dtype("datetime64[s]")]


def float_elements(width, bound):
    big = float(np.finfo(np.float32 if width == 32 else np.float64).max)
    return st.one_of(
        st.floats(-bound, bound, width=width),
        st.floats(-3.0, 3.0, width=width),
        st.sampled_from([0.0, -0.0, 1.0, -1.0, bound, -bound]),
        st.floats(-big, big, width=width),
        st.sampled_from([inf, -inf, nan]),
    )


@st.composite
def shapes(draw, min_dims=0, max_dims=4):
    """Small shapes (0-d, empty, size 1), sometimes with one long axis."""
    shape = list(draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=5)))
    if shape and draw(st.integers(0, 5)) == 0:
        shape[draw(st.integers(0, len(shape) - 1))] = draw(st.sampled_from([33, 64, 257, 1100, 5000]))
    return tuple(shape)


@st.composite
def values(draw, shape, dtype, *, bound=None, special=True, lo=None, hi=None):
    """An array of ``shape`` and ``dtype`` (C order); floats adversarial, big arrays
    from a seeded generator (drawing 10**4 elements one by one is slow)."""
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    if dtype.kind == "b":
        return draw(hnp.arrays(dtype, shape)) if size <= 64 else np.random.default_rng(
            draw(st.integers(0, 2**32))).integers(0, 2, shape).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo_ = info.min if lo is None else max(math.ceil(lo), info.min)
        hi_ = info.max if hi is None else min(math.floor(hi), info.max)
        if size <= 64:
            return draw(hnp.arrays(dtype, shape, elements=st.integers(lo_, hi_)))
        rng = np.random.default_rng(draw(st.integers(0, 2**32)))
        return rng.integers(lo_, hi_, shape, endpoint=True, dtype=dtype)
    width = 32 if dtype.itemsize <= 4 else 64
    if bound is None:
        bound = {2: 10.0, 4: 80.0, 8: 700.0}[dtype.itemsize]
    lo_ = -bound if lo is None else lo
    hi_ = bound if hi is None else hi
    if width == 32:  # bounds hypothesis accepts for float32: representable, inside the range
        lo_ = float(np.nextafter(np.float32(lo_), np.float32(inf))) if float(np.float32(lo_)) < lo_ else float(np.float32(lo_))
        hi_ = float(np.nextafter(np.float32(hi_), np.float32(-inf))) if float(np.float32(hi_)) > hi_ else float(np.float32(hi_))
    if size <= 64:
        if lo is None and hi is None:
            el = float_elements(width, bound) if special else st.floats(-bound, bound, width=width)
        else:
            el = st.one_of(st.floats(lo_, hi_, width=width), st.sampled_from([lo_, hi_]))
            if special:
                el = st.one_of(el, st.sampled_from([nan, hi_ if hi is not None else inf]))
        with np.errstate(over="ignore"):
            return draw(hnp.arrays(np.float64 if width == 64 else np.float32, shape, elements=el)).astype(dtype)
    rng = np.random.default_rng(draw(st.integers(0, 2**32)))
    scale = draw(st.sampled_from([1.0, 3.0, bound]))
    a = np.clip(rng.standard_normal(shape) * scale, lo_, hi_)
    if special and draw(st.booleans()):
        k = draw(st.integers(1, 4))
        idx = rng.integers(0, size, k)
        a.flat[idx] = rng.choice([inf, -inf, nan, bound, -bound], k)
    with np.errstate(over="ignore"):
        return a.astype(dtype)


@st.composite
def layout(draw, a, *, allow_list=True):
    """The same values (or, for zero strides, values constant along one axis) in one
    of many memory layouts or Python/torch containers."""
    kinds = ["c", "f", "rev", "gapped", "readonly", "swap", "bcast"]
    if allow_list and 0 < a.size <= 16:  # (a list loses empty dims)
        kinds.append("list")
    if a.dtype.isnative and a.dtype.kind in "fiub" and a.dtype != np.uint64:
        kinds.append("torch")
    kind = draw(st.sampled_from(kinds))
    note(f"layout {kind} of {a.dtype} {a.shape}")
    if kind == "c" or a.ndim == 0 and kind in ("f", "rev", "gapped", "bcast"):
        if a.ndim == 0 and draw(st.booleans()):
            return a[()] if draw(st.booleans()) else a[()].item()  # NumPy / Python scalar
        return a
    if kind == "f":
        return np.asfortranarray(a)
    if kind == "rev":
        rev = tuple(slice(None, None, -1) for _ in a.shape)
        return a[rev].copy()[rev]
    if kind == "gapped":
        step = draw(st.sampled_from([2, 3, -2]))
        big = np.zeros(tuple(abs(step) * n for n in a.shape), dtype=a.dtype)
        if a.dtype.kind == "f":
            big[...] = nan  # a kernel that reads the gaps gives NaN
        view = big[tuple(slice(None, None, step) for _ in a.shape)]
        view[...] = a
        return view
    if kind == "readonly":
        r = a.copy()
        r.flags.writeable = False
        return r
    if kind == "swap":
        return a.astype(a.dtype.newbyteorder())
    if kind == "bcast":
        ax = draw(st.integers(0, a.ndim - 1))
        return np.broadcast_to(np.take(a, [0], axis=ax) if a.shape[ax] else a, a.shape)
    if kind == "list":
        return a.tolist()
    return torch.from_numpy(a.copy(order="C"))  # (np.ascontiguousarray makes 0-d 1-d)


@st.composite
def real_input(draw, shape, *, dtypes=GOOD_DTYPES, bad=0.03, **kw):
    """A real array argument of ``shape`` in some dtype and layout; with probability
    ``bad`` one of a refused dtype instead."""
    if draw(st.floats(0, 1)) < bad:
        if draw(st.integers(0, 6)) == 0:
            note("torch tensor that requires grad")
            return torch.full(shape, 0.5, dtype=torch.float64, requires_grad=True)
        dt = draw(st.sampled_from(BAD_DTYPES))
        base = np.full(shape, 0.5)
        if dt.kind == "c":
            a = (base + 1j).astype(dt)
        elif dt.kind == "U":
            a = np.full(shape, "ab", dtype=dt)
        elif dt.kind == "M":
            a = np.zeros(shape, dtype=dt)
        else:
            a = base.astype(dt)
        note(f"refused dtype {dt}")
        return a
    dt = draw(st.sampled_from(dtypes))
    return draw(layout(draw(values(shape, dt, **kw))))


def broadcast_shape_of(draw, shape, *, extra_dims=True):
    """A shape that broadcasts against ``shape`` (trailing dims, some set to 1)."""
    nd = draw(st.integers(0, len(shape)))
    s = tuple(1 if draw(st.booleans()) else n for n in shape[len(shape) - nd:])
    if extra_dims and draw(st.integers(0, 4)) == 0:
        s = (1,) + s  # (a leading 1 broadcasts whatever the other shapes)
    return s


def non_broadcast_shape(shape):
    """A shape that does not broadcast against ``shape`` (None if none is easy)."""
    for i in range(len(shape) - 1, -1, -1):
        if shape[i] not in (1,):
            return shape[:i] + (shape[i] + 1 if shape[i] != 0 else 2,) + shape[i + 1:]
    return None


def n_threads_arg(draw, faults):
    """``n_threads``: valid values, or (recorded in ``faults``) an invalid one."""
    if draw(st.integers(0, 12)) == 0:
        bad = draw(st.sampled_from([0, -1, 1.5, "2", np.float64(2.0), True]))
        faults.append((ValueError if bad in (0, -1) and not isinstance(bad, bool) else TypeError, "n_threads"))
        return bad
    return draw(st.sampled_from([None, None, 1, 2, 3, np.int64(2), 2**40]))


# ============================================================ the property: checking one call

def _exc_kind(exc):
    if isinstance(exc, crossent.LabelError) or isinstance(exc, ref.LabelError):
        return "label"
    if isinstance(exc, TypeError):
        return "type"
    if isinstance(exc, ValueError):
        return "value"
    return type(exc).__name__


def _with_thread_overrides(kwargs, n_threads):
    kw = dict(kwargs)
    if n_threads is not None:
        kw["n_threads"] = n_threads
    return kw


def _as_tuple(r):
    return r if isinstance(r, tuple) else (r,)


def _record_call(name, args, kwargs):
    """With CROSSENT_FUZZ_LAST=path, the call about to run is pickled there first, so
    that a crash (which kills this process) leaves its input behind. Arrays keep their
    exact strides (see replay_last_call)."""
    path = os.environ.get("CROSSENT_FUZZ_LAST")
    if not path:
        return
    import pickle

    def freeze(v):
        if isinstance(v, np.ndarray):
            return ("ndarray", np.array(v, copy=True), v.shape, v.strides, v.dtype, v.flags.writeable)
        if isinstance(v, tuple):
            return ("tuple", [freeze(i) for i in v])
        return ("value", v)

    with open(path, "wb") as f:
        pickle.dump((name, [freeze(a) for a in args], {k: freeze(v) for k, v in kwargs.items()}), f)
        f.flush()
        os.fsync(f.fileno())


def replay_last_call(path):
    """Rebuild the call recorded by _record_call (same values, shapes, strides, dtype,
    writeability) and return ``(name, args, kwargs)``."""
    import pickle

    def thaw(v):
        if v[0] == "ndarray":
            _, data, shape, strides, dtype, writeable = v
            lo = sum((n - 1) * s for n, s in zip(shape, strides) if s < 0 and n)
            hi = sum((n - 1) * s for n, s in zip(shape, strides) if s > 0 and n)
            buf = np.zeros((hi - lo) // max(dtype.itemsize, 1) + 1, dtype)
            a = np.lib.stride_tricks.as_strided(buf[-lo // dtype.itemsize:], shape, strides,
                                                writeable=True)
            if data.size:
                a[...] = data
            if not writeable:
                a.flags.writeable = False
            return a
        if v[0] == "tuple":
            return tuple(thaw(i) for i in v[1])
        return v[1]

    with open(path, "rb") as f:
        name, args, kwargs = pickle.load(f)
    return name, [thaw(a) for a in args], {k: thaw(v) for k, v in kwargs.items()}


def call_both(name, args, kwargs, *, n_threads=None, faults=(), crossent_only=False):
    """Call reference and crossent on the same objects. Returns ``(got, want)`` when
    both succeed; asserts the exception contract (and returns None) otherwise."""
    want_exc = got_exc = want = got = None
    if not crossent_only:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                want = getattr(ref, name)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the reference's refusal is the oracle
            want_exc = exc
    kw = _with_thread_overrides(kwargs, n_threads)
    _record_call(name, args, kw)
    with inputs_unchanged(*args, *(v for k, v in kw.items() if k != "out")):
        try:
            got = getattr(crossent, name)(*args, **kw)
        except Exception as exc:  # noqa: BLE001 - compared below
            got_exc = exc
    if got_exc is not None:
        note(f"crossent raised {type(got_exc).__name__}: {got_exc}")
    if want_exc is not None:
        note(f"reference raised {type(want_exc).__name__}: {want_exc}")
    expected = [(e, n) for e, n in faults]
    if want_exc is not None or expected:
        if got_exc is None:
            raise AssertionError(
                f"{name}: crossent returned where an exception was due "
                f"(reference: {want_exc!r}; faults: {expected})")
        kind = _exc_kind(got_exc)
        allowed = set()
        if want_exc is not None:
            allowed.add(_exc_kind(want_exc))
        for e, _ in expected:
            allowed.add({TypeError: "type", ValueError: "value"}[e])
        assert kind in allowed, (
            f"{name}: crossent raised {type(got_exc).__name__}({got_exc}); expected one of "
            f"{allowed} (reference: {want_exc!r}, faults: {expected})")
        assert str(got_exc), f"{name}: exception without a message"
        if len(expected) == 1 and want_exc is None:
            assert expected[0][1] in str(got_exc), (
                f"{name}: message {str(got_exc)!r} does not name {expected[0][1]!r}")
        return None
    if got_exc is not None:
        raise AssertionError(f"{name}: crossent raised {type(got_exc).__name__}: {got_exc} "
                             f"where the reference returned") from got_exc
    return got, want


def check_structure(name, got, want):
    """Same tuple structure, dtypes, shapes; NumPy scalars where the reference has them."""
    g, w = _as_tuple(got), _as_tuple(want)
    assert isinstance(got, tuple) == isinstance(want, tuple) and len(g) == len(w), (
        f"{name}: result structure {type(got)} vs {type(want)}")
    for i, (a, b) in enumerate(zip(g, w)):
        assert np.asarray(a).dtype == np.asarray(b).dtype, (
            f"{name}[{i}]: dtype {np.asarray(a).dtype}, reference {np.asarray(b).dtype}")
        assert np.shape(a) == np.shape(b), f"{name}[{i}]: shape {np.shape(a)}, reference {np.shape(b)}"
        if isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray), f"{name}[{i}]: {type(a)} where an array is due"
        else:
            assert isinstance(a, np.generic) and not isinstance(a, np.ndarray), (
                f"{name}[{i}]: {type(a)} where a NumPy scalar is due")


def compare(got, want, scale, k, what, mask=None):
    """NaN/inf pattern and ulps (at max(|want|, scale)) of one output."""
    dt = np.asarray(want).dtype
    g = np.asarray(got)
    w = np.asarray(want)
    if mask is not None:
        mask = np.broadcast_to(mask, w.shape)
        g, w = g[mask], w[mask]
        scale = np.broadcast_to(scale, mask.shape)[mask]
    assert_close_ulps(g, w.astype(np.float64), dt, k, scale, what)


def _fin(a):
    with np.errstate(all="ignore"):
        a = np.abs(np.asarray(a, dtype=np.float64))
    return np.where(np.isfinite(a), a, 0.0)


def _f64(v):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.asarray(np.asarray(v), dtype=np.float64)


def _as_dtype(v, dt):
    """``v`` rounded to the computation dtype ``dt``, in float64 (as both sides see it)."""
    with np.errstate(all="ignore"):
        return np.asarray(np.asarray(v).astype(dt), dtype=np.float64)


def _reduced_scale(terms, reduction, divisor=None):
    """R of a reduction of elementwise terms: their magnitudes summed (and divided)."""
    terms = _fin(terms)
    if reduction == "none":
        return terms
    s = min(float(np.sum(terms)), np.finfo(np.float64).max)  # (terms near overflow)
    if reduction == "sum":
        return s
    n = terms.size if divisor is None else divisor
    return s / n if n else 0.0


def _k_sum(n):
    """Ulps of a pairwise sum of n terms, on top of each term's own error."""
    return 8 + 2 * math.log2(max(n, 2))


# ================================================================== primitives

def axis_arg(draw, ndim, faults, *, allow_tuple=True):
    """A valid axis (None, int, negative, tuple) or a faulty one (noted in faults)."""
    r = draw(st.integers(0, 14))
    if r == 0:
        bad = draw(st.sampled_from([1.0, "0", [0], np.float64(0.0), (0, 0.5)]))
        faults.append((TypeError, "axis"))
        return bad
    if r == 1:
        nd = max(ndim, 1)  # a 0-d input takes axis 0 and -1 as one element (SciPy)
        bad = draw(st.sampled_from([nd, -nd - 1, 2**62, -(2**62), nd + 5]))
        faults.append((ValueError, "axis"))
        return bad
    if r == 2 and ndim >= 1 and allow_tuple:
        a = draw(st.integers(0, ndim - 1))
        faults.append((ValueError, "axis"))
        return (a, a - ndim)
    choices = [st.none()]
    if ndim:
        choices.append(st.integers(-ndim, ndim - 1))
        if allow_tuple:
            choices.append(st.lists(st.integers(0, ndim - 1), max_size=ndim, unique=True).flatmap(
                lambda ax: st.tuples(*[st.sampled_from([a, a - ndim, np.int64(a)]) for a in ax])))
    return draw(st.one_of(*choices))


def out_case(draw, name, elementwise):
    """How to pass ``out=``: None, a fresh or strided array, in place, or a faulty one."""
    modes = ["none"] * 6 + ["fresh", "strided", "wrong_dtype", "wrong_shape", "readonly", "not_array"]
    if elementwise:
        modes += ["inplace", "inplace", "overlap"]
    return draw(st.sampled_from(modes))


def make_out(mode, want, x):
    """The ``out`` array for ``mode`` and the reference result ``want``, and the fault
    it should raise (or None)."""
    w = np.asarray(_as_tuple(want)[0])
    if mode == "fresh":
        return np.full(w.shape, nan, w.dtype), None
    if mode == "strided":
        big = np.full(tuple(2 * n for n in w.shape), nan, w.dtype)
        return big[(Ellipsis,) + tuple(slice(None, None, -2) for _ in w.shape)], None
    if mode == "wrong_dtype":
        return np.empty(w.shape, F32 if w.dtype == F64 else F64), (TypeError, "out")
    if mode == "wrong_shape":
        return np.empty(w.shape + (2,), w.dtype), (ValueError, "out")
    if mode == "readonly":
        o = np.empty(w.shape, w.dtype)
        o.flags.writeable = False
        return o, (ValueError, "out")
    if mode == "not_array":
        return [0.0] * max(w.size, 1), (TypeError, "out")
    raise AssertionError(mode)


def run_primitive(name, args, kwargs, faults, n_threads, out_mode, scale_fn, k=8, in_place_ok=False):
    """One primitive call with optional ``out=``: contract, structure, values."""
    res = call_both(name, args, kwargs, n_threads=n_threads, faults=faults)
    if res is None:
        return
    got, want = res
    check_structure(name, got, want)
    scales = scale_fn(want)
    for i, (g, w, s) in enumerate(zip(_as_tuple(got), _as_tuple(want), scales)):
        if s is not None:
            compare(g, w, s, k, f"{name}[{i}]")
    if out_mode == "none":
        return
    x = args[0]
    kw = _with_thread_overrides(kwargs, n_threads)
    if out_mode in ("inplace", "overlap"):
        if not (in_place_ok and isinstance(x, np.ndarray) and x.dtype == np.asarray(_as_tuple(want)[0]).dtype
                and x.dtype.isnative and x.flags.writeable and x.shape == np.shape(_as_tuple(want)[0])
                and x.size > 1 and 0 not in x.strides):
            return
        if out_mode == "inplace":
            buf = x.copy()
            r = getattr(crossent, name)(buf, *args[1:], out=buf, **kw)
            assert r is buf, f"{name}: out= did not return out"
            compare(buf, want, scales[0], k, f"{name} in place")
            return
        # partial overlap: out shifted by one element against x
        flat = np.empty(x.size + 1, x.dtype)
        xs = flat[:-1].reshape(x.shape)
        xs[...] = x
        o = flat[1:].reshape(x.shape)
        with pytest.raises(ValueError, match="out|overlap"):
            getattr(crossent, name)(xs, *args[1:], out=o, **kw)
        return
    out, fault = make_out(out_mode, want, x)
    if fault is not None:
        with inputs_unchanged(*args), pytest.raises((TypeError, ValueError), match="out"):
            getattr(crossent, name)(*args, out=out, **kw)
        return
    with inputs_unchanged(*args):
        r = getattr(crossent, name)(*args, out=out, **kw)
    first = r[0] if isinstance(r, tuple) else r
    assert first is out, f"{name}: out= did not return out"
    compare(out, _as_tuple(want)[0], scales[0], k, f"{name} out=")
    if isinstance(r, tuple):
        compare(r[1], want[1], 0.0, 0, f"{name} out= sign")


def _lse_scale(a, axis, keepdims, b, want):
    """R of each logsumexp output: largest |a + log|b|| of the slice and |result|."""
    a64 = np.atleast_1d(_f64(a))
    b64 = None if b is None else _f64(b)
    if b64 is not None and b64.ndim > a64.ndim:
        a64 = np.broadcast_to(a64, np.broadcast_shapes(a64.shape, b64.shape))
    if b64 is not None:
        a64 = np.broadcast_to(a64, np.broadcast_shapes(a64.shape, b64.shape))
    ax = tuple(range(a64.ndim)) if axis is None else axis
    if isinstance(ax, tuple):
        ax = tuple(int(i) for i in ax)
    else:
        ax = int(ax)
    r = row_scale(a64, axis=ax, keepdims=keepdims, b=b64, extra=[])
    return np.maximum(np.reshape(r, np.shape(want)) if np.size(r) == np.size(want) else r, _fin(want))


@given(data=st.data())
@settings(max_examples=n_examples(120))
def test_fuzz_logsumexp(data):
    draw = data.draw
    faults = []
    a = draw(real_input(draw(shapes())))
    shape = np.shape(a)
    b = None
    signed = False
    r = draw(st.integers(0, 3))
    if r == 1:
        b = draw(real_input(broadcast_shape_of(draw, shape), lo=0.0, hi=4.0,
                            dtypes=[F64, F32, np.dtype(np.int32), np.dtype(np.bool_)]))
    elif r == 2:
        signed = True
        b = draw(real_input(broadcast_shape_of(draw, shape), lo=-3.0, hi=3.0, special=False,
                            dtypes=[F64, F32, np.dtype(np.int8)]))
    elif r == 3 and non_broadcast_shape(shape) is not None:
        b = np.ones(non_broadcast_shape(shape))
        faults.append((ValueError, "b"))
    # SciPy's logsumexp takes 0-d input as 1-d; b may add leading dims
    nd = max(len(shape), 1, len(np.shape(b)) if b is not None and not faults else 0)
    axis = axis_arg(draw, nd, faults)
    keepdims = draw(st.booleans())
    return_sign = signed or draw(st.booleans())
    n_threads = n_threads_arg(draw, faults)
    out_mode = draw(st.sampled_from(["none"] * 5 + ["fresh", "strided", "wrong_dtype", "wrong_shape", "readonly"]))
    kwargs = dict(axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)

    def scales(want):
        w0 = _as_tuple(want)[0]
        R = _lse_scale(a, axis, keepdims, b, w0)
        if signed:
            return [None, None]  # checked below where the sum is well conditioned
        return [R, 0.0] if return_sign else [R]

    run_primitive("logsumexp", (a,), kwargs, faults, n_threads, out_mode, scales)
    if signed and not faults:
        res = call_both("logsumexp", (a,), kwargs, n_threads=n_threads)
        if res is None:
            return
        (g, gs), (w, ws) = res
        wabs = quiet(ref.logsumexp, a, axis=axis, b=np.abs(_f64(b)), keepdims=keepdims)
        with np.errstate(all="ignore"):
            cancel = _f64(wabs) - _f64(w)
        nan_in = np.isnan(_f64(wabs))
        good = ~nan_in & (~np.isfinite(_f64(wabs)) | (np.isfinite(cancel) & (cancel <= 1.0)))
        R = np.maximum(_lse_scale(a, axis, keepdims, b, w), _fin(wabs))
        compare(g, w, R, 24, "signed logsumexp", mask=good)
        compare(gs, ws, 0.0, 0, "signed logsumexp sign", mask=good)


def _softmax_scales(name, x, axis, want):
    x64 = _f64(x)
    if x64.size == 0:
        return [0.0]
    lse = _f64(quiet(ref.logsumexp, x64, axis=axis, keepdims=True))
    r = row_scale(np.atleast_1d(x64), axis=axis, keepdims=True)
    r = np.maximum(r, _fin(np.reshape(lse, np.shape(r))))
    R = np.reshape(np.broadcast_to(r, np.atleast_1d(x64).shape), np.shape(want))
    if name == "softmax":
        with np.errstate(all="ignore"):
            return [_fin(want) * np.maximum(R, 1.0)]  # relative: exp of an absolute error
    return [R]


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data())
@settings(max_examples=n_examples(80))
def test_fuzz_softmax_like(name, data):
    draw = data.draw
    faults = []
    x = draw(real_input(draw(shapes())))
    axis = axis_arg(draw, np.ndim(x), faults)
    n_threads = n_threads_arg(draw, faults)
    out_mode = out_case(draw, name, True)
    run_primitive(name, (x,), dict(axis=axis), faults, n_threads, out_mode,
                  lambda want: _softmax_scales(name, x, axis, want), in_place_ok=True)


@given(data=st.data())
@settings(max_examples=n_examples(60))
def test_fuzz_log_expit(data):
    draw = data.draw
    faults = []
    x = draw(real_input(draw(shapes())))
    n_threads = n_threads_arg(draw, faults)
    out_mode = out_case(draw, "log_expit", True)

    def scales(want):
        return [np.maximum(_fin(np.minimum(_f64(x), 0.0)), _fin(want))]

    run_primitive("log_expit", (x,), {}, faults, n_threads, out_mode, scales, in_place_ok=True)


@given(data=st.data())
@settings(max_examples=n_examples(80))
def test_fuzz_norm_logpdf(data):
    draw = data.draw
    faults = []
    shape = draw(shapes())
    x = draw(real_input(shape, bound=2.0**20))
    args = [x]
    how = draw(st.integers(0, 4))  # 0-2 positional, 3 keywords, 4 the defaults
    for role in ("loc", "scale") if how != 4 else ():
        r = draw(st.integers(0, 9))
        if r <= 2:
            v = draw(st.sampled_from([0.0, 1.0, -2.5, 1e-300, 1e300, inf, nan, 3]))
        elif r <= 8:
            lo = None if role == "loc" else draw(st.sampled_from([-1.0, 0.0, 1e-3]))
            v = draw(real_input(broadcast_shape_of(draw, shape), lo=lo, hi=None if role == "loc" else 50.0))
        else:
            bad = non_broadcast_shape(shape)
            if bad is None:
                v = 1.0
            else:
                v = np.ones(bad)
                faults.append((ValueError, role))
        args.append(v)
    kwargs = {}
    if how == 3:
        kwargs = dict(loc=args[1], scale=args[2])
        args = args[:1]
    n_threads = n_threads_arg(draw, faults)
    out_mode = out_case(draw, "norm_logpdf", True)
    args = tuple(args)

    def scales(want):
        loc = kwargs.get("loc", args[1] if len(args) > 1 else 0.0)
        sc = kwargs.get("scale", args[2] if len(args) > 2 else 1.0)
        dt = np.asarray(want).dtype
        x64, l64, s64 = (_as_dtype(v, dt) for v in (x, loc, sc))
        with np.errstate(all="ignore"):
            z = (x64 - l64) / s64
            R = np.maximum(np.maximum(_fin(0.5 * z * z), _fin(np.log(np.abs(s64)))), HALF_LOG_2PI)
        return [np.broadcast_to(np.maximum(R, _fin(want)), np.shape(want))]

    run_primitive("norm_logpdf", args, kwargs, faults, n_threads, out_mode, scales, in_place_ok=True)


# ================================================================== losses: common parts

REDUCTIONS = ["mean", "sum", "none"]
LABEL_DTYPES = [np.dtype(t) for t in (np.int64, np.int64, np.int32, np.int8, np.int16, np.uint8,
                                      np.uint16, np.uint32, np.uint64, ">i8", np.intp)]


def reduction_arg(draw, faults, allowed=REDUCTIONS):
    if draw(st.integers(0, 15)) == 0:
        faults.append((ValueError, "reduction"))
        return draw(st.sampled_from(["avg", "MEAN", None, "batchmean" if "batchmean" not in allowed else "x"]))
    return draw(st.sampled_from(allowed))


def bool_arg(draw, faults, name):
    if draw(st.integers(0, 20)) == 0:
        faults.append((TypeError, name))
        return draw(st.sampled_from([1, "yes", None, 0.0]))
    return draw(st.booleans())


def loss_dtype(x):
    dt = np.asarray(x).dtype
    return F64 if dt.kind in "biu" or dt.itemsize == 8 else F32


def _sum_back(a, shape):
    """Sum an array of a broadcast shape back to ``shape`` (as autograd does)."""
    a = np.asarray(a, dtype=np.float64)
    lead = a.ndim - len(shape)
    a = np.sum(a, axis=tuple(range(lead))) if lead > 0 else a
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and a.shape[i] != 1)
    return np.sum(a, axis=axes, keepdims=True).reshape(shape) if axes else a.reshape(shape)


def check_loss(name, got, want, scales, ks, masks=None):
    check_structure(name, got, want)
    for i, (g, w) in enumerate(zip(_as_tuple(got), _as_tuple(want))):
        m = None if masks is None else masks[i]
        compare(g, w, np.maximum(_fin(scales[i]), 0.0), ks[i], f"{name}[{i}]", mask=m)


def _ref_overflow_mask(got, want, inputs):
    """Where the reference subtracts two overflowed terms (inf - inf = NaN) although
    no input is NaN, crossent gives the signed infinity of the limit (API.md:
    finite/exact where a peer overflows): those elements are not compared."""
    if any(np.isnan(_f64(v)).any() for v in inputs if v is not None and not isinstance(v, str)):
        return None
    g, w = _f64(got), _f64(want)
    # (and where the reference overflows in an intermediate term of a result near the
    # largest float: there crossent gives the finite value)
    huge = np.abs(g) > 1e300 if np.asarray(got).dtype == F64 else np.abs(g) > 1e37
    near_max = np.isinf(w) & np.isfinite(g) & huge
    return ~(np.isnan(w) & huge) & ~near_max


# ================================================================== class-axis losses

@st.composite
def class_loss_case(draw, name):
    faults = []
    shape = draw(shapes(min_dims=0 if draw(st.integers(0, 30)) == 0 else 1, max_dims=4))
    nd = len(shape)
    x = draw(real_input(shape))
    axis = None
    if draw(st.booleans()):
        axis = axis_arg(draw, nd, faults, allow_tuple=False)
    kw = {}
    if axis is not None or draw(st.booleans()):
        kw["axis"] = axis
    cax = None
    if nd >= 1:  # (the class axis of torch's rule where the axis given is faulty)
        cax = (0 if nd == 1 else 1) if axis is None or faults else int(axis) % nd
    C = shape[cax] if cax is not None else 2
    tshape = shape[:cax] + shape[cax + 1:] if cax is not None else ()
    ignore_index = -100
    r = draw(st.integers(0, 5))
    if r == 1:
        ignore_index = draw(st.sampled_from([0, C - 1, C, -1, 2**62, -(2**63), 2**64, np.int64(1), np.uint8(0)]))
        kw["ignore_index"] = ignore_index
    elif r == 2 and draw(st.integers(0, 3)) == 0:
        kw["ignore_index"] = draw(st.sampled_from([1.5, None, "1", True]))
        faults.append((TypeError, "ignore_index"))
    kind = draw(st.sampled_from(["index"] * 4 + (["prob"] * 2 if name == "cross_entropy" else []) + ["bad"]))
    if kind == "index":
        ldt = draw(st.sampled_from(LABEL_DTYPES))
        t = draw(values(tshape, ldt.newbyteorder("=") if not ldt.isnative else ldt, lo=0, hi=max(C - 1, 0)))
        if not ldt.isnative:
            t = t.astype(ldt)
        if t.size and draw(st.booleans()):  # sprinkle ignored and out-of-range labels
            flat = t.reshape(-1).copy()
            for _ in range(draw(st.integers(1, 3))):
                i = draw(st.integers(0, flat.size - 1))
                v = draw(st.sampled_from([ignore_index, ignore_index, C, -1, 2**62, 2**63 + 5, -(2**40)]))
                if isinstance(v, (int, np.integer)) and np.can_cast(np.min_scalar_type(v), flat.dtype) or (
                        isinstance(v, (int, np.integer)) and np.iinfo(flat.dtype).min <= int(v) <= np.iinfo(flat.dtype).max):
                    flat[i] = v
            t = flat.reshape(t.shape)
        t = draw(layout(t)) if t.ndim else (t if draw(st.booleans()) else t[()])
    elif kind == "prob":
        tdt = draw(st.sampled_from([F64, F32, F16]))
        mode = draw(st.integers(0, 2))
        if mode == 0 and math.prod(shape) and cax is not None:
            rng = np.random.default_rng(draw(st.integers(0, 2**32)))
            t = np.moveaxis(rng.dirichlet(np.ones(C), size=tshape), -1, cax).astype(tdt)
        else:
            t = draw(values(shape, tdt, lo=0.0, hi=1.0) if mode == 1 else values(shape, tdt))
        t = draw(layout(t))
    else:
        b = draw(st.integers(0, 4))
        if b == 0:
            t = np.zeros(tshape, bool)
            faults.append((TypeError, "target"))
        elif b == 1:
            t = np.full(tshape, "a")
            faults.append((TypeError, "target"))
        elif b == 2 and name == "nll_loss":
            t = np.zeros(tshape)
            faults.append((TypeError, "target"))
        else:
            t = np.zeros(tshape + (2,), np.int64)
            faults.append((ValueError, "target"))
    r = draw(st.integers(0, 6))
    w = None
    if r in (1, 2, 3):
        w = draw(real_input((C,), lo=0.0, hi=3.0, special=r == 3, dtypes=[F64, F32, np.dtype(np.int32)]))
        if r == 2 and draw(st.booleans()):
            w = draw(real_input((C,), lo=-2.0, hi=2.0, special=False, dtypes=[F64, F32]))
    elif r == 4:
        w = np.ones((C + 1,))
        faults.append((ValueError, "weight"))
    if w is not None or draw(st.booleans()):
        if draw(st.booleans()):
            kw["weight"] = w
            args = (x, t)
        else:
            args = (x, t, w)
    else:
        args = (x, t)
    kw["reduction"] = reduction_arg(draw, faults)
    if name == "cross_entropy":
        r = draw(st.integers(0, 8))
        if r in (1, 2):
            kw["label_smoothing"] = draw(st.sampled_from([0.1, 0.5, 1.0, 1e-300, np.float32(0.25)]))
        elif r == 3:
            kw["label_smoothing"] = draw(st.floats(0.0, 1.0))
        elif r == 4 and draw(st.booleans()):
            kw["label_smoothing"] = draw(st.sampled_from([-0.1, 1.5, nan, inf]))
            faults.append((ValueError, "label_smoothing"))
        elif r == 5 and draw(st.booleans()):
            kw["label_smoothing"] = draw(st.sampled_from(["0.1", True, None]))
            faults.append((TypeError, "label_smoothing"))
    kw["return_grad"] = bool_arg(draw, faults, "return_grad")
    n_threads = n_threads_arg(draw, faults)
    return args, kw, faults, n_threads


def class_loss_scales(name, args, kw, want):
    """R of the loss (per row, or of the reduction) and of the gradient (per row)."""
    x, t = args[0], args[1]
    w = kw.get("weight", args[2] if len(args) > 2 else None)
    dt = np.asarray(_as_tuple(want)[0]).dtype
    x64 = _as_dtype(x, dt)
    nd = x64.ndim
    axis = kw.get("axis")
    cax = (0 if nd == 1 else 1) if axis is None else int(axis) % nd
    xr = np.moveaxis(x64, cax, -1)
    C = xr.shape[-1]
    w64 = np.ones(C) if w is None else _as_dtype(w, dt)
    eps = float(kw.get("label_smoothing", 0.0))
    reduction = kw["reduction"]
    with np.errstate(all="ignore"):
        lse = _f64(quiet(ref.logsumexp, xr, axis=-1, keepdims=True)) if xr.size else np.zeros(xr.shape[:-1] + (1,))
        R = np.maximum(np.max(_fin(xr), axis=-1, initial=0.0), _fin(lse[..., 0]))
        tt = np.asarray(t)
        if tt.dtype.kind in "iu":
            ii = kw.get("ignore_index", -100)
            valid = ~_int_equal(tt, ii)  # NumPy < 2.2 can crash on tt != huge int
            lab = np.where(valid, tt, 0).astype(np.int64)
            wy = np.where(valid, w64[lab], 0.0)
            if name == "nll_loss":
                xy = np.take_along_axis(xr, lab[..., None], axis=-1)[..., 0]
                row = _fin(wy * xy) * valid
                gcoef = np.abs(wy)
            else:
                row = 2 * R * (np.abs(wy) * (1 - eps) + eps / C * np.sum(np.abs(w64))) * valid
                gcoef = (np.abs(wy) + 2 * eps / C * np.sum(np.abs(w64))) * valid
            W = float(np.sum(wy))
            if reduction == "mean":
                s = 1.0 / abs(W) if W else 0.0
                lr = float(np.sum(row)) * s + abs(float(_f64(_as_tuple(want)[0]))) * float(np.sum(np.abs(wy))) * s
            else:
                s = 1.0
                lr = float(np.sum(row)) if reduction == "sum" else row
        else:
            tp = np.moveaxis(_as_dtype(t, dt), cax, -1) * (1 - eps) + eps / C
            wt = _fin(tp * w64)
            row = 2 * R * np.sum(wt, axis=-1)
            gcoef = 2 * np.sum(wt, axis=-1)
            n = row.size
            s = 1.0 / n if (reduction == "mean" and n) else 1.0
            lr = float(np.sum(row)) * s if reduction != "none" else row
        g = np.moveaxis(np.broadcast_to((gcoef * s)[..., None], xr.shape), -1, cax)
    N = max(int(np.size(row)), 1)
    # a gradient holds sums over the row (the weight mass W of probability targets,
    # the smoothing mass): their pairwise-sum error on top
    return [lr, g], [_k_sum(N) if reduction != "none" else 8, _k_sum(C)]


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@given(data=st.data())
@settings(max_examples=n_examples(150))
def test_fuzz_class_losses(name, data):
    args, kw, faults, n_threads = data.draw(class_loss_case(name))
    res = call_both(name, args, kw, n_threads=n_threads, faults=faults)
    if res is None:
        return
    got, want = res
    scales, ks = class_loss_scales(name, args, kw, want)
    check_loss(name, got, want, scales, ks)


# ================================================================== elementwise losses

def side_arg(draw, shape, faults, name, *, lo=None, hi=None, special=True, same_shape=False):
    """A side array broadcastable to (or of) ``shape``, or a faulty one."""
    if draw(st.integers(0, 12)) == 0 and non_broadcast_shape(shape) is not None:
        faults.append((ValueError, name))
        return np.ones(non_broadcast_shape(shape))
    s = shape if same_shape else broadcast_shape_of(draw, shape, extra_dims=False)
    return draw(real_input(s, lo=lo, hi=hi, special=special))


def _softplus(z):
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def _sigmoid(z):
    return np.exp(-_softplus(-z))


def elementwise_scales(name, args, kw, want):
    """Per-element R of the loss terms and gradients, reduced as the loss is."""
    dt = np.asarray(_as_tuple(want)[0]).dtype
    x = _as_dtype(args[0], dt)
    t = _as_dtype(kw.get("target", args[1]), dt)
    reduction = kw.get("reduction", "mean")
    n = x.size
    div = None
    with np.errstate(all="ignore"):
        if name == "binary_cross_entropy_with_logits":
            w = np.broadcast_to(_as_dtype(kw["weight"], dt), x.shape) if kw.get("weight") is not None else 1.0
            p = np.broadcast_to(_as_dtype(kw["pos_weight"], dt), x.shape) if kw.get("pos_weight") is not None else 1.0
            T = np.abs(w) * np.maximum(_fin(p * t) * _softplus(-x), _fin(1 - t) * _softplus(x))
            G = [np.abs(w) * np.maximum(_fin(1 - t), _fin(p * t))]
        elif name == "kl_div":
            if kw.get("log_target"):
                T = np.exp(t) * (_fin(t) + _fin(x))
                G = [np.exp(t)]
            else:
                T = _fin(t * np.log(t)) + _fin(t * x)
                G = [np.abs(t)]
            if reduction == "batchmean":
                div = x.shape[0] if x.ndim else 1
        elif name in BROADCAST_WEIGHTED:
            return _l1_family_scales(name, args, kw, want)
        elif name == "poisson_nll_loss":
            eps = float(np.asarray(kw.get("eps", 1e-8), dtype=dt))
            if kw.get("log_input", True):
                terms = [np.exp(x), np.abs(t * x)]
                G = [np.maximum(_fin(np.exp(x)), _fin(t))]
            else:
                terms = [np.abs(x), np.abs(t * np.log(x + eps))]
                G = [np.maximum(1.0, _fin(t / (x + eps)))]
            if kw.get("full"):
                terms += [np.abs(t * np.log(t)), np.abs(t), np.abs(0.5 * np.log(2 * np.pi * t))]
            T = np.zeros(x.shape)
            for a in terms:
                T = np.maximum(T, _fin(a))
        elif name == "gaussian_nll_loss":
            v = _as_dtype(args[2] if len(args) > 2 else kw["var"], dt)
            vb = v if v.ndim == 0 or v.shape == x.shape else (
                v[..., None] if v.shape == x.shape[:-1] else v)
            vb = np.broadcast_to(vb, x.shape)
            eps = float(np.asarray(kw.get("eps", 1e-6), dtype=dt))
            vc = np.maximum(vb, eps)
            r = x - t
            hq = _fin(0.5 * r * r / vc)
            T = np.maximum(np.maximum(_fin(0.5 * np.log(vc)), hq), HALF_LOG_2PI if kw.get("full") else 0.0)
            gv = np.maximum(_fin(0.5 / vc), _fin(hq / vc))
            if v.ndim == 0:
                gvs = np.sum(gv)
            elif v.shape == x.shape:
                gvs = gv
            elif v.shape == x.shape[:-1]:
                gvs = np.sum(gv, axis=-1)
            else:
                gvs = _sum_back(gv, v.shape)
            G = [_fin(r / vc), gvs]
        else:
            raise AssertionError(name)
    N = n if div is None else div
    s = (1.0 / N if N else 0.0) if reduction in ("mean", "batchmean") else 1.0
    L = _reduced_scale(T, "sum" if reduction == "batchmean" else reduction, None)
    if reduction == "batchmean":
        L = L / div if div else 0.0
    scales = [L] + [_fin(g) * s for g in G]
    ks = [_k_sum(n) if reduction != "none" else 8] + [8] * len(G)
    return scales, ks


# mse_loss, l1_loss, smooth_l1_loss, huber_loss and binary_cross_entropy: elementwise
# weights; the first four broadcast input and target (binary_cross_entropy: equal shapes)
BROADCAST_WEIGHTED = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy")
# torch's weighted "mean": sum(w l) / sum(w) (huber_loss and binary_cross_entropy: / n)
WEIGHT_MEAN = ("mse_loss", "l1_loss")


def _l1_family_scales(name, args, kw, want):
    """R of the terms and gradients of the BROADCAST_WEIGHTED losses: per element of
    the broadcast shape, times |w|, reduced as the loss is (the gradient summed back to
    input's shape)."""
    dt = np.asarray(_as_tuple(want)[0]).dtype
    x0 = _as_dtype(args[0], dt)
    t0 = _as_dtype(args[1], dt)
    shape = np.broadcast_shapes(x0.shape, t0.shape)
    x, t = np.broadcast_to(x0, shape), np.broadcast_to(t0, shape)
    n = math.prod(shape)
    reduction = kw.get("reduction", "mean")
    w0 = None if kw.get("weight") is None else _as_dtype(kw["weight"], dt)
    with np.errstate(all="ignore"):
        r = x - t
        a = np.abs(r)
        if name == "mse_loss":
            T, G = r * r, 2 * a
        elif name == "l1_loss":
            T, G = a, np.ones(shape)
        elif name == "smooth_l1_loss":
            beta = float(np.asarray(kw.get("beta", 1.0), dtype=dt))
            if beta == 0:
                T, G = a, np.ones(shape)
            else:
                T, G = np.maximum(a, _fin(r * r / beta)), np.maximum(1.0, _fin(a / beta))
        elif name == "huber_loss":
            delta = float(np.asarray(kw.get("delta", 1.0), dtype=dt))
            T, G = np.maximum(_fin(0.5 * r * r), _fin(delta * a)), np.maximum(a, delta)
        else:  # binary_cross_entropy
            T = np.maximum(np.minimum(_fin(np.log(x)), 100.0), np.minimum(_fin(np.log1p(-x)), 100.0))
            G = _fin((x - t) / np.maximum(x * (1.0 - x), float(np.float32(1e-12))))
        T, G = _fin(T), _fin(G)
        if w0 is not None:
            wb = np.abs(np.broadcast_to(w0, shape))
            T, G = _fin(T * wb), _fin(G * wb)
    m = n // max(x0.size, 1)  # terms summed into one gradient element
    kg = 8 + 2 * math.log2(max(2, m))
    if reduction == "mean" and w0 is not None and name in WEIGHT_MEAN:
        # sum(w l) / sum(w): the numerator's and the divisor's rounding (relative to
        # sum |w|), at |sum w|
        W = abs(float(np.sum(w0)))
        Wa = float(np.sum(np.abs(w0)))
        if not W or not n:
            return [0.0, np.zeros(x0.shape)], [8, 8]
        wv = _fin(_as_tuple(want)[0])
        L = min(float(np.sum(T)), np.finfo(np.float64).max) / W + float(wv) * Wa / W
        Gs = _sum_back(G, x0.shape) / W * (1.0 + Wa / W)
        return [L, Gs], [_k_sum(n), kg + _k_sum(x0.size)]
    s = (1.0 / n if n else 0.0) if reduction == "mean" else 1.0
    return [_reduced_scale(T, reduction), _sum_back(G * s, x0.shape)], [_k_sum(n) if reduction != "none" else 8, kg]


def _prob_fault(v, dt):
    """Whether ``v``, as the loss computes with it (rounded to ``dt``), holds a value
    outside [0, 1] or NaN (False where it is not a real array at all)."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            a = np.asarray(v)
            if a.dtype.kind not in "fiub" or a.dtype.itemsize > 8:
                return False
            a = a.astype(dt).astype(np.float64)
    except Exception:  # noqa: BLE001 - a tensor that requires grad: a TypeError anyway
        return False
    return not bool(np.all((a >= 0) & (a <= 1)))


def _refused(v):
    """Whether ``v`` is an argument of a refused type (a dtype no loss takes, a tensor
    that requires grad): a TypeError, whichever other fault the call has."""
    if isinstance(v, torch.Tensor):
        return v.requires_grad
    if isinstance(v, np.ndarray):
        return v.dtype.kind not in "fiub" or v.dtype.itemsize > 8
    return False


def probability_input(draw, shape):
    """Probabilities in [0, 1] (0 and 1 included), sometimes values outside or NaN."""
    r = draw(st.integers(0, 19))
    if r == 0:
        return draw(real_input(shape, lo=-0.5, hi=1.5, special=draw(st.booleans())))
    if r == 1:
        return draw(real_input(shape, lo=0.0, hi=1.0, special=True))  # (NaN among them)
    if r == 2:
        return draw(real_input(shape, lo=0.0, hi=1.0, special=False, dtypes=[np.dtype(np.bool_)]))
    return draw(real_input(shape, lo=0.0, hi=1.0, special=False))


def weight_of_input_shape(draw, shape, faults):
    """mse_loss / l1_loss / huber_loss: ``weight`` of input's shape, or (a fault) of
    another shape, broadcastable or not."""
    if draw(st.integers(0, 12)) == 0:
        bad = [shape + (1,), (2,) + shape]
        if shape:
            bad.append(shape[1:])
            i = draw(st.integers(0, len(shape) - 1))
            bad.append(shape[:i] + (1 if shape[i] != 1 else 2,) + shape[i + 1:])
        faults.append((ValueError, "weight"))
        return np.ones(draw(st.sampled_from(bad)))
    lo = -1.0 if draw(st.integers(0, 3)) == 0 else 0.0
    return draw(real_input(shape, lo=lo, hi=4.0, special=draw(st.booleans())))


def threshold_arg(draw, faults, name):
    """``beta`` (>= 0) of smooth_l1_loss or ``delta`` (> 0) of huber_loss, or a faulty one."""
    r = draw(st.integers(0, 12))
    if r == 0:
        faults.append((TypeError, name))
        return draw(st.sampled_from(["1.0", None, True, 1j, np.bool_(False)]))
    if r == 1:
        bad = draw(st.sampled_from([-1.0, -1e-30, nan, -inf, -2] + ([0.0, -0.0, 0] if name == "delta" else [])))
        faults.append((ValueError, name))
        return bad
    good = [1.0, 0.5, 2.5, 1e-3, 1e-300, 1e300, 3, np.float32(0.25), np.float64(4.0), np.int64(2)]
    good += [inf]  # (a fuzz finding: test_smooth_l1_loss_infinite_beta)
    if name == "beta":
        good += [0.0, 0]  # (beta == 0 is l1_loss)
    return draw(st.one_of(st.sampled_from(good), st.floats(1e-6, 1e3)))


@st.composite
def elementwise_case(draw, name):
    faults = []
    shape = draw(shapes(min_dims=0, max_dims=4))
    tshape = shape
    if name in BROADCAST_WEIGHTED and name != "binary_cross_entropy" and draw(st.integers(0, 3)) == 0:
        # input and target broadcast against each other (either one the larger)
        if draw(st.booleans()):
            tshape = broadcast_shape_of(draw, shape)
        else:
            shape, tshape = broadcast_shape_of(draw, shape), shape
    if name == "binary_cross_entropy":
        x = probability_input(draw, shape)
    else:
        x = draw(real_input(shape, bound=200.0 if name == "poisson_nll_loss" else None))
    kw = {}
    if draw(st.integers(0, 15)) == 0:
        tshape = shape + (2,) if draw(st.booleans()) or not shape else shape[:-1]
        if name not in ("binary_cross_entropy_with_logits", "binary_cross_entropy"):
            # the others broadcast input and target (as torch; tests/test_broadcast_targets.py):
            # a shape that does not broadcast is the fault here
            tshape = non_broadcast_shape(shape)
        if tshape is None:
            tshape = shape
        else:
            faults.append((ValueError, "target"))
    if name == "poisson_nll_loss" and draw(st.booleans()):
        t = draw(real_input(tshape, lo=0.0, hi=50.0))
    elif name == "kl_div" and draw(st.booleans()):
        t = draw(real_input(tshape, lo=0.0, hi=1.0))
    elif name == "binary_cross_entropy":
        t = probability_input(draw, tshape)
    else:
        t = draw(real_input(tshape))
    args = (x, t)
    if name == "binary_cross_entropy":
        dt = F64 if _refused(x) or np.asarray(x).dtype.kind not in "fiub" else loss_dtype(x)
        for arg, v in (("input", x), ("target", t)):
            if _prob_fault(v, dt):
                faults.append((ValueError, arg))
        if draw(st.booleans()):
            kw["weight"] = side_arg(draw, shape, faults, "weight", lo=-1.0, hi=4.0, special=draw(st.booleans()))
    elif name in ("mse_loss", "l1_loss", "huber_loss"):
        if draw(st.booleans()):
            kw["weight"] = weight_of_input_shape(draw, shape, faults)
    elif name == "smooth_l1_loss" and draw(st.integers(0, 40)) == 0:
        kw["weight"] = np.ones(shape)  # (smooth_l1_loss takes no weight, as torch)
        faults.append((TypeError, "weight"))
    if name in ("smooth_l1_loss", "huber_loss") and draw(st.integers(0, 3)):
        arg = "beta" if name == "smooth_l1_loss" else "delta"
        kw[arg] = threshold_arg(draw, faults, arg)
    if name == "binary_cross_entropy_with_logits":
        for side in ("weight", "pos_weight"):
            if draw(st.booleans()):
                kw[side] = side_arg(draw, shape, faults, side, lo=-1.0, hi=4.0, special=draw(st.booleans()))
    elif name == "gaussian_nll_loss":
        r = draw(st.integers(0, 6))
        if r == 0:
            var = draw(st.sampled_from([1.0, 0.0, 1e-9, 2.5, 1e300, inf, nan, 3, np.float32(0.5)]))
        elif r in (1, 2):
            var = draw(real_input(shape, lo=0.0, hi=1e3))
        elif r == 3 and shape:
            var = draw(real_input(shape[:-1], lo=0.0, hi=1e3))
        elif r == 4 and shape:
            i = draw(st.integers(0, len(shape) - 1))
            var = draw(real_input(shape[:i] + (1,) + shape[i + 1:], lo=0.0, hi=1e3))
        elif r == 5:
            var = draw(real_input(shape, lo=-1.0, hi=1.0, special=False))  # negative -> ValueError
        else:
            bad = shape + (3,)
            var = np.ones(bad)
            faults.append((ValueError, "var"))
        args = (x, t, var)
        if draw(st.booleans()):
            kw["full"] = bool_arg(draw, faults, "full")
        if draw(st.booleans()):
            kw["eps"] = draw(st.sampled_from([1e-6, 0.0, 1e-3, 1.0, 1e-30, np.float32(1e-4)]))
    elif name == "poisson_nll_loss":
        if draw(st.booleans()):
            kw["log_input"] = bool_arg(draw, faults, "log_input")
        if draw(st.booleans()):
            kw["full"] = bool_arg(draw, faults, "full")
        if draw(st.booleans()):
            kw["eps"] = draw(st.sampled_from([1e-8, 0.0, 1e-3, 1.0]))
    elif name == "kl_div":
        if draw(st.booleans()):
            kw["log_target"] = bool_arg(draw, faults, "log_target")
    for arg, v in (("input", x), ("target", t), ("weight", kw.get("weight"))):
        if _refused(v):  # (which of several faults is reported first is not specified)
            faults.append((TypeError, arg))
    allowed = REDUCTIONS + (["batchmean"] if name == "kl_div" else [])
    kw["reduction"] = reduction_arg(draw, faults, allowed)
    kw["return_grad"] = bool_arg(draw, faults, "return_grad")
    n_threads = n_threads_arg(draw, faults)
    return args, kw, faults, n_threads


ELEMENTWISE_LOSSES = ["binary_cross_entropy_with_logits", "kl_div", "mse_loss",
                      "gaussian_nll_loss", "poisson_nll_loss", "l1_loss", "smooth_l1_loss",
                      "huber_loss", "binary_cross_entropy"]
# the reference forms these from terms that overflow alone (t log t - t x, ...)
GAUSSIAN_FAMILY = {"mse_loss", "gaussian_nll_loss", "poisson_nll_loss", "gaussian_nll", "kl_div",
                   "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy"}


@pytest.mark.parametrize("name", ELEMENTWISE_LOSSES)
@given(data=st.data())
@settings(max_examples=n_examples(80))
def test_fuzz_elementwise_losses(name, data):
    args, kw, faults, n_threads = data.draw(elementwise_case(name))
    res = call_both(name, args, kw, n_threads=n_threads, faults=faults)
    if res is None:
        return
    got, want = res
    scales, ks = elementwise_scales(name, args, kw, want)
    masks = None
    if name in GAUSSIAN_FAMILY:
        masks = [_ref_overflow_mask(g, w, list(args) + list(kw.values()))
                 for g, w in zip(_as_tuple(got), _as_tuple(want))]
    check_loss(name, got, want, scales, ks, masks)


# ================================================================== gaussian_nll

@st.composite
def gaussian_nll_case(draw):
    faults = []
    shape = draw(shapes(min_dims=0, max_dims=3))
    x = draw(real_input(broadcast_shape_of(draw, shape)))
    t = draw(real_input(broadcast_shape_of(draw, shape)))
    kw = {}
    kinds = draw(st.sampled_from([(), ("var",), ("log_var",), ("std",), ("var",), ("log_var",), ("std",),
                                  ("var", "std"), ("log_var", "var")]))
    if len(kinds) > 1:
        faults.append((ValueError, "at most one"))
    for kind in kinds:
        if draw(st.integers(0, 15)) == 0 and non_broadcast_shape(
                np.broadcast_shapes(np.shape(x), np.shape(t))) is not None:
            p = np.ones(non_broadcast_shape(np.broadcast_shapes(np.shape(x), np.shape(t))))
            faults.append((ValueError, "broadcast"))
        elif draw(st.integers(0, 3)) == 0:
            p = draw(st.sampled_from([1.0, 0.0, 2.5, 1e-300, inf, 1e300, -1.0, nan]))
        else:
            s = broadcast_shape_of(draw, shape)
            if kind == "log_var":
                p = draw(real_input(s))
            elif draw(st.integers(0, 8)) == 0:
                p = draw(real_input(s, lo=-1.0, hi=1.0, special=False))  # negative: ValueError
            else:
                p = draw(real_input(s, lo=0.0, hi=1e4))
        kw[kind] = p
    kw["reduction"] = reduction_arg(draw, faults)
    kw["return_grad"] = bool_arg(draw, faults, "return_grad")
    n_threads = n_threads_arg(draw, faults)
    return (x, t), kw, faults, n_threads


def gaussian_nll_scales(args, kw, want):
    dt = np.asarray(_as_tuple(want)[0]).dtype
    x0, t0 = (_as_dtype(a, dt) for a in args)
    kind = next((k for k in ("var", "log_var", "std") if kw.get(k) is not None), None)
    p0 = None if kind is None else _as_dtype(kw[kind], dt)
    shape = np.broadcast_shapes(x0.shape, t0.shape, *(() if p0 is None else (p0.shape,)))
    x, t = np.broadcast_to(x0, shape), np.broadcast_to(t0, shape)
    n = math.prod(shape)
    reduction = kw["reduction"]
    with np.errstate(all="ignore"):
        r = x - t
        if kind is None:
            v = np.mean(r * r) if n else nan
            hq = _fin(0.5 * r * r / v)
            T = np.maximum(_fin(0.5 * np.log(2 * np.pi * v)), hq)
            G = [_fin(r / v)]
        else:
            p = np.broadcast_to(p0, shape)
            v = {"var": p, "std": p * p, "log_var": np.exp(p)}[kind]
            hq = _fin(0.5 * r * r / v)
            hl = np.abs(0.5 * p) if kind == "log_var" else _fin(0.5 * np.log(v))
            T = np.maximum(np.maximum(HALF_LOG_2PI, hl), hq)
            gp = {"var": np.maximum(_fin(0.5 / v), _fin(hq / v)), "std": np.maximum(_fin(1 / p), _fin(2 * hq / p)),
                  "log_var": np.maximum(0.5, hq)}[kind]
            G = [_fin(r / v), gp]
    s = (1.0 / n if n else 0.0) if reduction == "mean" else 1.0
    shapes_back = [x0.shape] + ([] if p0 is None else [p0.shape])
    scales = [_reduced_scale(T, reduction)] + [_sum_back(_fin(g) * s, sh) for g, sh in zip(G, shapes_back)]
    if np.ndim(_as_tuple(want)[-1]) == 0 and len(scales) == 3:
        scales[2] = float(np.sum(scales[2]))
    k_red = _k_sum(n) if reduction != "none" else 8
    ks = [k_red] + [8 + 2 * math.log2(max(2, n // max(np.size(g), 1))) for g in scales[1:]]
    if kind is None:
        # the profiled variance is itself a mean over all elements
        ks = [k + _k_sum(n) for k in ks]
    return scales, ks


@given(data=st.data())
@settings(max_examples=n_examples(120))
def test_fuzz_gaussian_nll(data):
    args, kw, faults, n_threads = data.draw(gaussian_nll_case())
    res = call_both("gaussian_nll", args, kw, n_threads=n_threads, faults=faults)
    if res is None:
        return
    got, want = res
    scales, ks = gaussian_nll_scales(args, kw, want)
    masks = [_ref_overflow_mask(g, w, list(args) + list(kw.values()))
             for g, w in zip(_as_tuple(got), _as_tuple(want))]
    check_loss("gaussian_nll", got, want, scales, ks, masks)


# ================================================================== regressions

def test_every_public_function_is_fuzzed():
    """A new public function needs a fuzz test here."""
    fuzzed = {"logsumexp", "softmax", "log_softmax", "log_expit", "norm_logpdf", "cross_entropy",
              "nll_loss", "gaussian_nll", *ELEMENTWISE_LOSSES}
    public = {n for n in crossent.__all__ if callable(getattr(crossent, n))
              and n not in ("LabelError", "get_include", "show_config")}
    assert public == fuzzed


@pytest.mark.parametrize("huge", [2**70, -(2**70), 2**63])
def test_huge_axis_is_an_axis_error(huge):
    """An axis beyond the C integer range is out of bounds (ValueError), not an
    OverflowError from converting it."""
    x = np.zeros((2, 3))
    calls = [lambda: crossent.logsumexp(x, axis=huge), lambda: crossent.logsumexp(x, axis=(huge,)),
             lambda: crossent.logsumexp(x, axis=huge, b=np.ones(3)),
             lambda: crossent.softmax(x, axis=huge), lambda: crossent.log_softmax(x, axis=(0, huge)),
             lambda: crossent.cross_entropy(x, np.zeros(2, np.int64), axis=huge),
             lambda: crossent.nll_loss(x, np.zeros(2, np.int64), axis=huge)]
    for call in calls:
        with pytest.raises(ValueError, match="axis"):
            call()


@pytest.mark.parametrize("name", ["logsumexp", "log_expit", "cross_entropy", "mse_loss", "gaussian_nll"])
def test_huge_n_threads_is_many_threads(name):
    """n_threads beyond the C integer range is a (very) positive thread count, and a
    large one runs (asking OpenMP for 65536 threads crashed the process): on an input
    big enough to run in parallel, the same bits as one thread. In a child process,
    so that a crash fails this test only."""
    code = f"""
import numpy as np, crossent
x = np.linspace(-2, 2, 120_000).reshape(3000, 40)
name = {name!r}
args = {{"cross_entropy": (x, np.arange(3000) % 40), "mse_loss": (x, x[::-1]),
        "gaussian_nll": (x, x[::-1])}}.get(name, (x,))
kw = {{"axis": 1}} if name == "logsumexp" else {{}}
want = getattr(crossent, name)(*args, n_threads=1, **kw)
for nt in (65536, 2**40, 2**63, 2**70):
    got = getattr(crossent, name)(*args, n_threads=nt, **kw)
    assert np.asarray(got).tobytes() == np.asarray(want).tobytes(), nt
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f"exit status {res.returncode}: {res.stderr[-2000:]}"


# Each test below keeps one failure the fuzzer found, minimised.

@pytest.mark.parametrize("name", ["logsumexp", "softmax", "log_softmax"])
@pytest.mark.parametrize("shape, axis", [((0,), None), ((0, 3), 1), ((3, 0), 0)])
def test_empty_input_still_checks_n_threads(name, shape, axis):
    """n_threads is checked even where an empty input runs no kernel."""
    x = np.zeros(shape, np.float16 if axis is None else np.float64)
    with pytest.raises(ValueError, match="n_threads"):
        getattr(crossent, name)(x, axis=axis, n_threads=0)
    with pytest.raises(TypeError, match="n_threads"):
        getattr(crossent, name)(x, axis=axis, n_threads="2")


@pytest.mark.parametrize("name", ["binary_cross_entropy_with_logits", "kl_div", "mse_loss",
                                  "poisson_nll_loss"])
@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_gradient_of_a_0d_input_is_a_numpy_scalar(name, reduction):
    """As the loss of a full reduction (and as the reference): a 0-d gradient is a
    NumPy scalar, not a 0-d array."""
    x = np.array(0.25)
    loss, grad = getattr(crossent, name)(x, np.array(0.5), reduction=reduction, return_grad=True)
    _, want = getattr(ref, name)(x, np.array(0.5), reduction=reduction, return_grad=True)
    assert type(grad) is np.float64 and type(loss) is np.float64
    assert grad == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize("call", [
    lambda out: crossent.log_expit(np.array(0.5), out=out),
    lambda out: crossent.norm_logpdf(np.array(0.5), out=out),
    lambda out: crossent.softmax(np.array(0.5), out=out),
    lambda out: crossent.log_softmax(np.array(0.5), out=out),
    lambda out: crossent.logsumexp(np.array(0.5), out=out),
], ids=["log_expit", "norm_logpdf", "softmax", "log_softmax", "logsumexp"])
def test_0d_out_is_returned_itself(call):
    """With out=, the result is out itself, also 0-d (as NumPy ufuncs)."""
    out = np.full((), np.nan)
    assert call(out) is out
    assert np.isfinite(out[()])


def test_python_scalars_are_weak_numpy_scalars_are_not():
    """The result dtype of the primitives is NumPy promotion (NEP 50): a Python float
    does not widen float32, a NumPy float64 scalar does."""
    f32 = np.array([0.5, 1.0], np.float32)
    assert crossent.logsumexp(0.0, b=f32).dtype == ref.logsumexp(0.0, b=f32).dtype == F32
    assert crossent.logsumexp(np.float64(0.0), b=f32).dtype == F64
    assert crossent.norm_logpdf(0.5, 0.0, f32).dtype == ref.norm_logpdf(0.5, 0.0, f32).dtype == F32
    assert crossent.norm_logpdf(f32, np.float64(0.0)).dtype == ref.norm_logpdf(f32, np.float64(0.0)).dtype == F64
    assert crossent.norm_logpdf(f32, 0.0, np.int64(2)).dtype == F64
    assert crossent.norm_logpdf(1, 0, 2).dtype == F64
    want = sst_norm_logpdf(0.5, 0.0, 2.0)
    assert crossent.norm_logpdf(0.5, 0.0, np.float32(2.0)) == pytest.approx(want, rel=1e-6)


def sst_norm_logpdf(x, loc, scale):
    return -0.5 * ((x - loc) / scale) ** 2 - math.log(scale) - HALF_LOG_2PI


@pytest.mark.parametrize("call", [
    lambda ld: crossent.mse_loss(np.zeros(2), ld),
    lambda ld: crossent.binary_cross_entropy_with_logits(np.zeros(2), np.zeros(2), weight=ld),
    lambda ld: crossent.gaussian_nll(np.zeros(2), ld),
    lambda ld: crossent.gaussian_nll_loss(np.zeros(2), np.zeros(2), ld),
    lambda ld: crossent.norm_logpdf(np.zeros(2), scale=ld),
    lambda ld: crossent.cross_entropy(np.zeros((2, 2)), ld.reshape(1, 2).repeat(2, 0)),
], ids=["mse-target", "bce-weight", "gaussian_nll-target", "gaussian_nll_loss-var",
        "norm_logpdf-scale", "ce-prob-target"])
def test_long_double_side_arguments_are_refused(call):
    """A long double argument is refused as the input itself is (TypeError), not
    silently rounded (the reference refuses it too)."""
    with pytest.raises(TypeError, match="float128|longdouble|float96|not supported"):
        call(np.full(2, 0.5, np.longdouble))


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape, axis", [((33,), None), ((2, 5), 1), ((5, 7, 4), 1)],
                         ids=["row", "rows", "across"])
def test_probability_target_row_of_inf_is_nan_even_with_zero_weights(dtype, shape, axis):
    """A row holding +inf (or only -inf) is NaN with probability targets also where
    every class weight is 0 (as the reference and torch; it came out 0)."""
    C = shape[1] if len(shape) > 1 else shape[0]
    x = np.zeros(shape, dtype)
    t = np.full(shape, 1.0 / C, dtype)
    idx = (0,) * len(shape)
    x[idx] = inf  # first row: +inf
    if len(shape) > 1:
        x[(1,) + (slice(None),) + (0,) * (len(shape) - 2)] = -inf  # second row: only -inf
    w = np.zeros(C, dtype)
    for reduction in ("none", "sum"):
        got, g = crossent.cross_entropy(x, t, w, axis=axis, reduction=reduction, return_grad=True)
        want, wg = ref.cross_entropy(x, t, w, axis=axis, reduction=reduction, return_grad=True)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        assert np.isnan(got).any()
        np.testing.assert_array_equal(np.isnan(g), np.isnan(wg))
        tt = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(t),
                                               torch.from_numpy(w), reduction=reduction)
        np.testing.assert_array_equal(np.isnan(got), tt.isnan().numpy())


@pytest.mark.parametrize("call", [
    lambda t: crossent.logsumexp(t, b=np.ones(2)),
    lambda t: crossent.logsumexp(np.zeros(2), b=t),
    lambda t: crossent.norm_logpdf(t),
    lambda t: crossent.norm_logpdf(np.zeros(2), t),
    lambda t: crossent.norm_logpdf(np.zeros(2), 0.0, t),
    lambda t: crossent.softmax(t),
    lambda t: crossent.cross_entropy(t.reshape(1, 2), np.array([1])),
    lambda t: crossent.gaussian_nll(np.zeros(2), t),
], ids=["lse-a", "lse-b", "norm-x", "norm-loc", "norm-scale", "softmax", "ce", "gaussian_nll"])
def test_tensor_that_requires_grad_is_a_type_error(call):
    """Every argument: a torch tensor that requires grad is a TypeError (API.md), not
    torch's RuntimeError from converting it."""
    t = torch.ones(2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(TypeError, match="grad"):
        call(t)


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape", [(2,), (3, 2), (4, 2, 3)], ids=["row", "rows", "across"])
def test_infinite_probability_on_the_largest_logit_is_inf(dtype, shape):
    """-t log p with t = inf on the largest logit is +inf (as the reference and torch):
    the sum of t_c (x_c - max) took inf * 0 = NaN there. The same for an infinite class
    weight under label smoothing."""
    x = np.zeros(shape, dtype)
    t = np.zeros(shape, dtype)
    t[(slice(None), 0) + (slice(None),) * (len(shape) - 2) if len(shape) > 1 else 0] = inf
    for kw in ({}, {"label_smoothing": 0.5}):
        got = crossent.cross_entropy(x, t, reduction="none", **kw)
        want = ref.cross_entropy(x, t, reduction="none", **kw)
        tt = torch.nn.functional.cross_entropy(torch.from_numpy(x), torch.from_numpy(t),
                                               reduction="none", **kw).numpy()
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got, tt)
        assert np.all(got == inf)
    w = np.ones(shape[1] if len(shape) > 1 else shape[0], dtype)
    w[0] = inf
    labels = np.ones(shape[:1] + shape[2:], np.int64) if len(shape) > 1 else np.int64(1)
    got = crossent.cross_entropy(x, labels, w, reduction="none", label_smoothing=0.5)
    want = ref.cross_entropy(x, labels, w, reduction="none", label_smoothing=0.5)
    np.testing.assert_array_equal(got, want)
    assert np.all(got == inf)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_kl_div_terms_that_overflow_alone(dtype):
    """t log t and t x overflow alone where t (log t - x) is finite: the loss is that
    finite value (it came out -inf; the reference's own t log t - t x gives NaN)."""
    big = float(np.finfo(dtype).max) / 4
    x = np.array([math.log(big) - 1.0, 1.0], dtype)
    t = np.array([big, big / 400], dtype)
    with np.errstate(all="ignore"):
        got = crossent.kl_div(x, t, reduction="none")
    import mpmath
    with mpmath.workdps(40):
        exact = [float(mpmath.mpf(float(tv)) * (mpmath.log(float(tv)) - float(xv))) for xv, tv in zip(x, t)]
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, exact, rtol=8 * np.finfo(dtype).eps * 800)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_smooth_l1_loss_infinite_beta(reduction):
    """beta=inf (a valid beta >= 0): every residual is in the quadratic part, r**2 / (2 inf)
    = 0 and gradient r / inf = 0 (the reference and torch: 0); float64 gave NaN (the fast
    element's rounding error of r / beta formed 0 * inf), found by the fuzz harness."""
    x, t = np.array([0.0, 0.5, -2.0]), np.zeros(3)
    got, g = crossent.smooth_l1_loss(x, t, beta=inf, reduction=reduction, return_grad=True)
    want, wg = ref.smooth_l1_loss(x, t, beta=inf, reduction=reduction, return_grad=True)
    tt = torch.nn.functional.smooth_l1_loss(torch.from_numpy(x), torch.from_numpy(t), beta=inf,
                                            reduction=reduction).numpy()
    np.testing.assert_array_equal(want, tt)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(g, wg)


def test_bce_zero_weight_times_an_infinite_term_is_zero():
    """A zero weight times an infinite term is 0 (the reference's 0 * log 0 = 0), also
    where the term is -inf (a target outside [0, 1] on an infinite logit): it was NaN."""
    for x, t in ((-inf, -1.0), (inf, 2.0), (-inf, 2.0), (inf, -1.0)):
        xs, ts = np.array([x, 1.0]), np.array([t, 0.5])
        got = crossent.binary_cross_entropy_with_logits(xs, ts, weight=np.array([0.0, 1.0]), reduction="none")
        want = ref.binary_cross_entropy_with_logits(xs, ts, weight=np.array([0.0, 1.0]), reduction="none")
        np.testing.assert_array_equal(got, want)
        assert got[0] == 0.0
