# cython: language_level=3
"""log_expit and norm_logpdf: elementwise kernels over broadcast strided arrays."""
import numpy as np
cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport prange

from crossent._csrc cimport cx_lse_table
from crossent._dispatch cimport lse_table
from crossent._common cimport (
    resolve_threads, as_array_arg, as_float_array, out_target, finish_target,
)

cnp.import_array()

cdef cx_lse_table T = lse_table()[0]

cdef enum:
    MAXD = 64
    MAXOP = 4
    RUN = 4096          # elements per task along the innermost dim


cdef struct Walk:
    # operands 0..nop-1 (inputs then the output), broadcast to one shape
    int nd, nop
    Py_ssize_t shape[MAXD]
    Py_ssize_t st[MAXOP][MAXD]   # element strides
    Py_ssize_t runs              # tasks per innermost line
    Py_ssize_t ntasks


cdef int build_walk(Walk *w, list arrays) except -1:
    """Strides of the broadcast operands, adjacent dims merged where they chain."""
    cdef cnp.ndarray a0 = arrays[0]
    cdef int nd = a0.ndim, i, k, d
    cdef cnp.ndarray a
    w.nop = len(arrays)
    w.nd = 0
    for d in range(nd):
        if a0.shape[d] == 1:
            continue
        merge = w.nd > 0
        for k in range(w.nop):
            a = arrays[k]
            if merge and w.st[k][w.nd - 1] != (a.strides[d] // a.itemsize) * a0.shape[d]:
                merge = False
        if merge:
            w.shape[w.nd - 1] *= a0.shape[d]
            for k in range(w.nop):
                a = arrays[k]
                w.st[k][w.nd - 1] = a.strides[d] // cnp.PyArray_ITEMSIZE(a)
        else:
            w.shape[w.nd] = a0.shape[d]
            for k in range(w.nop):
                a = arrays[k]
                w.st[k][w.nd] = a.strides[d] // cnp.PyArray_ITEMSIZE(a)
            w.nd += 1
    if w.nd == 0:  # a single element
        w.shape[0] = 1
        for k in range(w.nop):
            w.st[k][0] = 0
        w.nd = 1
    w.runs = (w.shape[w.nd - 1] + RUN - 1) // RUN
    w.ntasks = w.runs
    for d in range(w.nd - 1):
        w.ntasks *= w.shape[d]
    if a0.size == 0:
        w.ntasks = 0
    return 0


cdef inline void task_offsets(const Walk *w, Py_ssize_t t, Py_ssize_t *off,
                              Py_ssize_t *n) noexcept nogil:
    """Offsets of each operand at the start of task t, and its length."""
    cdef int d, k
    cdef Py_ssize_t i, r = t // w.runs, start = (t % w.runs) * RUN
    cdef int last = w.nd - 1
    for k in range(w.nop):
        off[k] = start * w.st[k][last]
    for d in range(last - 1, -1, -1):
        i = r % w.shape[d]
        r = r // w.shape[d]
        for k in range(w.nop):
            off[k] += i * w.st[k][d]
    n[0] = min(<Py_ssize_t>RUN, w.shape[last] - start)


cdef void task_log_expit(const Walk *w, const floating *x, floating *y, Py_ssize_t t) noexcept nogil:
    cdef Py_ssize_t off[MAXOP]
    cdef Py_ssize_t n
    cdef int last = w.nd - 1
    task_offsets(w, t, off, &n)
    if floating is float:
        T.log_expit_f32(x + off[0], w.st[0][last], y + off[1], w.st[1][last], n)
    else:
        T.log_expit_f64(x + off[0], w.st[0][last], y + off[1], w.st[1][last], n)


cdef void task_norm(const Walk *w, const floating *x, const floating *loc, const floating *sc,
                    floating *y, Py_ssize_t t) noexcept nogil:
    cdef Py_ssize_t off[MAXOP]
    cdef Py_ssize_t n
    cdef int last = w.nd - 1
    task_offsets(w, t, off, &n)
    if floating is float:
        T.norm_logpdf_f32(x + off[0], w.st[0][last], loc + off[1], w.st[1][last],
                          sc + off[2], w.st[2][last], y + off[3], w.st[3][last], n)
    else:
        T.norm_logpdf_f64(x + off[0], w.st[0][last], loc + off[1], w.st[1][last],
                          sc + off[2], w.st[2][last], y + off[3], w.st[3][last], n)


cdef int run_log_expit(const Walk *w, const floating *x, floating *y, int nt) except -1 nogil:
    cdef Py_ssize_t t
    if nt == 1:
        for t in range(w.ntasks):
            task_log_expit(w, x, y, t)
    else:
        for t in prange(w.ntasks, num_threads=nt, schedule="static"):
            task_log_expit(w, x, y, t)
    return 0


cdef int run_norm(const Walk *w, const floating *x, const floating *loc, const floating *sc,
                  floating *y, int nt) except -1 nogil:
    cdef Py_ssize_t t
    if nt == 1:
        for t in range(w.ntasks):
            task_norm(w, x, loc, sc, y, t)
    else:
        for t in prange(w.ntasks, num_threads=nt, schedule="static"):
            task_norm(w, x, loc, sc, y, t)
    return 0


cdef cnp.ndarray output_for(object out, tuple shape, object dtype, list inputs, list names):
    """The array the kernel writes: `out` made walkable (see out_target), or a fresh one."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    return out_target(out, shape, dtype, "out", tuple(inputs), tuple(names), True)


cdef object finish_out(cnp.ndarray y, object out):
    """`out` itself (as NumPy, even 0-d), or the fresh result (a scalar when 0-d)."""
    if out is not None:
        return finish_target(y, out)
    return y if y.ndim else y[()]


def log_expit(x, *, out=None, n_threads=None):
    """Logarithm of the logistic sigmoid, ``log(1 / (1 + exp(-x)))``.

    Drop-in for :func:`scipy.special.log_expit`, compiled and multithreaded;
    exact in both tails: ``log_expit(40)`` is -4.25e-18 and ``log_expit(-800)``
    is -800.

    Parameters
    ----------
    x : array_like
        Input values (float32/float64 natively; integers as float64).
    out : ndarray, optional
        Where to write the result; may be `x` itself.
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.

    Returns
    -------
    ndarray or scalar
        Same shape as `x`.

    Raises
    ------
    TypeError
        For complex or non-numeric input, or a non-integer `n_threads`.
    ValueError
        For a wrong `out` or ``n_threads <= 0``.

    Notes
    -----
    Follows :func:`scipy.special.log_expit` (a ufunc): same values and result
    dtype for float32/float64 input.  It differs where the API contract says
    so: complex input raises ``TypeError``, float16 is computed and returned
    as float32, and the ufunc keywords (``where``, ``dtype``, ``casting``) are
    not taken; `out` and `n_threads` are keyword-only.

    Examples
    --------
    >>> import crossent
    >>> [float(v) for v in crossent.log_expit([0.0, 40.0, -800.0])]
    [-0.6931471805599453, -4.248354255291589e-18, -800.0]
    """
    cdef Walk w
    x0 = as_array_arg(x, "x")
    cdef cnp.ndarray xa = as_float_array(x0, "x")
    cdef cnp.ndarray y = output_for(out, (<object>xa).shape, xa.dtype, [x0], ["x"])
    build_walk(&w, [xa, y])
    cdef int nt = resolve_threads(n_threads, xa.size)
    if xa.dtype.itemsize == 4:
        with nogil:
            run_log_expit(&w, <const float *>cnp.PyArray_DATA(xa), <float *>cnp.PyArray_DATA(y), nt)
    else:
        with nogil:
            run_log_expit(&w, <const double *>cnp.PyArray_DATA(xa), <double *>cnp.PyArray_DATA(y), nt)
    return finish_out(y, out)


def norm_logpdf(x, loc=0.0, scale=1.0, *, out=None, n_threads=None):
    """Log of the normal density, as :func:`scipy.stats.norm.logpdf`.

    ``-((x - loc) / scale)**2 / 2 - log(scale) - log(2 pi) / 2``, with NumPy
    broadcasting of `x`, `loc` and `scale`; ``scale <= 0`` gives NaN, as SciPy.

    Parameters
    ----------
    x : array_like
        Points.
    loc : array_like, optional
        Mean (default 0).
    scale : array_like, optional
        Standard deviation (default 1).
    out : ndarray, optional
        Where to write the result (the broadcast shape and result dtype).
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.

    Returns
    -------
    ndarray or scalar
        The log-density; dtype ``numpy.result_type`` of the float inputs.

    Raises
    ------
    TypeError
        For complex or non-numeric input, or a non-integer `n_threads`.
    ValueError
        For shapes that do not broadcast, a wrong `out` or ``n_threads <= 0``.

    Notes
    -----
    Follows :func:`scipy.stats.norm.logpdf` with ``loc`` and ``scale``: same
    values, broadcasting and NaN for ``scale <= 0`` (not an error, unlike the
    losses' variance checks).  It differs in the result dtype, which follows
    NumPy promotion of the float inputs (float32 in, float32 out; SciPy
    computes in float64), and complex input raises ``TypeError``.  The square
    ``((x - loc) / scale)**2`` does not overflow while the result is finite.

    Examples
    --------
    >>> import numpy as np
    >>> import crossent
    >>> print(np.round(crossent.norm_logpdf([0.0, 1.0], loc=0.5, scale=[1.0, 2.0]), 6))
    [-1.043939 -1.643336]
    >>> float(crossent.norm_logpdf(1.0, scale=-1.0))
    nan
    """
    cdef Walk w
    xa0 = as_array_arg(x, "x")
    la0 = as_array_arg(loc, "loc")
    sa0 = as_array_arg(scale, "scale")
    for arr, name in ((xa0, "x"), (la0, "loc"), (sa0, "scale")):
        if arr.dtype.kind == "c":
            raise TypeError(f"{name}: complex input is not supported")
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name}: dtype {arr.dtype} is not a real number type")
    # dtype: NumPy promotion of the float dtypes of the array arguments; Python
    # scalars (the defaults) do not widen float32
    dts = []
    for arr, obj, name in ((xa0, x, "x"), (la0, loc, "loc"), (sa0, scale, "scale")):
        if type(obj) is not int and type(obj) is not float:  # NumPy scalars are not weak (NEP 50)
            dts.append(as_float_array(np.empty(0, arr.dtype), name).dtype)
        else:
            dts.append(obj)  # weak: np.result_type(0.5, float32) is float32
    dt = np.result_type(*dts)
    if dt.kind != "f":  # Python ints alone
        dt = np.dtype(np.float64)
    try:
        xb, lb, sb = np.broadcast_arrays(xa0, la0, sa0)
    except ValueError as exc:
        raise ValueError(f"x, loc and scale do not broadcast: shapes {xa0.shape}, "
                         f"{la0.shape}, {sa0.shape}") from exc
    cdef cnp.ndarray xa = as_float_array(xb, "x", dt)
    cdef cnp.ndarray la = as_float_array(lb, "loc", dt)
    cdef cnp.ndarray sa = as_float_array(sb, "scale", dt)
    cdef cnp.ndarray y = output_for(out, (<object>xa).shape, dt, [xa0, la0, sa0],
                                    ["x", "loc", "scale"])
    build_walk(&w, [xa, la, sa, y])
    cdef int nt = resolve_threads(n_threads, xa.size)
    if dt.itemsize == 4:
        with nogil:
            run_norm(&w, <const float *>cnp.PyArray_DATA(xa), <const float *>cnp.PyArray_DATA(la),
                     <const float *>cnp.PyArray_DATA(sa), <float *>cnp.PyArray_DATA(y), nt)
    else:
        with nogil:
            run_norm(&w, <const double *>cnp.PyArray_DATA(xa), <const double *>cnp.PyArray_DATA(la),
                     <const double *>cnp.PyArray_DATA(sa), <double *>cnp.PyArray_DATA(y), nt)
    return finish_out(y, out)
