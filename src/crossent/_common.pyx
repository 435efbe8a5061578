# cython: language_level=3
"""Shared front helpers (argument checks, dtype rules) and the build report."""
import os
import numpy as np
cimport numpy as cnp
from numpy.lib.stride_tricks import as_strided

from crossent cimport _openmp
from crossent._dispatch cimport isa_level
from crossent._csrc cimport cx_isa_name

cnp.import_array()

# Below this many elements a kernel runs on the calling thread: waking a team
# costs microseconds.
cdef Py_ssize_t SERIAL_BELOW = 32768

# A cap on n_threads: more threads than this only cost (every thread count gives
# the same bits), and an OpenMP runtime asked for 65536 threads crashes.
cdef Py_ssize_t MAX_THREADS = max(64, 4 * (os.cpu_count() or 1))

cdef object F32 = np.dtype(np.float32)
cdef object F64 = np.dtype(np.float64)

# Set in a child made by fork() (os.fork, multiprocessing's "fork" start
# method).  The OpenMP runtime's thread pool does not survive fork: GNU
# libgomp waits forever in the child's first parallel region if the parent
# had started its pool.  So a forked child runs every kernel on its calling
# thread (same results: they never depend on the thread count).  Written only
# in the child, while it has a single thread.
cdef bint in_forked_child = False


def _mark_forked_child():
    global in_forked_child
    in_forked_child = True


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_mark_forked_child)


cdef int resolve_threads(object n_threads, Py_ssize_t work) except -1:
    """The thread count for a kernel over `work` elements (1 in a forked child)."""
    cdef Py_ssize_t n
    if n_threads is None:
        n = _openmp.omp_get_max_threads()
    else:
        if isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, (int, np.integer)):
            raise TypeError(f"n_threads must be an int or None, got {type(n_threads).__name__}")
        if n_threads <= 0:
            raise ValueError(f"n_threads must be positive, got {n_threads}")
        n = min(n_threads, MAX_THREADS)  # as Python ints: 2**70 threads is many, not an overflow
    if work < SERIAL_BELOW or not _openmp.CX_HAVE_OPENMP or in_forked_child:
        return 1
    return <int>min(n, MAX_THREADS)


cdef object as_array_arg(object obj, str name):
    """np.asarray(obj); a failed conversion (a torch tensor that requires grad, a
    ragged list) or an object array is a TypeError naming the argument."""
    if type(obj) is np.ndarray:
        return obj
    try:
        arr = np.asarray(obj)
    except Exception as exc:
        raise TypeError(f"{name}: cannot convert {type(obj).__name__} to an array ({exc})") from exc
    if arr.dtype == object:
        raise TypeError(f"{name}: cannot convert {type(obj).__name__} to a numeric array")
    return arr


cdef bint parse_bool_other(object v, str name) except -1:
    """parse_bool's rare case: a NumPy bool, or a TypeError naming the argument."""
    if isinstance(v, np.bool_):
        return bool(v)
    raise TypeError(f"{name} must be a bool, got {type(v).__name__}")


cdef double parse_real(object v, str name) except? -1.0:
    """A real number (not a bool) as a double (TypeError naming it otherwise)."""
    if type(v) is float:
        return v
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    return float(v)


cdef int parse_reduction(object r, bint batchmean) except -1:
    """`reduction` as a Reduction code ("batchmean" only where `batchmean`)."""
    if type(r) is str:
        if r == "mean":
            return RED_MEAN
        if r == "sum":
            return RED_SUM
        if r == "none":
            return RED_NONE
        if batchmean and r == "batchmean":
            return RED_BATCHMEAN
    allowed = "'none', 'mean', 'sum'" + (", 'batchmean'" if batchmean else "")
    raise ValueError(f"reduction must be one of {allowed}, got {r!r}")


cdef int check_buffers_given(int red, bint rg, object out, object grad_out) except -1:
    """check_buffers where a buffer was given."""
    if out is not None and red != RED_NONE:
        raise ValueError('out= holds the elementwise losses: it needs reduction="none"')
    if grad_out is not None and not rg:
        raise ValueError("grad_out= holds the gradient: it needs return_grad=True")
    return 0


cdef object float_dtype(object x, str name):
    """The computation dtype of an array argument (API.md dtype rules)."""
    cdef object dt = x.dtype
    cdef str kind = dt.kind
    if kind == "f":
        if dt.itemsize == 8:
            return F64
        if dt.itemsize <= 4:
            return F32
        raise TypeError(f"{name}: dtype {dt} is not supported (float32/float64)")
    if kind in "iub":
        return F64
    if kind == "c":
        raise TypeError(f"{name}: complex input is not supported")
    raise TypeError(f"{name}: dtype {dt} is not a real number type")


cdef cnp.ndarray as_float_array(object x, str name, object dtype=None):
    """`x` as an ndarray of float32/float64 in native byte order.

    Copies only when the dtype or byte order must change."""
    cdef cnp.ndarray arr
    if type(x) is np.ndarray:
        arr = <cnp.ndarray>x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError, RuntimeError) as exc:  # e.g. a tensor requiring grad
            raise TypeError(f"{name}: cannot convert {type(x).__name__} to an array ({exc})") from exc
        if arr.dtype == object:
            raise TypeError(f"{name}: cannot convert {type(x).__name__} to a numeric array")
    if dtype is None:
        dtype = float_dtype(arr, name)
    elif arr.dtype.kind == "c":
        raise TypeError(f"{name}: complex input is not supported")
    elif arr.dtype.kind not in "fiub":
        raise TypeError(f"{name}: dtype {arr.dtype} is not a real number type")
    elif arr.dtype.kind == "f" and arr.dtype.itemsize > 8:  # as for the input: no long double
        raise TypeError(f"{name}: dtype {arr.dtype} is not supported (float32/float64)")
    if (arr.dtype is not dtype and arr.dtype != dtype) or not arr.dtype.isnative:
        # a float64 beyond float32's range rounds to +-inf, as IEEE rounding does:
        # the documented conversion, not a warning
        with np.errstate(over="ignore"):
            arr = astype_compact(arr, dtype)
    return walkable(arr)


cdef cnp.ndarray walkable_fixed(cnp.ndarray a, int fix):
    """walkable's rare case (fix = layout_fix(a), 1 or 2): a view of `a` with the odd
    strides of its size-1 dims set to 0, or an aligned C-order copy.  A view of a
    writable `a` is writable (it is `a`'s memory)."""
    if fix == 2:
        return np.array(a, order="C", copy=True)
    cdef Py_ssize_t item = cnp.PyArray_ITEMSIZE(a)
    strides = tuple(0 if s % item else s for s in (<object>a).strides)
    return as_strided(a, strides=strides, writeable=bool(a.flags.writeable))


cdef cnp.ndarray astype_compact(cnp.ndarray a, object dtype):
    """a.astype(dtype), converting a broadcast (stride-0) array once per distinct element
    and broadcasting the result again (read-only), not into a full-size copy."""
    cdef int i
    cdef bint repeats = False
    if a.size > 1:
        for i in range(a.ndim):
            if a.strides[i] == 0 and a.shape[i] > 1:
                repeats = True
                break
    if not repeats:
        return a.astype(dtype)
    idx = tuple(slice(0, 1) if a.strides[i] == 0 else slice(None) for i in range(a.ndim))
    return np.broadcast_to(a[idx].astype(dtype), (<object>a).shape)


cdef tuple normalize_axes(object axis, int ndim):
    """Sorted tuple of distinct axes in [0, ndim) from None / int / tuple."""
    cdef list out = []
    cdef Py_ssize_t a
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, tuple) else (axis,)
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
            raise TypeError(f"axis must be an int, a tuple of ints or None, got {type(item).__name__}")
        if item < -ndim or item >= ndim:  # as Python ints: 2**70 is out of bounds, not an overflow
            raise np.exceptions.AxisError(f"axis {item} is out of bounds for array of dimension {ndim}")
        a = item
        if a < 0:
            a += ndim
        if a in out:
            raise ValueError(f"axis: repeated axis {a}")
        out.append(a)
    out.sort()
    return tuple(out)


cdef cnp.ndarray check_out(object out, tuple shape, object dtype, str name="out"):
    """`out` if it is a writable array of exactly this shape and dtype (`name`: the
    argument, e.g. ``grad_out``, for the error)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>out
    if (<object>arr).shape != shape:
        raise ValueError(f"{name} has shape {(<object>arr).shape}, the result has shape {shape}")
    if arr.dtype != dtype or not arr.dtype.isnative:
        raise TypeError(f"{name} has dtype {arr.dtype}, the result has dtype {np.dtype(dtype)}")
    if not arr.flags.writeable:
        raise ValueError(f"{name} is read-only")
    return arr


cdef object out_target(object out, tuple shape, object dtype, str name, tuple inputs,
                       tuple names, bint in_place):
    """The array a kernel writes for the caller's buffer `out` (None: None, the caller
    allocates): checked as check_out and refused where it partly shares memory with
    one of the caller's `inputs`.  `out` that is exactly an input is written in place
    where the kernel reads each element before writing it (`in_place`), else through
    a temporary; otherwise `out` made walkable.  finish_target copies the result into
    `out` wherever it is not `out`'s memory."""
    if out is None:
        return None
    cdef cnp.ndarray target = check_out(out, shape, dtype, name)
    cdef bint same = False
    for arr, aname in zip(inputs, names):
        if arr is not None and check_overlap(target, arr, aname, name):
            same = True
    if same and not in_place:
        return np.empty(shape, dtype)
    return walkable(target)


cdef object finish_target(object y, object out):
    """`out` itself after a kernel wrote `y = out_target(out, ...)` (copied into `out`
    where `y` is a temporary or an aligned copy); `y` when there was no `out`."""
    if out is None:
        return y
    if y is not out and cnp.PyArray_DATA(<cnp.ndarray>y) != cnp.PyArray_DATA(<cnp.ndarray>out):
        np.copyto(out, y)
    return out


cdef bint same_layout(cnp.ndarray a, cnp.ndarray b):
    """Same shape and the same strides on every dim of size > 1 (the stride of a
    size-1 dim is arbitrary: a broadcast or a reshape may set it to anything)."""
    cdef int i
    if (<object>a).shape != (<object>b).shape:
        return False
    for i in range(cnp.PyArray_NDIM(a)):
        if cnp.PyArray_DIM(a, i) > 1 and cnp.PyArray_STRIDE(a, i) != cnp.PyArray_STRIDE(b, i):
            return False
    return True


cdef int check_overlap(cnp.ndarray out, object x, str name, str out_name="out") except -1:
    """1 if out is exactly x (in place), 0 if they share no memory; any other overlap is
    refused.  Judged on the caller's arrays, before any conversion."""
    if not isinstance(x, np.ndarray) or not np.may_share_memory(out, x):
        return 0
    if cnp.PyArray_DATA(out) == cnp.PyArray_DATA(<cnp.ndarray>x) and same_layout(out, <cnp.ndarray>x):
        return 1
    try:
        overlap = np.shares_memory(out, x, max_work=1_000_000)
    except np.exceptions.TooHardError:
        overlap = True  # undecided within the work bound: refuse rather than risk it
    if overlap:
        raise ValueError(f"{out_name} overlaps {name} partially; pass {name} itself for "
                         "in-place work")
    return 0


cdef int check_disjoint(cnp.ndarray a, object b, str a_name, str b_name) except -1:
    """Two output buffers of one call must not share memory (not even as the same array)."""
    if check_overlap(a, b, b_name, a_name):
        raise ValueError(f"{a_name} and {b_name} are the same memory; pass separate arrays")
    return 0


def _config():
    """Build and run-time facts for show_config()."""
    return {
        "openmp": bool(_openmp.CX_HAVE_OPENMP),
        "openmp_version": int(_openmp.CX_OPENMP_VERSION),
        "simd": cx_isa_name(isa_level()).decode(),
        "max_threads": int(_openmp.omp_get_max_threads()),
        "build": CROSSENT_BUILD_CONFIG.decode(),
    }


cdef extern from *:
    """
    #ifndef CROSSENT_BUILD_CONFIG
    #define CROSSENT_BUILD_CONFIG "{}"
    #endif
    """
    const char *CROSSENT_BUILD_CONFIG
