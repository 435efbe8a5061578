# cython: language_level=3
"""log_expit and norm_logpdf: elementwise kernels over broadcast strided arrays."""
import numpy as np
cimport numpy as cnp
from cython cimport floating
from crossent._walk cimport (
    Walk, WalkRules, MAXD, MAXOP, walk_arrays, run_tasks, task_range,
    span_offsets,
)

from crossent._csrc cimport cx_lse_table
from crossent._dispatch cimport lse_table
from crossent._common cimport (
    resolve_threads, as_array_arg, as_float_array, out_target, finish_target,
)

cnp.import_array()

cdef cx_lse_table T = lse_table()[0]

cdef enum:
    RUN = 4096          # elements per task

# the whole array one row, in groups of RUN elements
cdef WalkRules RULES = {"task_len": RUN, "max_rpt": 1, "group_len": RUN, "tile": 0,
                        "across_short": 0, "across_width": 0, "across_len": 0, "nkey": 1}


cdef struct Args:
    bint f32
    bint norm           # norm_logpdf (operands x, loc, scale, y), else log_expit (x, y)
    const void *x
    const void *loc
    const void *scale
    void *y


cdef void task(const Walk *w, const Args *a, Py_ssize_t t, floating dummy) noexcept nogil:
    cdef Py_ssize_t base[MAXOP]
    cdef Py_ssize_t off[MAXOP]
    cdef Py_ssize_t f, f1, m
    cdef int last = w.nd - 1
    cdef int yo = 3 if a.norm else 1
    task_range(w, t, base, &f, &f1)
    while f < f1:
        m = span_offsets(w, base, f, f1, off)
        if a.norm:
            if floating is float:
                T.norm_logpdf_f32(<const float *>a.x + off[0], w.st[0][last],
                                  <const float *>a.loc + off[1], w.st[1][last],
                                  <const float *>a.scale + off[2], w.st[2][last],
                                  <float *>a.y + off[3], w.st[3][last], m)
            else:
                T.norm_logpdf_f64(<const double *>a.x + off[0], w.st[0][last],
                                  <const double *>a.loc + off[1], w.st[1][last],
                                  <const double *>a.scale + off[2], w.st[2][last],
                                  <double *>a.y + off[3], w.st[3][last], m)
        elif floating is float:
            T.log_expit_f32(<const float *>a.x + off[0], w.st[0][last],
                            <float *>a.y + off[1], w.st[1][last], m)
        else:
            T.log_expit_f64(<const double *>a.x + off[0], w.st[0][last],
                            <double *>a.y + off[1], w.st[1][last], m)
        f += m


cdef void run_task(const Walk *w, void *a, Py_ssize_t t) noexcept nogil:
    if (<Args *>a).f32:
        task(w, <Args *>a, t, <float>0)
    else:
        task(w, <Args *>a, t, <double>0)


cdef int run(Args *a, list arrays, n_threads) except -1:
    """One walk over the operands (broadcast to arrays[0]'s shape, the output last)."""
    cdef Walk w
    cdef cnp.ndarray a0 = arrays[0]
    # (every operand walkable: whole elements)
    walk_arrays(&w, arrays, cnp.PyArray_NDIM(a0), cnp.PyArray_DIMS(a0), NULL, &RULES)
    cdef int nt = resolve_threads(n_threads, cnp.PyArray_SIZE(a0))
    a.f32 = cnp.PyArray_ITEMSIZE(a0) == 4
    with nogil:
        run_tasks(&w, run_task, a, nt, False)
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
    cdef Args a
    x0 = as_array_arg(x, "x")
    cdef cnp.ndarray xa = as_float_array(x0, "x")
    cdef cnp.ndarray y = output_for(out, (<object>xa).shape, xa.dtype, [x0], ["x"])
    a.norm = False
    a.x = cnp.PyArray_DATA(xa)
    a.y = cnp.PyArray_DATA(y)
    run(&a, [xa, y], n_threads)
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
    cdef Args a
    a.norm = True
    a.x = cnp.PyArray_DATA(xa)
    a.loc = cnp.PyArray_DATA(la)
    a.scale = cnp.PyArray_DATA(sa)
    a.y = cnp.PyArray_DATA(y)
    run(&a, [xa, la, sa, y], n_threads)
    return finish_out(y, out)
