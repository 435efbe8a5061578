"""Memory layouts: every argument of every public function, in every layout API.md
"Common conventions" names, gives the numbers of a contiguous copy and is left unchanged.

The cases are the table of ``test_inputs_safe._cases()`` (every public function, every
array argument, ``return_grad`` both ways), in float32 and float64 (the float data cast,
labels kept integer). One argument at a time is given in one of these layouts, the others
stay contiguous:

1. ``odd_byte_stride``: a field of a structured array with a one-byte neighbour, so every
   stride is itemsize + 1 bytes (not a multiple of the item size);
2. ``misaligned``: whole-element C strides, data pointer one byte into a byte buffer;
3. ``zero_strides``: ``np.broadcast_to`` of the first entry along axis 0 (different values:
   each result is compared with the call on a contiguous copy of the broadcast);
4. ``negative_strides``: every axis reversed, of a reversed copy (same values);
5. ``size_one_dim_odd_stride``: a leading size-1 dim whose stride is odd, which NumPy
   still flags C-contiguous (a field of a one-record structured array); used on the
   case's data cut to its first row (shape (1, 9); the 1-D side arguments that broadcast
   get shape (1, 9), the class weights of ``cross_entropy``/``nll_loss`` must stay (9,)
   and get no size-1 dim, so this layout does not apply to them);
6. ``non_native_byte_order``;
7. ``read_only`` (a read-only copy);
8. ``fortran_order`` (arrays with at least two dims of size > 1).

``out=`` of the primitives in layouts 1, 2, 5 and a negative-stride view with gaps (the
inputs contiguous) must receive exactly (bitwise) the result of the call without ``out``,
be returned itself, and leave every byte around its elements (a structured neighbour,
the buffer's first byte, the gaps) unchanged; ``out=x`` in place for
softmax/log_softmax/log_expit with ``x`` in layouts 1, 2 and 5 likewise, its values
within the tolerance of the input layouts (x is an input in that layout too).

Calls are direct: a crash (a segfault) ends the run, it is not caught here.
"""
import functools
import inspect

import numpy as np
import pytest

import crossent

from _helpers import F32, F64, inputs_unchanged, same_bits
from test_inputs_safe import ARRAY_PARAMS, _cases, _data

DTYPES = (F32, F64)
RTOL = {F32: 1e-6, F64: 1e-13}
ATOL = {F32: 1e-35, F64: 1e-300}
PAD_BYTE = 0x5A  # what the structured neighbours hold; a kernel reading them reads garbage

DATA_NAMES = frozenset(_data())
CASES = {case_id: (fn, names, kwargs) for case_id, fn, names, kwargs in _cases()}
OUT_FUNCTIONS = ("logsumexp", "softmax", "log_softmax", "log_expit", "norm_logpdf")
IN_PLACE_FUNCTIONS = ("softmax", "log_softmax", "log_expit")
CLASS_WEIGHT_DATA = "cw"  # the _data() entry used only as class weights: must stay (C,)


# ------------------------------------------------------------------------- layouts

def odd_byte_stride(a):
    """``a``'s values as the field ``v`` of a structured array whose other field is one
    byte: the last stride is itemsize + 1, and every stride is odd (the structured array
    has ``a.shape`` with even sizes made odd, then sliced), so none is a multiple of the
    item size."""
    s = np.zeros(tuple(n | 1 for n in a.shape), dtype=[("v", a.dtype), ("pad", "i1")])
    s["pad"] = PAD_BYTE
    if a.dtype.kind == "f":
        s["v"] = np.nan  # the extra entries: a kernel that reads them gets NaN
    v = s["v"][tuple(slice(n) for n in a.shape) + (Ellipsis,)]  # a view, also 0-d
    v[...] = a
    assert all(st % 2 == 1 for st in v.strides), v.strides
    return v


def misaligned(a):
    """``a``'s values with whole-element C strides at a data pointer one byte into a
    byte buffer (not aligned for any dtype wider than a byte)."""
    buf = bytearray(a.nbytes + 1 + 8)
    buf[:] = bytes([PAD_BYTE]) * len(buf)
    v = np.ndarray(a.shape, dtype=a.dtype, buffer=buf, offset=1)
    v[...] = a
    assert v.ctypes.data % a.dtype.alignment != 0 and not v.flags.aligned
    assert all(st % a.dtype.itemsize == 0 for st in v.strides)
    return v


def zero_strides(a):
    """The first entry of ``a`` along axis 0 repeated with stride 0 (``np.broadcast_to``):
    NOT ``a``'s values, a valid value of every argument of the table (rows repeated)."""
    v = np.broadcast_to(a[:1], a.shape)
    assert v.strides[0] == 0
    return v


def negative_strides(a):
    """``a``'s values with every stride negative: a reversed view of a reversed copy."""
    rev = (slice(None, None, -1),) * a.ndim
    v = a[rev].copy()[rev]
    assert all(st < 0 for st in v.strides), v.strides
    return v


def size_one_dim_odd_stride(a):
    """``a``'s values (``a.shape[0] == 1``) with an odd stride on that size-1 dim, which
    NumPy still flags C-contiguous: the field ``v`` of a one-record structured array
    whose other field is one byte."""
    assert a.ndim >= 1 and a.shape[0] == 1, a.shape
    s = np.zeros(1, dtype=[("v", a.dtype, a.shape[1:]), ("k", "i1")])
    s["k"] = PAD_BYTE
    v = s["v"]
    v[...] = a
    assert v.shape == a.shape and v.flags.c_contiguous
    assert v.strides[0] % 2 == 1 and v.strides[0] % a.dtype.itemsize != 0, v.strides
    return v


def non_native_byte_order(a):
    """``a``'s values in the other byte order."""
    v = a.astype(a.dtype.newbyteorder())
    assert not v.dtype.isnative
    return v


def read_only(a):
    """A read-only copy of ``a``."""
    v = a.copy()
    v.setflags(write=False)
    return v


def fortran_order(a):
    """``a``'s values in Fortran order (not also C-contiguous)."""
    v = np.asfortranarray(a)
    assert v.flags.f_contiguous and not v.flags.c_contiguous
    return v


def negative_strides_with_gaps(a):
    """``a``'s values in a view of every second element along the last axis of a larger
    buffer, every axis reversed (for ``out=``: the gaps must stay untouched)."""
    big = np.full(a.shape[:-1] + (2 * a.shape[-1],), 1234.5, dtype=a.dtype)
    v = big[(slice(None, None, -1),) * (a.ndim - 1) + (slice(None, None, -2),)]
    v[...] = a
    assert all(st < 0 for st in v.strides) and not v.flags.c_contiguous
    return v


def _has_size_one_leading_dim(a):
    return a.ndim >= 1 and a.shape[0] == 1


# name: (helper, applies to the array?)
LAYOUTS = {
    "odd_byte_stride": (odd_byte_stride, lambda a: True),
    "misaligned": (misaligned, lambda a: True),
    "zero_strides": (zero_strides, lambda a: a.ndim >= 1 and a.shape[0] > 1),
    "negative_strides": (negative_strides, lambda a: a.size > 1),
    "size_one_dim_odd_stride": (size_one_dim_odd_stride, _has_size_one_leading_dim),
    "non_native_byte_order": (non_native_byte_order, lambda a: True),
    "read_only": (read_only, lambda a: True),
    "fortran_order": (fortran_order, lambda a: sum(n > 1 for n in a.shape) >= 2),
}
SIZE_ONE_LAYOUTS = {"size_one_dim_odd_stride"}  # applied to the (1, 9) version of a case
OUT_LAYOUTS = {
    "odd_byte_stride": (odd_byte_stride, lambda a: True),
    "misaligned": (misaligned, lambda a: True),
    "size_one_dim_odd_stride": (size_one_dim_odd_stride, _has_size_one_leading_dim),
    "negative_strides_with_gaps": (negative_strides_with_gaps, lambda a: a.ndim >= 1),
}
IN_PLACE_LAYOUTS = ("odd_byte_stride", "misaligned", "size_one_dim_odd_stride")


# ---------------------------------------------------------------------------- data

@functools.lru_cache(maxsize=None)
def _typed_data(dtype, size_one):
    """_data() with every float entry cast to ``dtype`` (labels stay integer); with
    ``size_one`` cut to the first row: (40, k) -> (1, k), labels (40,) -> (1,), and the
    1-D entries of length 9 that broadcast as side arguments -> (1, 9) (not ``cw``,
    the class weights)."""
    out = {}
    for name, a in _data().items():
        if a.dtype.kind == "f":
            a = a.astype(dtype)
        if size_one:
            if a.shape[0] == 40:
                a = a[:1]
            elif name != CLASS_WEIGHT_DATA:
                a = a[None]
        a = np.ascontiguousarray(a)
        a.setflags(write=False)  # cached: every call works on copies
        out[name] = a
    return out


def _is_data(v):
    """A keyword value of the table that names a _data() entry (not e.g. "none")."""
    return isinstance(v, str) and v in DATA_NAMES


def _slots(fn, names, kwargs):
    """(slot, parameter name) of every array argument of a case: slot is the position
    of a positional argument or the keyword."""
    params = list(inspect.signature(fn).parameters)
    slots = [(i, params[i]) for i in range(len(names))]
    slots += [(k, k) for k, v in kwargs.items() if _is_data(v)]
    return slots


def _bind(names, kwargs, data):
    """Fresh contiguous writable copies of the case's arguments: (args list, kwargs)."""
    args = [data[n].copy() for n in names]
    kw = {k: data[v].copy() if _is_data(v) else v for k, v in kwargs.items()}
    return args, kw


def _get(args, kw, slot):
    return args[slot] if isinstance(slot, int) else kw[slot]


def _put(args, kw, slot, value):
    args, kw = list(args), dict(kw)
    if isinstance(slot, int):
        args[slot] = value
    else:
        kw[slot] = value
    return args, kw


def _contiguous_native(a):
    """A C-contiguous, aligned, writable, native-order copy of ``a``'s values."""
    return np.array(a, dtype=a.dtype.newbyteorder("="), order="C", copy=True)


def _owner(a):
    """The object that owns ``a``'s memory (an array without a base, or a buffer), as
    something np.frombuffer reads (a Fortran-order owner transposed)."""
    while isinstance(a, np.ndarray) and a.base is not None:
        a = a.base
    if isinstance(a, np.ndarray) and not a.flags.c_contiguous:
        assert a.flags.f_contiguous
        a = a.T
    return a


def _owner_bytes(a):
    """Every byte of the memory ``a`` lives in (neighbouring fields and gaps included)."""
    return np.frombuffer(_owner(a), dtype=np.uint8).copy()


def _element_byte_mask(a):
    """Which bytes of ``_owner_bytes(a)`` belong to ``a``'s elements."""
    raw = np.frombuffer(_owner(a), dtype=np.uint8)
    offsets = np.array(a.ctypes.data - raw.ctypes.data)
    for axis, (n, st) in enumerate(zip(a.shape, a.strides)):
        shape = [1] * a.ndim
        shape[axis] = n
        offsets = offsets + (np.arange(n) * st).reshape(shape)
    offsets = offsets.reshape(-1, 1) + np.arange(a.dtype.itemsize)
    mask = np.zeros(raw.size, dtype=bool)
    mask[offsets.ravel()] = True
    return mask


def _written_problems(dest, want, outside, memory_before, name, exact):
    """What is wrong with ``dest`` after a call that should have written ``want`` into its
    elements (bitwise if ``exact``, else within RTOL) and nothing around them: a list of
    messages."""
    problems = []
    got = _contiguous_native(dest)
    if got.shape != want.shape or got.dtype != want.dtype:
        return [f"{name} is {got.shape} {got.dtype}, the result {want.shape} {want.dtype}"]
    if exact:
        differ = got.view(f"u{got.dtype.itemsize}") != want.view(f"u{want.dtype.itemsize}")
    else:
        differ = ~np.isclose(got, want, rtol=RTOL[want.dtype], atol=ATOL[want.dtype],
                             equal_nan=True)
    if differ.any():
        where = np.argwhere(differ)[:3]
        problems.append(
            f"{int(differ.sum())} of {differ.size} elements of {name} differ from the call "
            f"without out (first at {where.tolist()}: {got[tuple(where.T)].tolist()} "
            f"instead of {want[tuple(where.T)].tolist()})")
    changed = np.flatnonzero((_owner_bytes(dest) != memory_before) & outside)
    if changed.size:
        problems.append(f"{changed.size} bytes outside {name}'s elements were written "
                        f"(first at bytes {changed[:6].tolist()} of its buffer)")
    return problems


def _flat(result):
    return list(result) if isinstance(result, tuple) else [result]


def _assert_same_results(got, want, dtype, what):
    got, want = _flat(got), _flat(want)
    assert len(got) == len(want), f"{what}: {len(got)} results, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, f"{what}, result {i}: shape {g.shape} != {w.shape}"
        assert g.dtype == w.dtype, f"{what}, result {i}: dtype {g.dtype} != {w.dtype}"
        np.testing.assert_allclose(g, w, rtol=RTOL[dtype], atol=ATOL[dtype], equal_nan=True,
                                   err_msg=f"{what}, result {i}")


def _dtype_id(dtype):
    return np.dtype(dtype).name


# --------------------------------------------------------------- every argument

def _argument_params():
    params = []
    for case_id, (fn, names, kwargs) in CASES.items():
        for slot, pname in _slots(fn, names, kwargs):
            for layout, (_, applies) in LAYOUTS.items():
                size_one = layout in SIZE_ONE_LAYOUTS
                for dtype in DTYPES:
                    args, kw = _bind(names, kwargs, _typed_data(dtype, size_one))
                    if not applies(_get(args, kw, slot)):
                        continue
                    params.append(pytest.param(
                        case_id, slot, layout, dtype,
                        id=f"{case_id}-{pname}-{layout}-{_dtype_id(dtype)}"))
    return params


@pytest.mark.parametrize("case_id, slot, layout, dtype", _argument_params())
def test_argument_in_layout(case_id, slot, layout, dtype):
    """One argument in the layout, the others contiguous: the results (gradients
    included) of a contiguous copy of it, same shapes and dtypes, and its memory
    (neighbouring bytes included) bitwise unchanged."""
    fn, names, kwargs = CASES[case_id]
    helper, _ = LAYOUTS[layout]
    args, kw = _bind(names, kwargs, _typed_data(dtype, layout in SIZE_ONE_LAYOUTS))
    laid = helper(_get(args, kw, slot))
    want_args, want_kw = _put(args, kw, slot, _contiguous_native(laid))
    want = fn(*want_args, **want_kw)
    memory_before = _owner_bytes(laid)
    got_args, got_kw = _put(args, kw, slot, laid)
    with inputs_unchanged(laid):
        got = fn(*got_args, **got_kw)
    assert np.array_equal(_owner_bytes(laid), memory_before), (
        "the argument's memory (its neighbouring bytes included) was written")
    pname = dict(_slots(fn, names, kwargs))[slot]
    _assert_same_results(got, want, dtype, f"{case_id} with {pname} {layout}")


# ------------------------------------------------------------------------ out=

def _out_cases():
    return {cid: c for cid, c in CASES.items() if c[0].__name__ in OUT_FUNCTIONS}


def _out_params(layouts, functions=OUT_FUNCTIONS):
    """(case, layout, dtype) where the case's result (the one out= takes) can be in the
    layout (the call on contiguous data tells its shape)."""
    params = []
    for case_id, (fn, names, kwargs) in _out_cases().items():
        if fn.__name__ not in functions:
            continue
        for layout in layouts:
            for dtype in DTYPES:
                args, kw = _bind(names, kwargs, _typed_data(dtype, layout in SIZE_ONE_LAYOUTS))
                if not OUT_LAYOUTS[layout][1](np.asarray(_flat(fn(*args, **kw))[0])):
                    continue
                params.append(pytest.param(case_id, layout, dtype,
                                           id=f"{case_id}-out-{layout}-{_dtype_id(dtype)}"))
    return params


@pytest.mark.parametrize("case_id, layout, dtype", _out_params(OUT_LAYOUTS))
def test_out_in_layout(case_id, layout, dtype):
    """out= in a layout (the inputs contiguous) receives exactly (bitwise) the result of
    the call without out, is returned, and no byte around its elements changes."""
    fn, names, kwargs = CASES[case_id]
    helper, _ = OUT_LAYOUTS[layout]
    args, kw = _bind(names, kwargs, _typed_data(dtype, layout in SIZE_ONE_LAYOUTS))
    want = fn(*args, **kw)
    want_main = np.asarray(_flat(want)[0])
    out = helper(np.full(want_main.shape, 1234.5, dtype=want_main.dtype))
    outside = ~_element_byte_mask(out)
    memory_before = _owner_bytes(out)
    res = fn(*args, **kw, out=out)
    # contiguous input, only out's layout differs: the very same numbers
    problems = _written_problems(out, want_main, outside, memory_before, "out", exact=True)
    res_main = _flat(res)[0] if isinstance(want, tuple) else res
    if res_main is not out:
        problems.append("the result is not out itself")
    if isinstance(want, tuple) and not same_bits(res[1:], want[1:]):
        problems.append("the other results differ with out=")
    assert not problems, f"{case_id}, out= {layout}: " + "; ".join(problems)


@pytest.mark.parametrize("case_id, layout, dtype",
                         _out_params(IN_PLACE_LAYOUTS, IN_PLACE_FUNCTIONS))
def test_in_place_in_layout(case_id, layout, dtype):
    """out=x with x in a layout: the result of a contiguous copy (within RTOL: the input's
    layout may change the order of the operations), in x itself, returned, and no byte
    around x's elements changes."""
    fn, names, kwargs = CASES[case_id]
    assert names == ("x",) or names == ("x32",), "in-place cases take one argument"
    helper, _ = OUT_LAYOUTS[layout]
    args, kw = _bind(names, kwargs, _typed_data(dtype, layout in SIZE_ONE_LAYOUTS))
    want = fn(*args, **kw)
    x = helper(args[0])
    outside = ~_element_byte_mask(x)
    memory_before = _owner_bytes(x)
    res = fn(x, **kw, out=x)
    # x is also the input in that layout: within RTOL, as test_argument_in_layout
    problems = _written_problems(x, want, outside, memory_before, "x", exact=False)
    if res is not x:
        problems.append("the result is not x itself")
    assert not problems, f"{case_id}, out=x in place, {layout}: " + "; ".join(problems)


# ------------------------------------------------------------------- the table

def test_table_covers_every_array_argument():
    """Every public routine (compiled ones included) and each of its array arguments
    appears in the table, so that every argument is tried in every layout."""
    routines = [getattr(crossent, n) for n in crossent.__all__
                if inspect.isroutine(getattr(crossent, n))
                and n not in ("get_include", "show_config")]
    assert routines, "no public routine found"
    seen = {}
    for fn, names, kwargs in CASES.values():
        seen.setdefault(fn.__name__, set()).update(p for _, p in _slots(fn, names, kwargs))
    for fn in routines:
        wanted = ARRAY_PARAMS & set(inspect.signature(fn).parameters)
        assert wanted <= seen.get(fn.__name__, set()), (
            fn.__name__, wanted - seen.get(fn.__name__, set()))
