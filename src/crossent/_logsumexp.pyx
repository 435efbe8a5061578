# cython: language_level=3
"""logsumexp, softmax and log_softmax: OpenMP drivers and the fronts."""
import numpy as np
cimport numpy as cnp
from cython cimport floating
from libc.stdlib cimport malloc, free

from crossent._csrc cimport (
    cx_lse_acc, cx_lse_wacc, cx_lse_table, cx_lse_value, cx_lse_wvalue,
    cx_pairwise_stack, cx_pairwise_init, cx_pairwise_push, cx_pairwise_result,
    CX_TILE_W, CX_GROUP_LEN,
)
from crossent._walk cimport (
    Walk, WalkRules, MAXD, MAXOP, WALK_EMPTY, WALK_ROWS, WALK_GROUPS, WALK_ACROSS,
    build_walk, walk_arrays, operand_strides, run_tasks, row_offsets, tile_offsets,
    task_range, red_stride,
)
from crossent._common cimport (
    resolve_threads, as_array_arg, as_float_array, normalize_axes, check_out, check_overlap,
    walkable, finish_target,
)

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    object PyArray_Scalar(void *data, cnp.PyArray_Descr *descr, object base)

from crossent._dispatch cimport lse_table
cdef cx_lse_table T = lse_table()[0]

cdef enum:
    SHORT_ROW = 32      # rows shorter than this are walked across (side by side)

cdef enum Op:
    OP_LSE = 0
    OP_LOG_SOFTMAX = 1
    OP_SOFTMAX = 2

# ---------------------------------------------------------------- kernels ---

# log_softmax needs every term to full relative accuracy in rows with a
# dominant entry (its log-softmax is -log1p(rest)): those rows are summed again
# exactly; logsumexp and softmax take the fast sums.

cdef inline cx_lse_acc row_acc(Op op, const floating *x, Py_ssize_t n, Py_ssize_t s) noexcept nogil:
    if floating is float:
        return T.lse_row_refined_f32(x, n, s) if op == OP_LOG_SOFTMAX else T.lse_row_f32(x, n, s)
    else:
        return T.lse_row_refined_f64(x, n, s) if op == OP_LOG_SOFTMAX else T.lse_row_f64(x, n, s)


cdef inline cx_lse_acc row_acc_exact(const floating *x, Py_ssize_t n, Py_ssize_t s) noexcept nogil:
    if floating is float:
        return T.lse_row_exact_f32(x, n, s)
    else:
        return T.lse_row_exact_f64(x, n, s)


cdef inline cx_lse_acc group_acc(const floating *x, Py_ssize_t n, Py_ssize_t s) noexcept nogil:
    if floating is float:
        return T.lse_group_f32(x, n, s)
    else:
        return T.lse_group_f64(x, n, s)


cdef inline void write_row(Op op, const floating *x, Py_ssize_t n, Py_ssize_t sx,
                           floating *y, Py_ssize_t sy, cx_lse_acc acc) noexcept nogil:
    if op == OP_LOG_SOFTMAX:
        if floating is float:
            T.log_softmax_write_f32(x, n, sx, y, sy, acc)
        else:
            T.log_softmax_write_f64(x, n, sx, y, sy, acc)
    else:
        if floating is float:
            T.softmax_write_f32(x, n, sx, y, sy, acc)
        else:
            T.softmax_write_f64(x, n, sx, y, sy, acc)


cdef inline double repeated_rest(double rest, Py_ssize_t k) noexcept nogil:
    """`rest` of k copies of the terms: exp(m) * k * (1 + rest) = exp(m) * (1 + rest')."""
    return rest * <double>k + <double>(k - 1) if k != 1 else rest


cdef inline cx_lse_acc repeated(cx_lse_acc acc, Py_ssize_t k) noexcept nogil:
    acc.rest = repeated_rest(acc.rest, k)
    return acc


cdef enum Task:
    TASK_ROWS = 0
    TASK_ACROSS = 1
    TASK_GROUP = 2          # long rows, pass 1: the groups' partials
    TASK_GROUP_WRITE = 3    # long rows, pass 2 (softmax, log_softmax): the groups written
    TASK_WEIGHTED = 4       # logsumexp with weights b


cdef struct Args:
    Task task
    Op op
    bint f32
    const void *x           # operand 0
    void *y                 # operand 1: the result (a row's value, or the row)
    const void *b           # operand 2: logsumexp's weights b, or NULL
    void *sgn               # the weighted sums' signs (y's layout)
    Py_ssize_t rep          # OP_LSE: every term counts rep times (broadcast reduced dims)
    cx_lse_acc *parts       # GROUPS: per task
    cx_lse_acc *rowacc      # GROUPS: per row


cdef WalkRules RULES = {"task_len": 0, "max_rpt": 1, "group_len": CX_GROUP_LEN,
                        "tile": CX_TILE_W, "across_short": SHORT_ROW, "across_width": 2,
                        "across_len": 0, "nkey": 1}
cdef WalkRules WEIGHTED_RULES = {"task_len": 0, "max_rpt": 1, "group_len": 0, "tile": 0,
                                 "across_short": 0, "across_width": 0, "across_len": 0,
                                 "nkey": 1}


cdef void task_rows(const Walk *w, const Args *a, Py_ssize_t t, floating dummy) noexcept nogil:
    cdef Py_ssize_t off[MAXOP]
    cdef Py_ssize_t r, r1 = min(w.rows, (t + 1) * w.rpt)
    cdef cx_lse_acc acc
    cdef const floating *x = <const floating *>a.x
    cdef floating *y = <floating *>a.y
    for r in range(t * w.rpt, r1):
        row_offsets(w, r, off)
        acc = row_acc(a.op, x + off[0], w.n, red_stride(w, 0))
        if a.op == OP_LSE:
            y[off[1]] = <floating>cx_lse_value(repeated(acc, a.rep))
        else:
            write_row(a.op, x + off[0], w.n, red_stride(w, 0), y + off[1], red_stride(w, 1), acc)


cdef void task_across(const Walk *w, const Args *a, Py_ssize_t t, floating dummy) noexcept nogil:
    cdef Py_ssize_t off[MAXOP]
    cdef Py_ssize_t f0, f1, nc, j, n = w.n
    cdef double m[CX_TILE_W]
    cdef double rest[CX_TILE_W]
    cdef int td = w.nk - 1
    cdef Py_ssize_t sn = red_stride(w, 0), yn = red_stride(w, 1)
    cdef Py_ssize_t sc = w.st[0][td], yc = w.st[1][td]
    nc = tile_offsets(w, t, off, &f0, &f1)
    cdef const floating *x = <const floating *>a.x + off[0]
    cdef floating *y = <floating *>a.y + off[1]
    if floating is float:
        if a.op == OP_LOG_SOFTMAX:
            T.lse_cols_exact_f32(x, n, sn, nc, sc, m, rest)
        else:
            T.lse_cols_f32(x, n, sn, nc, sc, m, rest)
        if a.op == OP_LSE:
            for j in range(nc):
                rest[j] = repeated_rest(rest[j], a.rep)
            T.lse_cols_finish_f32(nc, m, rest, y, yc)
        elif a.op == OP_LOG_SOFTMAX:
            T.log_softmax_cols_write_f32(x, n, sn, nc, sc, m, rest, y, yn, yc)
        else:
            T.softmax_cols_write_f32(x, n, sn, nc, sc, m, rest, y, yn, yc)
    else:
        if a.op == OP_LOG_SOFTMAX:
            T.lse_cols_exact_f64(x, n, sn, nc, sc, m, rest)
        else:
            T.lse_cols_f64(x, n, sn, nc, sc, m, rest)
        if a.op == OP_LSE:
            for j in range(nc):
                rest[j] = repeated_rest(rest[j], a.rep)
            T.lse_cols_finish_f64(nc, m, rest, y, yc)
        elif a.op == OP_LOG_SOFTMAX:
            T.log_softmax_cols_write_f64(x, n, sn, nc, sc, m, rest, y, yn, yc)
        else:
            T.softmax_cols_write_f64(x, n, sn, nc, sc, m, rest, y, yn, yc)


cdef void task_group(const Walk *w, const Args *a, Py_ssize_t t, floating dummy) noexcept nogil:
    cdef Py_ssize_t off[MAXOP]
    cdef Py_ssize_t f0, f1, sn = red_stride(w, 0)
    task_range(w, t, off, &f0, &f1)
    a.parts[t] = group_acc(<const floating *>a.x + off[0] + f0 * sn, f1 - f0, sn)


cdef void task_group_write(const Walk *w, const Args *a, Py_ssize_t t,
                           floating dummy) noexcept nogil:
    cdef Py_ssize_t off[MAXOP]
    cdef Py_ssize_t f0, f1, sn = red_stride(w, 0), yn = red_stride(w, 1)
    task_range(w, t, off, &f0, &f1)
    write_row(a.op, <const floating *>a.x + off[0] + f0 * sn, f1 - f0, sn,
              <floating *>a.y + off[1] + f0 * yn, yn, a.rowacc[t // w.ngroups])


cdef void task_weighted(const Walk *w, const Args *a, Py_ssize_t t, floating dummy) noexcept nogil:
    cdef Py_ssize_t off[MAXOP]
    cdef double sign
    cdef cx_lse_wacc acc
    row_offsets(w, t, off)
    if floating is float:
        acc = T.lse_weighted_row_f32(<const float *>a.x + off[0], red_stride(w, 0),
                                     <const float *>a.b + off[2], red_stride(w, 2), w.n)
    else:
        acc = T.lse_weighted_row_f64(<const double *>a.x + off[0], red_stride(w, 0),
                                     <const double *>a.b + off[2], red_stride(w, 2), w.n)
    if a.rep != 1:  # rep copies of every term (broadcast reduced dims)
        acc.ones *= <double>a.rep
        acc.rest *= <double>a.rep
    (<floating *>a.y)[off[1]] = <floating>cx_lse_wvalue(acc, &sign)
    (<floating *>a.sgn)[off[1]] = <floating>sign


cdef inline void dispatch(const Walk *w, const Args *a, Py_ssize_t t,
                          floating dummy) noexcept nogil:
    if a.task == TASK_ROWS:
        task_rows(w, a, t, dummy)
    elif a.task == TASK_ACROSS:
        task_across(w, a, t, dummy)
    elif a.task == TASK_GROUP:
        task_group(w, a, t, dummy)
    elif a.task == TASK_GROUP_WRITE:
        task_group_write(w, a, t, dummy)
    else:
        task_weighted(w, a, t, dummy)


cdef void run_task(const Walk *w, void *a, Py_ssize_t t) noexcept nogil:
    """The walker's task function: this pass's task kind, in the input's dtype."""
    if (<Args *>a).f32:
        dispatch(w, <Args *>a, t, <float>0)
    else:
        dispatch(w, <Args *>a, t, <double>0)


cdef void combine_groups(const Walk *w, Args *a, floating dummy) noexcept nogil:
    """Each row's groups combined in the order cx_lse_row uses (bitwise the same as
    one thread); OP_LSE's values written."""
    cdef Py_ssize_t r, g
    cdef Py_ssize_t off[MAXOP]
    cdef cx_pairwise_stack st
    for r in range(w.rows):
        cx_pairwise_init(&st)
        for g in range(w.ngroups):
            cx_pairwise_push(&st, a.parts[r * w.ngroups + g])
        a.rowacc[r] = cx_pairwise_result(&st)
        if a.op == OP_LOG_SOFTMAX and a.rowacc[r].rest < 1.0:  # as cx_lse_row_refined
            row_offsets(w, r, off)
            a.rowacc[r] = row_acc_exact(<const floating *>a.x + off[0], w.n, red_stride(w, 0))
        if a.op == OP_LSE:
            row_offsets(w, r, off)
            (<floating *>a.y)[off[1]] = <floating>cx_lse_value(repeated(a.rowacc[r], a.rep))


cdef int run_groups(const Walk *w, Args *a, int nthreads) except -1 nogil:
    """Long rows: groups in parallel, combined per row, then (softmax) written in parallel."""
    a.parts = <cx_lse_acc *>malloc(w.ntasks * sizeof(cx_lse_acc))
    a.rowacc = <cx_lse_acc *>malloc(w.rows * sizeof(cx_lse_acc))
    if a.parts == NULL or a.rowacc == NULL:
        free(a.parts)
        free(a.rowacc)
        with gil:
            raise MemoryError()
    a.task = TASK_GROUP
    run_tasks(w, run_task, a, nthreads, False)
    if a.f32:
        combine_groups(w, a, <float>0)
    else:
        combine_groups(w, a, <double>0)
    if a.op != OP_LSE:
        a.task = TASK_GROUP_WRITE
        run_tasks(w, run_task, a, nthreads, False)
    free(a.parts)
    free(a.rowacc)
    return 0


cdef int run(const Walk *w, Op op, bint f32, const void *x, void *y, int nthreads,
             Py_ssize_t rep=1, const void *b=NULL, void *sgn=NULL) except -1 nogil:
    """One walk of logsumexp / log_softmax / softmax; with weights b (OP_LSE, rows of
    one task each), log |sum b exp(x)| and its sign in sgn (y's layout; an empty row
    gives -inf with sign 0 through the same kernel)."""
    cdef Args a
    a.op = op
    a.f32 = f32
    a.x = x
    a.y = y
    a.b = b
    a.sgn = sgn
    a.rep = rep
    if b != NULL:
        a.task = TASK_WEIGHTED
    elif w.path == WALK_GROUPS:
        return run_groups(w, &a, nthreads)
    else:
        a.task = TASK_ROWS if w.path == WALK_ROWS else TASK_ACROSS
    if w.path != WALK_EMPTY:
        run_tasks(w, run_task, &a, nthreads, False)
    return 0


cdef int walk_xyb(Walk *w, cnp.ndarray x, cnp.ndarray y, cnp.ndarray b,
                  const int *is_red, const WalkRules *rules) except -2:
    """The walk of x (operand 0), y (1) and b (2, or None); -1 when a stride is not a
    whole number of elements or the reduced axes are not one stride (the caller then
    copies once)."""
    cdef int nd = cnp.PyArray_NDIM(x)
    if walk_arrays(w, [x, y, b], nd, cnp.PyArray_DIMS(x), is_red, rules) < 0:
        return -1
    return -1 if w.nd - w.nk > 1 else 0


cdef inline int one_stride(Walk *w, int nd, const cnp.npy_intp *shape,
                           const Py_ssize_t (*st)[MAXD], const int *is_red,
                           const WalkRules *rules) noexcept:
    build_walk(w, nd, shape, 3, st, is_red, rules)
    return -1 if w.nd - w.nk > 1 else 0


# ----------------------------------------------------------------- fronts ---

cdef cnp.ndarray reduced_copy(cnp.ndarray a, tuple axes):
    """a with the reduced axes moved last and merged: one copy."""
    cdef int nd = a.ndim
    outer = [i for i in range(nd) if i not in axes]
    moved = np.ascontiguousarray(a.transpose(outer + list(axes)))
    n = 1
    for i in axes:
        n *= a.shape[i]
    return moved.reshape(tuple(a.shape[i] for i in outer) + (n,))


cdef tuple drop_repeats(cnp.ndarray x, cnp.ndarray b, tuple axes):
    """(x, b, k): x and b indexed at 0 (kept with size 1) along the reduced dims where
    neither moves (stride 0, as np.broadcast_to makes), which hold k copies of the
    remaining terms.  Walking one copy and counting it k times replaces copying the
    broadcast into memory (2**31 repeats would take 17 GB)."""
    cdef Py_ssize_t k = 1
    cdef int i
    if x.size == 0:
        return x, b, 1
    idx = []
    for i in range(x.ndim):
        if (i in axes and x.shape[i] > 1 and x.strides[i] == 0
                and (b is None or b.strides[i] == 0)):
            k *= x.shape[i]
            idx.append(slice(0, 1))
        else:
            idx.append(slice(None))
    if k == 1:
        return x, b, 1
    idx = tuple(idx)
    return x[idx], (None if b is None else b[idx]), k


cdef int fill_mask(int *mask, int nd, tuple axes) except -1:
    cdef int i
    for i in range(nd):
        mask[i] = 0
    for i in axes:
        mask[i] = 1
    return 0


cdef int run_any(const Walk *w, Op op, cnp.ndarray x, cnp.ndarray y, int nthreads,
                 Py_ssize_t rep=1) except -1:
    cdef bint f32 = cnp.PyArray_ITEMSIZE(x) == 4
    cdef const void *xd = cnp.PyArray_DATA(x)
    cdef void *yd = cnp.PyArray_DATA(y)
    with nogil:
        run(w, op, f32, xd, yd, nthreads, rep)
    return 0


cdef object reduce_lse(cnp.ndarray x, object x0, tuple axes, bint keepdims, object out,
                       object n_threads):
    """logsumexp without weights (`x0`: the caller's array, for the overlap check)."""
    cdef Walk w
    cdef int mask[64]
    cdef int nd = x.ndim
    cdef cnp.ndarray y, target, tw
    keep_shape = tuple(1 if i in axes else x.shape[i] for i in range(nd))
    final_shape = keep_shape if keepdims else tuple(x.shape[i] for i in range(nd) if i not in axes)
    if out is not None:
        target = check_out(out, final_shape, x.dtype)
        check_overlap(target, x0, "a")
        tw = walkable(target)
        y = tw if keepdims else walkable(np.expand_dims(tw, axes))
    else:
        y = np.empty(keep_shape, dtype=x.dtype)
    fill_mask(mask, nd, axes)
    cdef cnp.ndarray xw = x
    cdef Py_ssize_t rep = 1
    if walk_xyb(&w, x, y, None, mask, &RULES) < 0:
        xw, _, rep = drop_repeats(x, None, axes)
        if rep == 1 or walk_xyb(&w, xw, y, None, mask, &RULES) < 0:
            rep = 0
    if rep == 0:
        xc = reduced_copy(x, axes)
        cshape = (<object>xc).shape
        yc = np.empty(cshape[:len(cshape) - 1] + (1,), x.dtype)
        reduce_lse(xc, xc, (xc.ndim - 1,), True, yc, n_threads)
        y[...] = yc.reshape(keep_shape)
    else:
        if w.path == WALK_EMPTY:
            resolve_threads(n_threads, 0)  # checked even where no kernel runs
            y.fill(-np.inf)
        else:
            run_any(&w, OP_LSE, xw, y, resolve_threads(n_threads, xw.size), rep)
    if out is not None:
        return finish_target(tw, target)  # as NumPy: out itself, even 0-d
    res = y if keepdims else y.reshape(final_shape)
    return res if res.ndim else res[()]


cdef tuple reduce_lse_weighted(cnp.ndarray x, cnp.ndarray b, tuple axes, object n_threads):
    """(log |sum b exp(x)|, sign) over axes, in keepdims shape."""
    cdef Walk w
    cdef int mask[64]
    cdef int nd = x.ndim
    keep_shape = tuple(1 if i in axes else x.shape[i] for i in range(nd))
    cdef cnp.ndarray y = np.empty(keep_shape, dtype=x.dtype)
    cdef cnp.ndarray sgn = np.empty(keep_shape, dtype=x.dtype)
    fill_mask(mask, nd, axes)
    cdef Py_ssize_t rep = 1
    if walk_xyb(&w, x, y, b, mask, &WEIGHTED_RULES) < 0:
        xw, bw, rep = drop_repeats(x, b, axes)
        if rep == 1 or walk_xyb(&w, xw, y, bw, mask, &WEIGHTED_RULES) < 0:
            rep = 0
        else:
            x, b = xw, bw
    if rep == 0:
        xc = reduced_copy(x, axes)
        yc, sc = reduce_lse_weighted(xc, reduced_copy(b, axes), (xc.ndim - 1,), n_threads)
        return yc.reshape(keep_shape), sc.reshape(keep_shape)
    # the sign array shares y's layout, so one plan serves both
    cdef int nt = resolve_threads(n_threads, x.size)
    cdef bint f32 = cnp.PyArray_ITEMSIZE(x) == 4
    cdef const void *xd = cnp.PyArray_DATA(x)
    cdef const void *bd = cnp.PyArray_DATA(b)
    cdef void *yd = cnp.PyArray_DATA(y)
    cdef void *sd = cnp.PyArray_DATA(sgn)
    if w.path == WALK_EMPTY:  # empty sums: log 0 with sign 0
        y.fill(-np.inf)
        sgn.fill(0)
    else:
        with nogil:
            run(&w, OP_LSE, f32, xd, yd, nt, rep, bd, sd)
    return y, sgn


cdef object finish_weighted(cnp.ndarray x, object x0, object b0, tuple axes, bint keepdims,
                            bint return_sign, cnp.ndarray y, cnp.ndarray sgn, object out):
    """Shape the weighted result as asked (keepdims, out=, sign)."""
    if not return_sign:
        y[sgn < 0] = np.nan  # log of a negative sum, as SciPy
    if not keepdims:
        final_shape = tuple(x.shape[i] for i in range(x.ndim) if i not in axes)
        y = y.reshape(final_shape)
        sgn = sgn.reshape(final_shape)
    if out is not None:
        target = check_out(out, (<object>y).shape, x.dtype)
        check_overlap(target, x0, "a")  # as the unweighted path, though y is a temporary
        check_overlap(target, b0, "b")
        target[...] = y
        value = out  # as NumPy: out itself, even 0-d
    else:
        value = y if y.ndim else y[()]
    if return_sign:
        return value, (sgn if sgn.ndim else sgn[()])
    return value


cdef object lse_fast(object a, object axis, bint keepdims, object n_threads):
    """The common call, checked and run at C level (a native float32/float64
    ndarray, axis None or an int, no b/out/sign); None when it does not apply."""
    if type(a) is not np.ndarray:
        return None
    cdef cnp.ndarray x = <cnp.ndarray>a
    cdef int typenum = cnp.PyArray_TYPE(x)
    cdef int nd = cnp.PyArray_NDIM(x), i, ax = -1, ond = 0
    if (typenum != cnp.NPY_DOUBLE and typenum != cnp.NPY_FLOAT) or nd == 0 or nd > MAXD:
        return None
    if cnp.PyArray_ISBYTESWAPPED(x) or not cnp.PyArray_ISALIGNED(x):
        return None
    if axis is not None:
        if type(axis) is not int or axis < -nd or axis >= nd:
            return None  # (compared as Python ints: 2**70 must not overflow ax)
        ax = axis
        if ax < 0:
            ax += nd
    cdef Walk w
    cdef int mask[MAXD]
    cdef Py_ssize_t st[3][MAXD]   # x, y, no b
    cdef cnp.npy_intp odims[MAXD]
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(x)
    cdef double val64 = 0
    cdef float val32 = 0
    cdef cnp.ndarray y = None
    cdef void *ydata
    if operand_strides(x, nd, dims, st[0]):
        return None
    for i in range(nd):
        mask[i] = ax < 0 or i == ax
        st[1][i] = 0
        st[2][i] = 0
        if not mask[i] or keepdims:
            odims[ond] = 1 if mask[i] else dims[i]
            ond += 1
    if ond == 0:  # full reduction to a scalar
        ydata = <void *>&val64 if typenum == cnp.NPY_DOUBLE else <void *>&val32
    else:
        y = cnp.PyArray_EMPTY(ond, odims, typenum, 0)
        ydata = cnp.PyArray_DATA(y)
        ond = 0
        for i in range(nd):
            if not mask[i] or keepdims:
                if not mask[i]:
                    st[1][i] = cnp.PyArray_STRIDES(y)[ond] // cnp.PyArray_ITEMSIZE(x)
                ond += 1
    if one_stride(&w, nd, dims, <const Py_ssize_t (*)[MAXD]>st, mask, &RULES) < 0:
        return None  # reduced axes that need a copy: the general path
    cdef int nt = resolve_threads(n_threads, cnp.PyArray_SIZE(x))
    cdef bint f32 = typenum == cnp.NPY_FLOAT
    cdef const void *xd = cnp.PyArray_DATA(x)
    if w.path == WALK_EMPTY:
        if y is None:
            val64 = val32 = -np.inf
        else:
            y.fill(-np.inf)
    else:
        with nogil:
            run(&w, OP_LSE, f32, xd, ydata, nt)
    if y is not None:
        return y
    return PyArray_Scalar(ydata, cnp.PyArray_DESCR(x), None)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, *, out=None,
              n_threads=None):
    """Log of the sum of exponentials, computed stably: ``log(sum(b * exp(a)))``.

    Drop-in for :func:`scipy.special.logsumexp` (same signature and edge cases),
    compiled, multithreaded and at least as exact.

    Parameters
    ----------
    a : array_like
        Input values (float32 and float64 computed natively; integers and bools as
        float64; float16 as float32; complex raises ``TypeError``).
    axis : None or int or tuple of ints, optional
        Axis or axes to reduce over; ``None`` (default) reduces over all of them.
    b : array_like, optional
        Weights broadcast against `a`.  Entries with ``b == 0`` contribute nothing;
        negative weights need ``return_sign=True`` for a finite result.
    keepdims : bool, optional
        Keep the reduced axes with size one.
    return_sign : bool, optional
        Also return the sign of the sum (-1, 0 or +1).
    out : ndarray, optional
        Where to write the result (exact shape and dtype).
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.

    Returns
    -------
    res : ndarray or scalar
        ``log(|sum(b * exp(a))|)`` over the axes; a NumPy scalar for a full
        reduction.
    sgn : ndarray or scalar
        The sign of the sum; only with ``return_sign=True``.

    Raises
    ------
    TypeError
        For complex or non-numeric input, non-integer `axis` or `n_threads`.
    ValueError
        For an out-of-range or repeated axis, ``n_threads <= 0`` or a wrong `out`.

    Notes
    -----
    Follows :func:`scipy.special.logsumexp`: same signature, edge cases and
    result dtype (NumPy promotion of `a` and `b`).  It differs where the API
    contract says so: complex input raises ``TypeError`` (SciPy accepts it),
    float16 is computed and returned as float32, and `out` and `n_threads`
    are additions.

    The largest term is taken out and the others are summed (pairwise, in
    float64) and added through ``log1p``, so ``logsumexp([0, -40])`` is
    4.25e-18, not 0.  An empty reduction is ``-inf``; a slice of all ``-inf``
    is ``-inf``; ``+inf`` present gives ``+inf``; NaN gives NaN.

    Examples
    --------
    >>> import numpy as np
    >>> import crossent
    >>> float(crossent.logsumexp([0.0, -40.0]))
    4.248354255291589e-18
    >>> print(np.round(crossent.logsumexp([[1.0, 2.0], [3.0, 4.0]], axis=1), 6))
    [2.313262 4.313262]

    A negative weight needs the sign: ``log|e - e**2|`` and -1.

    >>> res, sgn = crossent.logsumexp([1.0, 2.0], b=[1.0, -1.0], return_sign=True)
    >>> round(float(res), 6), float(sgn)
    (1.541325, -1.0)
    """
    cdef cnp.ndarray x, bw
    if b is None and out is None and not return_sign:
        res = lse_fast(a, axis, keepdims, n_threads)
        if res is not None:
            return res
    if b is None:
        x0 = as_array_arg(a, "a")
        x = as_float_array(x0, "a")
        if x.ndim == 0:  # SciPy treats a 0-d input as 1-d
            x = x.reshape(1)
    else:
        x0 = as_array_arg(a, "a")
        b0 = as_array_arg(b, "b")
        if x0.dtype.kind == "c" or b0.dtype.kind == "c":
            raise TypeError("a and b: complex input is not supported")
        # NumPy promotion of the float dtypes; a Python scalar a or b is "weak"
        dt = np.result_type(
            a if isinstance(a, (int, float)) and not isinstance(a, bool)
            else as_float_array(np.empty(0, x0.dtype), "a").dtype,
            b if isinstance(b, (int, float)) and not isinstance(b, bool)
            else as_float_array(np.empty(0, b0.dtype), "b").dtype)
        if dt.kind != "f":  # Python ints alone
            dt = np.dtype(np.float64)
        try:
            x0, b0 = np.broadcast_arrays(x0, b0)
        except ValueError as exc:
            raise ValueError(f"b with shape {b0.shape} does not broadcast against a with "
                             f"shape {x0.shape}") from exc
        x = as_float_array(x0, "a", dt)
        bw = as_float_array(b0, "b", dt)
        if x.ndim == 0:
            x = x.reshape(1)
            bw = bw.reshape(1)
    axes = normalize_axes(axis, x.ndim)
    if b is None:
        if return_sign:
            res = reduce_lse(x, x0, axes, keepdims, out, n_threads)
            sgn = np.where(np.isneginf(res), 0.0, np.where(np.isnan(res), np.nan, 1.0)).astype(x.dtype)
            return res, (sgn if sgn.ndim else sgn[()])
        return reduce_lse(x, x0, axes, keepdims, out, n_threads)
    y, sgn = reduce_lse_weighted(x, bw, axes, n_threads)
    return finish_weighted(x, x0, b0, axes, keepdims, return_sign, y, sgn, out)


cdef object elementwise_lse(Op op, object x_in, object axis, object out, object n_threads):
    cdef Walk w
    cdef int mask[64]
    x0 = as_array_arg(x_in, "x")
    cdef cnp.ndarray x = as_float_array(x0, "x")
    cdef cnp.ndarray y, target = None
    cdef bint scalar = x.ndim == 0
    if scalar:  # as SciPy and torch: a 0-d input (axis 0, -1 or None) is one element
        x = x.reshape(1)
    cdef int nd = x.ndim
    axes = normalize_axes(axis, nd)
    cdef int nt = resolve_threads(n_threads, x.size)  # checked even where no kernel runs (empty x)
    if out is not None:
        target = check_out(out, (<object>x0).shape, x.dtype)
        check_overlap(target, x0, "x")
        y = walkable(target.reshape(1) if scalar else target)
    else:
        y = np.empty((<object>x).shape, dtype=x.dtype)
    fill_mask(mask, nd, axes)
    if walk_xyb(&w, x, y, None, mask, &RULES) < 0:
        # reduced axes that do not share one stride: compute on one copy
        outer = [i for i in range(nd) if i not in axes]
        perm = outer + list(axes)
        xc = reduced_copy(x, axes)
        yc = elementwise_lse(op, xc, xc.ndim - 1, None, n_threads)
        y.transpose(perm)[...] = yc.reshape((<object>x).transpose(perm).shape)
    elif w.path != WALK_EMPTY:
        run_any(&w, op, x, y, nt)
    if target is not None:
        return finish_target(y.reshape((<object>target).shape), target)  # out itself
    return y[0] if scalar else y


def log_softmax(x, axis=None, *, out=None, n_threads=None):
    """Logarithm of the softmax: ``x - logsumexp(x, axis, keepdims=True)``.

    Drop-in for :func:`scipy.special.log_softmax` (``axis=None`` means the whole
    array, as SciPy), compiled and multithreaded.  The dominant entry keeps
    relative accuracy: it is ``-log1p(sum of the others' exp)``, so
    ``log_softmax([0, -40])[0]`` is -4.25e-18, not -0.0.

    Parameters
    ----------
    x : array_like
        Input values (float32/float64 natively; integers as float64).
    axis : None or int or tuple of ints, optional
        Axes of each softmax; ``None`` (default) takes the whole array.
    out : ndarray, optional
        Where to write the result; may be `x` itself (in place).
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.

    Returns
    -------
    ndarray
        Same shape as `x`.  A slice holding NaN or only ``-inf`` is NaN.

    Raises
    ------
    TypeError, ValueError
        As :func:`logsumexp`; also for an `out` that overlaps `x` partially.

    Notes
    -----
    Follows :func:`scipy.special.log_softmax`: same signature (``axis=None``
    is the whole array), edge cases and result dtype.  It differs where the
    API contract says so: complex input raises ``TypeError``, float16 is
    computed and returned as float32, an empty `x` gives an empty result
    (SciPy raises), and `out` and `n_threads` are additions.

    Examples
    --------
    >>> import numpy as np
    >>> import crossent
    >>> [float(v) for v in crossent.log_softmax([0.0, -40.0])]
    [-4.248354255291589e-18, -40.0]
    >>> x = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> print(np.round(crossent.log_softmax(x, axis=1), 6))
    [[-0.241311 -1.741311 -3.241311]
     [-3.009601 -2.909601 -0.109601]]
    """
    return elementwise_lse(OP_LOG_SOFTMAX, x, axis, out, n_threads)


def softmax(x, axis=None, *, out=None, n_threads=None):
    """Softmax: ``exp(x - logsumexp(x, axis, keepdims=True))``.

    Drop-in for :func:`scipy.special.softmax` (``axis=None`` means the whole
    array, as SciPy), compiled and multithreaded.

    Parameters
    ----------
    x : array_like
        Input values (float32/float64 natively; integers as float64).
    axis : None or int or tuple of ints, optional
        Axes of each softmax; ``None`` (default) takes the whole array.
    out : ndarray, optional
        Where to write the result; may be `x` itself (in place).
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.

    Returns
    -------
    ndarray
        Same shape as `x`, summing to one along the axes.  A slice holding NaN,
        ``+inf`` or only ``-inf`` is NaN.

    Raises
    ------
    TypeError, ValueError
        As :func:`logsumexp`; also for an `out` that overlaps `x` partially.

    Notes
    -----
    Follows :func:`scipy.special.softmax`: same signature (``axis=None`` is
    the whole array), edge cases and result dtype.  It differs where the API
    contract says so: complex input raises ``TypeError``, float16 is computed
    and returned as float32, an empty `x` gives an empty result (SciPy
    raises), and `out` (which may be `x`: in place) and `n_threads` are
    additions.

    Examples
    --------
    >>> import numpy as np
    >>> import crossent
    >>> x = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> print(np.round(crossent.softmax(x, axis=1), 6))
    [[0.785597 0.17529  0.039113]
     [0.049311 0.054497 0.896191]]
    >>> _ = crossent.softmax(x, axis=1, out=x)  # in place
    >>> print(np.round(x.sum(axis=1), 6))
    [1. 1.]
    """
    return elementwise_lse(OP_SOFTMAX, x, axis, out, n_threads)
