# cython: language_level=3
"""The cross-entropy family: cross_entropy, nll_loss,
binary_cross_entropy_with_logits and kl_div -- OpenMP drivers and fronts.

Class-axis losses (cross_entropy, nll_loss) walk the input (through the one
walker, ``_walk``) as kept dims x one class axis, by strides (any class axis,
no copy), with two paths chosen from the shape and strides alone:

* rows: the class axis is the short-stride one (or the rows are long): a task
  is a block of rows, each row handled by the csrc row kernel (one read of
  the row for max and sum-exp, label pick, and -- with return_grad -- one
  write of softmax - target, scaled by the reduction, in the same call);
* across: the class axis is strided and the last outer axis has the shorter
  stride (the (N, C, H, W) segmentation layout), or the rows are short: a
  task is a tile of CX_TILE_W rows side by side, vectorised across rows
  (up to CX_TILE_N classes the tile is loaded once -- transposed for C-order
  short rows -- and its exponentials serve both the loss and the gradient).

The gradient (return_grad=True) is written by the same kernel call that
computes the row's loss: softmax - target, scaled by the reduction's factor.
For "mean" over class indices that factor is 1 / (sum of the weights of the
non-ignored labels), so a label pass (validation and weight sum, the same
task split) runs first; otherwise labels are validated inside the main pass.
Elementwise losses (binary_cross_entropy_with_logits, kl_div) walk broadcast
strided operands as one row in groups of EW_RUN elements, one partial sum per
group.

Every task leaves a partial (pairwise sum of its row losses and of its label
weights); partials are combined pairwise in task order.  The tasks depend on
the shape alone, so every n_threads gives bitwise the same result.
"""
import numpy as np
cimport numpy as cnp
from cython cimport floating
from libc.math cimport INFINITY, isinf
from cpython.long cimport PyLong_AsLongLongAndOverflow

from crossent._csrc cimport (
    CX_TILE_W, cx_pairwise_sum, cx_psum, cx_psum_init, cx_psum_push, cx_psum_result,
)
from crossent._csrc_ce cimport cx_ce_table, cx_nll_term
from crossent._walk cimport (
    Walk, WalkRules, Parts, MAXD, MAXOP, WALK_ACROSS, build_walk, walk_arrays, run_tasks,
    operand_strides,
    row_offsets, tile_offsets, task_range, span_offsets, red_stride,
    parts_init, parts_free, parts_sum, parts_flags,
)
from crossent._dispatch cimport ce_table
from crossent._common cimport (
    resolve_threads, as_array_arg, as_float_array, walkable, out_target, finish_target,
    parse_bool, parse_real, parse_reduction, check_buffers, RED_NONE, RED_MEAN, RED_SUM, RED_BATCHMEAN,
)
from crossent._errors import LabelError

cnp.import_array()

cdef cx_ce_table T = ce_table()[0]


cdef enum:
    NOP = 4             # operands: 0 input, 1 target, 2 grad, 3 per-row loss
    SHORT_ROW = 32      # rows shorter than this go across rows
    ROW_TASK = 8192     # elements per task on the row path (shape-derived)
    MAX_RPT = 256       # rows per task at most
    EW_RUN = 8192       # elements per elementwise task

# the class losses: many rows per task, short or strided rows side by side; nll_loss
# (one element per row) MAX_RPT rows per task, never across
cdef WalkRules CLASS_RULES = {"task_len": ROW_TASK, "max_rpt": MAX_RPT, "group_len": 0,
                              "tile": CX_TILE_W, "across_short": SHORT_ROW,
                              "across_width": 2, "across_len": 0, "nkey": 1}
cdef WalkRules NLL_RULES = {"task_len": 1 << 60, "max_rpt": MAX_RPT, "group_len": 0,
                            "tile": 0, "across_short": 0, "across_width": 0,
                            "across_len": 0, "nkey": 1}
# BCE with logits and kl_div: the whole array one row, in groups of EW_RUN elements
cdef WalkRules ELEMENTWISE_RULES = {"task_len": EW_RUN, "max_rpt": 1, "group_len": EW_RUN,
                                    "tile": 0, "across_short": 0, "across_width": 0,
                                    "across_len": 0, "nkey": 1}

cdef enum Op:
    OP_CE = 0           # cross_entropy, class indices
    OP_CE_PROB = 1      # cross_entropy, class probabilities
    OP_NLL = 2          # nll_loss

# ================================================================== labels ===

cdef enum LabelKind:
    LAB_I8 = 0
    LAB_I16 = 1
    LAB_I32 = 2
    LAB_I64 = 3
    LAB_U8 = 4
    LAB_U16 = 5
    LAB_U32 = 6
    LAB_U64 = 7


cdef inline Py_ssize_t read_label(const void *p, Py_ssize_t off, int kind, Py_ssize_t n,
                                  bint has_ignore, cnp.npy_int64 ignore) noexcept nogil:
    """The class index at p[off]: in [0, n), -1 if ignored, -2 if out of range."""
    cdef cnp.npy_int64 v
    cdef cnp.npy_uint64 u
    if kind <= LAB_I64:
        if kind == LAB_I64:
            v = (<const cnp.npy_int64 *>p)[off]
        elif kind == LAB_I32:
            v = (<const cnp.npy_int32 *>p)[off]
        elif kind == LAB_I16:
            v = (<const cnp.npy_int16 *>p)[off]
        else:
            v = (<const cnp.npy_int8 *>p)[off]
        if has_ignore and v == ignore:
            return -1
        if v < 0 or v >= n:
            return -2
        return <Py_ssize_t>v
    if kind == LAB_U64:
        u = (<const cnp.npy_uint64 *>p)[off]
    elif kind == LAB_U32:
        u = (<const cnp.npy_uint32 *>p)[off]
    elif kind == LAB_U16:
        u = (<const cnp.npy_uint16 *>p)[off]
    else:
        u = (<const cnp.npy_uint8 *>p)[off]
    if has_ignore and ignore >= 0 and u == <cnp.npy_uint64>ignore:
        return -1
    if u >= <cnp.npy_uint64>n:
        return -2
    return <Py_ssize_t>u


cdef int label_kind(cnp.ndarray t) noexcept:
    cdef int typ = cnp.PyArray_TYPE(t)
    cdef int size = cnp.PyArray_ITEMSIZE(t)
    cdef bint signed = typ in (cnp.NPY_BYTE, cnp.NPY_SHORT, cnp.NPY_INT, cnp.NPY_LONG,
                               cnp.NPY_LONGLONG)
    if size == 1:
        return LAB_I8 if signed else LAB_U8
    if size == 2:
        return LAB_I16 if signed else LAB_U16
    if size == 4:
        return LAB_I32 if signed else LAB_U32
    return LAB_I64 if signed else LAB_U64


# ========================================================== class-axis kernels ===

cdef struct Args:
    bint f32
    bint labels_only            # the label pass alone (validation and weight sum)
    const void *x
    const void *tgt             # labels (OP_CE, OP_NLL) or probabilities (OP_CE_PROB)
    void *g                     # gradient, or NULL
    void *lout                  # per-row losses (reduction "none"), or NULL
    const void *cw              # class weights (input dtype, contiguous), or NULL
    double wsum                 # sum of the class weights (label smoothing)
    double eps                  # label smoothing
    double gscale               # reduction factor of the gradient
    int kind                    # LabelKind
    bint has_ignore
    cnp.npy_int64 ignore
    Op op
    double *part_loss           # per task
    double *part_w              # per task: sum of the label weights
    int *part_bad               # per task: an out-of-range label seen


cdef void task_rows(const Walk *w, const Args *a, Py_ssize_t t, floating dummy) noexcept nogil:
    cdef Py_ssize_t r0 = t * w.rpt
    cdef Py_ssize_t r1 = min(r0 + w.rpt, w.rows)
    cdef Py_ssize_t r, y, i, n = w.n
    cdef Py_ssize_t off[MAXOP]
    cdef double lbuf[MAX_RPT]
    cdef double wbuf[MAX_RPT]
    cdef int bad = 0
    cdef const floating *x = <const floating *>a.x
    cdef const floating *cw = <const floating *>a.cw
    cdef floating *g = <floating *>a.g
    cdef floating *lo = <floating *>a.lout
    cdef floating *gr
    cdef double wy, loss
    for r in range(r0, r1):
        row_offsets(w, r, off)
        gr = g + off[2] if g != NULL else NULL
        if a.op == OP_CE_PROB:
            wy = 0.0
            if floating is float:
                loss = T.ce_prob_row_f32(x + off[0], n, red_stride(w, 0), <const float *>a.tgt + off[1],
                                         red_stride(w, 1), cw, a.eps, gr, red_stride(w, 2), a.gscale)
            else:
                loss = T.ce_prob_row_f64(x + off[0], n, red_stride(w, 0), <const double *>a.tgt + off[1],
                                         red_stride(w, 1), cw, a.eps, gr, red_stride(w, 2), a.gscale)
        else:
            y = read_label(a.tgt, off[1], a.kind, n, a.has_ignore, a.ignore)
            if y < 0:
                bad |= y == -2
                loss = 0.0
                wy = 0.0
                if gr != NULL and a.op == OP_CE:
                    for i in range(n):
                        gr[i * red_stride(w, 2)] = 0
            else:
                wy = <double>cw[y] if cw != NULL else 1.0
                if a.op == OP_NLL:
                    loss = cx_nll_term(wy, <double>x[off[0] + y * red_stride(w, 0)])
                    if gr != NULL:
                        gr[y * red_stride(w, 2)] = <floating>(-wy * a.gscale)
                elif floating is float:
                    loss = T.ce_row_f32(x + off[0], n, red_stride(w, 0), y, cw, a.wsum, a.eps, gr,
                                        red_stride(w, 2), a.gscale)
                else:
                    loss = T.ce_row_f64(x + off[0], n, red_stride(w, 0), y, cw, a.wsum, a.eps, gr,
                                        red_stride(w, 2), a.gscale)
        if lo != NULL:
            lo[off[3]] = <floating>loss
        lbuf[r - r0] = loss
        wbuf[r - r0] = wy
    a.part_loss[t] = cx_pairwise_sum(lbuf, r1 - r0)
    a.part_w[t] = cx_pairwise_sum(wbuf, r1 - r0)
    a.part_bad[t] = bad


cdef void task_across(const Walk *w, const Args *a, Py_ssize_t t, floating dummy) noexcept nogil:
    cdef int last = w.nk - 1
    cdef Py_ssize_t off[MAXOP]
    cdef Py_ssize_t ys[CX_TILE_W]
    cdef double loss[CX_TILE_W]
    cdef double wb[CX_TILE_W]
    cdef Py_ssize_t j, f0, f1, nr, y, n = w.n
    cdef int bad = 0
    cdef const floating *x = <const floating *>a.x
    cdef const floating *cw = <const floating *>a.cw
    cdef floating *g = <floating *>a.g
    cdef floating *lo = <floating *>a.lout
    cdef floating *gr
    nr = tile_offsets(w, t, off, &f0, &f1)
    loss[0] = 0.0  # (the kernels fill loss[0:nr]; this keeps gcc's flow analysis quiet)
    gr = g + off[2] if g != NULL else NULL
    if a.op == OP_CE_PROB:
        for j in range(nr):
            wb[j] = 0.0
        if floating is float:
            T.ce_prob_cols_f32(x + off[0], n, red_stride(w, 0), nr, w.st[0][last],
                               <const float *>a.tgt + off[1], red_stride(w, 1), w.st[1][last], cw, a.eps,
                               loss, gr, red_stride(w, 2), w.st[2][last], a.gscale)
        else:
            T.ce_prob_cols_f64(x + off[0], n, red_stride(w, 0), nr, w.st[0][last],
                               <const double *>a.tgt + off[1], red_stride(w, 1), w.st[1][last], cw, a.eps,
                               loss, gr, red_stride(w, 2), w.st[2][last], a.gscale)
    else:
        for j in range(nr):
            y = read_label(a.tgt, off[1] + j * w.st[1][last], a.kind, n, a.has_ignore, a.ignore)
            bad |= y == -2
            ys[j] = y if y >= 0 else -1
            wb[j] = (<double>cw[y] if cw != NULL else 1.0) if y >= 0 else 0.0
        if a.op == OP_NLL:
            for j in range(nr):
                y = ys[j]
                if y >= 0:
                    loss[j] = cx_nll_term(wb[j], <double>x[off[0] + y * red_stride(w, 0) + j * w.st[0][last]])
                    if gr != NULL:
                        gr[y * red_stride(w, 2) + j * w.st[2][last]] = <floating>(-wb[j] * a.gscale)
                else:
                    loss[j] = 0.0
        elif floating is float:
            T.ce_cols_f32(x + off[0], n, red_stride(w, 0), nr, w.st[0][last], ys, cw, a.wsum, a.eps,
                          loss, gr, red_stride(w, 2), w.st[2][last], a.gscale)
        else:
            T.ce_cols_f64(x + off[0], n, red_stride(w, 0), nr, w.st[0][last], ys, cw, a.wsum, a.eps,
                          loss, gr, red_stride(w, 2), w.st[2][last], a.gscale)
    if lo != NULL:
        for j in range(nr):
            lo[off[3] + j * w.st[3][last]] = <floating>loss[j]
    a.part_loss[t] = cx_pairwise_sum(loss, nr)
    a.part_w[t] = cx_pairwise_sum(wb, nr)
    a.part_bad[t] = bad


cdef void task_labels(const Walk *w, const Args *a, Py_ssize_t t, floating dummy) noexcept nogil:
    """The label pass alone (validation and weight sum), tasks as the main pass:
    the same partials, so the divisor is bitwise the one the main pass finds."""
    cdef Py_ssize_t off[MAXOP]
    cdef double wb[MAX_RPT]
    cdef Py_ssize_t r, r0, r1, j, f0, f1, nr, y, cnt = 0
    cdef int bad = 0, last = w.nk - 1
    cdef const floating *cw = <const floating *>a.cw
    if w.path == WALK_ACROSS:
        nr = tile_offsets(w, t, off, &f0, &f1)
        for j in range(nr):
            y = read_label(a.tgt, off[1] + j * w.st[1][last], a.kind, w.n, a.has_ignore, a.ignore)
            bad |= y == -2
            wb[j] = (<double>cw[y] if cw != NULL else 1.0) if y >= 0 else 0.0
        cnt = nr
    else:
        r0 = t * w.rpt
        r1 = min(r0 + w.rpt, w.rows)
        for r in range(r0, r1):
            row_offsets(w, r, off)
            y = read_label(a.tgt, off[1], a.kind, w.n, a.has_ignore, a.ignore)
            bad |= y == -2
            wb[r - r0] = (<double>cw[y] if cw != NULL else 1.0) if y >= 0 else 0.0
        cnt = r1 - r0
    a.part_w[t] = cx_pairwise_sum(wb, cnt)
    a.part_bad[t] = bad


cdef inline void dispatch(const Walk *w, const Args *a, Py_ssize_t t,
                          floating dummy) noexcept nogil:
    if a.labels_only:
        task_labels(w, a, t, dummy)
    elif w.path == WALK_ACROSS:
        task_across(w, a, t, dummy)
    else:
        task_rows(w, a, t, dummy)


cdef void run_task(const Walk *w, void *a, Py_ssize_t t) noexcept nogil:
    """The walker's task function: this pass's task kind, in the input's dtype."""
    if (<Args *>a).f32:
        dispatch(w, <Args *>a, t, <float>0)
    else:
        dispatch(w, <Args *>a, t, <double>0)


cdef int run_class(const Walk *w, Args *a, int nthreads, bint labels_only) except -1:
    """One walk of the class-axis kernel (or of the label pass alone), GIL released."""
    a.labels_only = labels_only
    with nogil:
        run_tasks(w, run_task, a, nthreads, False)
    return 0


# ================================================================ elementwise ===

cdef struct EArgs:
    const void *x
    const void *t
    const void *w               # NULL: no weight
    const void *pw              # NULL: no pos_weight
    void *out                   # NULL: no elementwise output
    void *g                     # NULL: no gradient
    double gscale
    double lscale
    int log_target
    bint kl                     # kl_div (else BCE)
    bint f32
    Parts *parts                # per task: the loss sum


cdef void task_elementwise(const Walk *w, const EArgs *a, Py_ssize_t t,
                           floating dummy) noexcept nogil:
    cdef Py_ssize_t base[MAXOP]
    cdef Py_ssize_t off[MAXOP]
    cdef Py_ssize_t f, f1, m
    cdef int last = w.nd - 1
    cdef const floating *x
    cdef const floating *tg
    cdef const floating *wt
    cdef const floating *pw
    cdef floating *out
    cdef floating *g
    cdef cx_psum acc
    cx_psum_init(&acc)
    task_range(w, t, base, &f, &f1)
    while f < f1:
        m = span_offsets(w, base, f, f1, off)
        x = <const floating *>a.x + off[0]
        tg = <const floating *>a.t + off[1]
        wt = <const floating *>a.w + off[2] if a.w != NULL else NULL
        pw = <const floating *>a.pw + off[3] if a.pw != NULL else NULL
        out = <floating *>a.out + off[4] if a.out != NULL else NULL
        g = <floating *>a.g + off[5] if a.g != NULL else NULL
        if a.kl:
            if floating is float:
                cx_psum_push(&acc, T.kl_div_f32(x, w.st[0][last], tg, w.st[1][last], a.log_target,
                                                out, w.st[4][last], g, w.st[5][last], a.gscale,
                                                a.lscale, m))
            else:
                cx_psum_push(&acc, T.kl_div_f64(x, w.st[0][last], tg, w.st[1][last], a.log_target,
                                                out, w.st[4][last], g, w.st[5][last], a.gscale,
                                                a.lscale, m))
        elif floating is float:
            cx_psum_push(&acc, T.bce_f32(x, w.st[0][last], tg, w.st[1][last], wt, w.st[2][last],
                                         pw, w.st[3][last], out, w.st[4][last], g, w.st[5][last],
                                         a.gscale, a.lscale, m))
        else:
            cx_psum_push(&acc, T.bce_f64(x, w.st[0][last], tg, w.st[1][last], wt, w.st[2][last],
                                         pw, w.st[3][last], out, w.st[4][last], g, w.st[5][last],
                                         a.gscale, a.lscale, m))
        f += m
    a.parts.d[t] = cx_psum_result(&acc)


cdef void run_elementwise(const Walk *w, void *a, Py_ssize_t t) noexcept nogil:
    if (<EArgs *>a).f32:
        task_elementwise(w, <EArgs *>a, t, <float>0)
    else:
        task_elementwise(w, <EArgs *>a, t, <double>0)


cdef double elementwise_total(const Walk *w, EArgs *a, int nthreads) except? -1:
    """Run the elementwise kernel; the pairwise sum of the task partials."""
    cdef Parts parts
    cdef double total
    parts_init(&parts, w.ntasks, 1)
    a.parts = &parts
    try:
        with nogil:
            run_tasks(w, run_elementwise, a, nthreads, False)
            total = parts_sum(&parts, 0)
    finally:
        parts_free(&parts)
        a.parts = NULL
    return total


# ================================================================== the fronts ===

cdef inline cnp.ndarray float_input(object a, str name):
    """`a` as a float32/float64 array in native byte order (no copy when it is one)."""
    cdef cnp.ndarray x
    cdef int typ
    if type(a) is np.ndarray:
        x = <cnp.ndarray>a
        typ = cnp.PyArray_TYPE(x)
        if (typ == cnp.NPY_DOUBLE or typ == cnp.NPY_FLOAT) and cnp.PyArray_ISNOTSWAPPED(x):
            return walkable(x)
        return as_float_array(a, name)
    return as_float_array(as_array_arg(a, name), name)


cdef double parse_smoothing(object v) except? -1:
    cdef double e = parse_real(v, "label_smoothing")
    if not (0.0 <= e <= 1.0):
        raise ValueError(f"label_smoothing must be in [0, 1], got {v!r}")
    return e


cdef int parse_ignore(object v, bint *has_ignore, cnp.npy_int64 *ignore) except -1:
    """ignore_index: any Python/NumPy integer; one outside int64 matches no label."""
    cdef int overflow = 0
    cdef long long value
    if type(v) is not int:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"ignore_index must be an integer, got {type(v).__name__}")
        v = int(v)
    value = PyLong_AsLongLongAndOverflow(v, &overflow)
    has_ignore[0] = overflow == 0
    ignore[0] = value
    return 0


cdef int class_axis(object axis, int nd) except -2:
    cdef Py_ssize_t a
    if axis is None:
        return 0 if nd == 1 else 1
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int or None, got {type(axis).__name__}")
    if axis < -nd or axis >= nd:  # compared as Python ints: 2**70 is out of range, not an overflow
        raise np.exceptions.AxisError(int(axis), nd, "axis")
    a = axis
    return a + nd if a < 0 else a


cdef extern from "numpy/arrayobject.h":
    object PyArray_Scalar_ "PyArray_Scalar" (void *data, cnp.dtype descr, object base)


cdef cnp.dtype F32_DESCR = np.dtype(np.float32)
cdef cnp.dtype F64_DESCR = np.dtype(np.float64)


cdef object as_scalar(double v, bint is_f32):
    """A NumPy scalar of the result dtype."""
    cdef float f
    if is_f32:
        f = <float>v
        return PyArray_Scalar_(&f, F32_DESCR, None)
    return PyArray_Scalar_(&v, F64_DESCR, None)


cdef object label_error(cnp.ndarray t, Py_ssize_t n, object ignore_index):
    """The LabelError for the first out-of-range label of t (C order)."""
    # compared with scalars of t's own type: NumPy < 2.2 can crash comparing an
    # integer array with a Python int outside its range
    info = np.iinfo(t.dtype)
    ok = t >= t.dtype.type(0)
    if n <= info.max:
        ok &= t < t.dtype.type(n)
    # an ignore_index outside int64 (as parse_ignore) or t's range matches no label
    if -(1 << 63) <= ignore_index < (1 << 63) and info.min <= ignore_index <= info.max:
        ok |= t == t.dtype.type(ignore_index)
    pos = tuple(int(i) for i in np.argwhere(~ok)[0]) if t.ndim else ()
    value = t[pos]
    where = "target" if not pos else f"target[{', '.join(map(str, pos))}]"
    return LabelError(
        f"{where} = {int(value)} is not a class index: out of range [0, {n}) "
        f"and not ignore_index={ignore_index}")


cdef object class_loss(Op op, object input, object target, object weight, object ignore_index,
                       object reduction, object label_smoothing, object axis,
                       object return_grad, object n_threads, str fname, object out,
                       object grad_out):
    """cross_entropy / nll_loss: checks, layout, one kernel call, the reduction."""
    cdef cnp.ndarray x = float_input(input, "input")
    cdef int nd = cnp.PyArray_NDIM(x)
    if nd == 0:
        raise ValueError("input must have at least 1 dimension (the class axis)")
    cdef int k = class_axis(axis, nd)
    cdef int red = parse_reduction(reduction, False)
    cdef double eps = parse_smoothing(label_smoothing) if op == OP_CE else 0.0
    cdef bint has_ignore = False
    cdef cnp.npy_int64 ignore = 0
    parse_ignore(ignore_index, &has_ignore, &ignore)
    cdef bint rg = parse_bool(return_grad, "return_grad")
    check_buffers(red, rg, out, grad_out)
    cdef cnp.ndarray t = as_array_arg(target, "target")
    cdef bint is_f32 = cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT
    cdef cnp.npy_intp *shape = cnp.PyArray_DIMS(x)
    cdef Py_ssize_t C = shape[k]
    cdef int d, i
    cdef bint bad_shape
    if cnp.PyArray_ISINTEGER(t):
        pass
    elif cnp.PyArray_ISBOOL(t):
        raise TypeError(f"{fname}: target of dtype bool is ambiguous; pass integer class "
                        f"indices or float probabilities")
    elif cnp.PyArray_ISFLOAT(t) and op == OP_CE:
        op = OP_CE_PROB
    elif cnp.PyArray_ISFLOAT(t):
        raise TypeError(f"{fname}: target must hold integer class indices, got dtype {t.dtype}")
    else:
        raise TypeError(f"{fname}: unsupported target dtype {t.dtype}")
    if C == 0:
        raise ValueError("input must have at least one class along the class axis")

    # class weights, in the input dtype
    cdef cnp.ndarray cw = None
    cdef double wsum = <double>C
    if weight is not None:
        cw = as_float_array(as_array_arg(weight, "weight"), "weight", x.dtype)
        if cnp.PyArray_NDIM(cw) != 1 or cnp.PyArray_DIMS(cw)[0] != C:
            raise ValueError(f"weight must be a 1-D array of length {C} (the number of "
                             f"classes), got shape {(<object>cw).shape}")
        if not cnp.PyArray_IS_C_CONTIGUOUS(cw):
            cw = np.ascontiguousarray(cw)
        if eps > 0.0:
            wsum = float(np.sum(cw, dtype=np.float64))

    # target
    cdef Py_ssize_t st[NOP][MAXD]
    cdef Py_ssize_t ts[MAXD]
    for i in range(NOP):
        for d in range(nd):
            st[i][d] = 0
    if op == OP_CE_PROB:
        if not (has_ignore and ignore == -100):
            raise ValueError("ignore_index is not supported for probability (float) targets")
        t = as_float_array(t, "target", x.dtype)
        if (<object>t).shape != (<object>x).shape:
            raise ValueError(f"probability target must have input's shape {(<object>x).shape}, "
                             f"got {(<object>t).shape}")
        operand_strides(t, nd, shape, st[1])  # whole elements: as_float_array made t walkable
    else:
        bad_shape = cnp.PyArray_NDIM(t) != nd - 1
        if not bad_shape:
            for d in range(nd):
                if d != k and cnp.PyArray_DIMS(t)[d - (d > k)] != shape[d]:
                    bad_shape = True
        if bad_shape:
            tshape = tuple(shape[d] for d in range(nd) if d != k)
            raise ValueError(f"target must have shape {tshape} (input's shape without the "
                             f"class axis {k}), got {(<object>t).shape}")
        if not cnp.PyArray_ISNOTSWAPPED(t):
            t = t.astype(t.dtype.newbyteorder("="))
        t = walkable(t)
        operand_strides(t, nd - 1, cnp.PyArray_DIMS(t), ts)
        for d in range(nd):
            if d != k:
                st[1][d] = ts[d - (d > k)]

    # input strides (a copy only for strides that are not whole elements)
    operand_strides(x, nd, shape, st[0])  # whole elements: float_input made x walkable

    # outputs: the caller's buffers, or the gradient in input's memory order and the
    # per-row losses in C order (the kernels write a class row after reading it, so a
    # buffer that is exactly an input goes through a temporary)
    cdef cnp.ndarray g = None
    cdef cnp.ndarray lout = None
    names = ("input", "target", "weight")
    if rg:
        if grad_out is None:
            g = np.zeros_like(x) if op == OP_NLL else np.empty_like(x)
        else:
            g = out_target(grad_out, (<object>x).shape, x.dtype, "grad_out",
                           (input, target, weight), names, False)
            if op == OP_NLL:
                g.fill(0)  # NLL writes the label entries only
        operand_strides(g, nd, shape, st[2])
    if red == RED_NONE:
        rshape = tuple([shape[d] for d in range(nd) if d != k])
        if out is None:
            lout = np.empty(rshape, dtype=x.dtype)
        else:
            lout = out_target(out, rshape, x.dtype, "out", (input, target, weight), names, False)
        operand_strides(lout, nd - 1, cnp.PyArray_DIMS(lout), ts)
        for d in range(nd):
            if d != k:
                st[3][d] = ts[d - (d > k)]

    cdef Walk w
    cdef int is_red[MAXD]
    for d in range(nd):
        is_red[d] = d == k
    build_walk(&w, nd, shape, NOP, <const Py_ssize_t (*)[MAXD]>st, is_red,
               &NLL_RULES if op == OP_NLL else &CLASS_RULES)
    cdef int nthreads = resolve_threads(n_threads, w.rows if op == OP_NLL else cnp.PyArray_SIZE(x))

    cdef Args a
    a.f32 = is_f32
    a.x = cnp.PyArray_DATA(x)
    a.tgt = cnp.PyArray_DATA(t)
    a.g = cnp.PyArray_DATA(g) if g is not None else NULL
    a.lout = cnp.PyArray_DATA(lout) if lout is not None else NULL
    a.cw = cnp.PyArray_DATA(cw) if cw is not None else NULL
    a.wsum = wsum
    a.eps = eps
    a.gscale = 1.0
    a.kind = label_kind(t) if op != OP_CE_PROB else 0
    a.has_ignore = has_ignore
    a.ignore = ignore
    a.op = op

    cdef Parts parts
    cdef double total, wtotal, value
    parts_init(&parts, w.ntasks, 2)
    a.part_loss = parts.d
    a.part_w = parts.d + w.ntasks
    a.part_bad = parts.flags
    try:
        if rg and red == RED_MEAN:
            if op == OP_CE_PROB:
                a.gscale = 1.0 / w.rows if w.rows else INFINITY
            else:
                # the divisor first: one pass over the labels
                run_class(&w, &a, nthreads, True)
                if parts_flags(&parts):
                    raise label_error(t, C, ignore_index)
                wtotal = parts_sum(&parts, 1)
                a.gscale = 1.0 / wtotal if wtotal != 0.0 else INFINITY
        run_class(&w, &a, nthreads, False)
        if op != OP_CE_PROB and parts_flags(&parts):
            raise label_error(t, C, ignore_index)
        total = parts_sum(&parts, 0)
        wtotal = parts_sum(&parts, 1)
    finally:
        parts_free(&parts)

    if red == RED_NONE:
        loss = finish_target(lout, out) if out is not None else (
            lout if cnp.PyArray_NDIM(lout) else lout[()])
    else:
        if red == RED_SUM:
            value = total
        elif op == OP_CE_PROB:
            value = total / <double>w.rows
        else:
            value = total / wtotal
        loss = as_scalar(value, is_f32)
    if rg:
        return loss, finish_target(g, grad_out)
    return loss


def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0, axis=None, return_grad=False, n_threads=None,
                  out=None, grad_out=None):
    r"""Softmax cross-entropy between logits and class indices or probabilities.

    PyTorch's :func:`torch.nn.functional.cross_entropy` on NumPy arrays,
    compiled and multithreaded, with the gradient fused into the same pass.
    With :math:`\log p = \operatorname{log\_softmax}(x)` over the class axis,
    :math:`C` classes, class weights :math:`w` and smoothing :math:`\varepsilon`:

    * integer `target` :math:`y`: per row
      :math:`\ell = (1-\varepsilon)(-w_y \log p_y) + \frac{\varepsilon}{C}(-\sum_c w_c \log p_c)`,
      0 where ``y == ignore_index``; ``"mean"`` divides the sum by
      :math:`\sum w_y` over the non-ignored rows;
    * float `target` :math:`t` (probabilities, `input`'s shape): with
      :math:`t' = (1-\varepsilon) t + \varepsilon / C`, per row
      :math:`\ell = -\sum_c w_c t'_c \log p_c`; ``"mean"`` divides by the
      number of rows.

    Parameters
    ----------
    input : array_like
        Logits (float32/float64 computed natively; integers as float64).  The
        class axis is 1 for 2+ dims and 0 for 1-D input, unless `axis` says.
    target : array_like
        Class indices of any integer dtype (`input`'s shape without the class
        axis) or float class probabilities (`input`'s shape).  Bool targets
        raise ``TypeError``.
    weight : array_like, optional
        Class weights, shape ``(C,)``; cast to `input`'s dtype.
    ignore_index : int, optional
        Class index whose rows contribute nothing (default -100).  Probability
        targets accept only the default.
    reduction : {"mean", "sum", "none"}, optional
        ``"none"`` returns the per-row losses (`target`'s shape).
    label_smoothing : float in [0, 1], optional
        Mass spread uniformly over the classes (weighted by `weight`).
    axis : int, optional
        The class axis (e.g. ``-1``); walked by strides, not copied.
    return_grad : bool, optional
        Also return d loss / d input (for ``"none"``: of ``loss.sum()``),
        computed in the same pass as the loss.
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.
    out : ndarray, optional
        Where to write the losses (``reduction="none"`` only): the result's shape and
        dtype, any layout; returned itself.
    grad_out : ndarray, optional
        Where to write the gradient (with `return_grad`): `input`'s shape and the
        result dtype, any layout; returned itself.

    Returns
    -------
    loss : ndarray or scalar
        `input`'s dtype; a NumPy scalar unless ``reduction="none"``.
    grad : ndarray
        Only with ``return_grad=True``: `input`'s shape and dtype.

    Raises
    ------
    LabelError
        For a class index outside ``[0, C)`` that is not `ignore_index` (a
        subclass of ``ValueError`` and ``IndexError``; the message names the
        label and its position).
    TypeError
        For bool or non-numeric targets, complex input, non-integer `axis`,
        `ignore_index` or `n_threads`, a non-bool `return_grad`.
    ValueError
        For shapes that do not match, a `weight` of the wrong length, a
        `label_smoothing` outside [0, 1], an unknown `reduction`, or
        ``n_threads <= 0``.

    Notes
    -----
    Follows :func:`torch.nn.functional.cross_entropy` (class axis,
    `reduction`, `weight`, `ignore_index`, `label_smoothing`, index and
    probability targets), on NumPy arrays.  It differs where the API contract
    says so: an out-of-range class index raises :class:`LabelError` (torch
    raises ``IndexError``), any integer dtype is taken for class indices
    (torch takes int64), everything after `weight` is keyword-only (torch's
    deprecated ``size_average``/``reduce`` slots do not exist), float16 is
    computed and returned as float32; `axis`, `return_grad` and `n_threads`
    are additions.

    ``"mean"`` over zero non-ignored rows is NaN, with a zero gradient (as
    torch).  A row holding NaN or ``+inf``, or only ``-inf``, gives NaN.  A
    term with zero weight or zero target probability is 0 even on a ``-inf``
    logit (torch gives NaN there).  The dominant class keeps relative
    accuracy: ``cross_entropy([[0., -40.]], [0])`` is 4.25e-18, not 0, and so
    is its gradient.

    Examples
    --------
    >>> import numpy as np
    >>> import crossent
    >>> x = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
    >>> y = np.array([0, 2])
    >>> round(float(crossent.cross_entropy(x, y)), 6)
    0.175456
    >>> loss, grad = crossent.cross_entropy(x, y, return_grad=True)
    >>> print(np.round(grad, 6))
    [[-0.107201  0.087645  0.019556]
     [ 0.024656  0.027249 -0.051904]]
    >>> print(np.round(crossent.cross_entropy(x, y, label_smoothing=0.1, reduction="none"), 6))
    [0.391311 0.299601]
    >>> round(float(crossent.cross_entropy(x, np.array([0, -100]))), 6)  # row 2 ignored
    0.241311
    >>> float(crossent.cross_entropy([[0.0, -40.0]], [0]))  # not 0
    4.248354255291589e-18
    """
    return class_loss(OP_CE, input, target, weight, ignore_index, reduction, label_smoothing,
                      axis, return_grad, n_threads, "cross_entropy", out, grad_out)


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean", axis=None,
             return_grad=False, n_threads=None, out=None, grad_out=None):
    r"""Negative log-likelihood of class indices given log-probabilities.

    PyTorch's :func:`torch.nn.functional.nll_loss` on NumPy arrays: per row
    :math:`\ell = -w_y x_y` (0 where ``y == ignore_index``); ``"mean"``
    divides the sum by :math:`\sum w_y` over the non-ignored rows.  Only the
    labelled entries are read.

    Parameters
    ----------
    input : array_like
        Log-probabilities; class axis 1 for 2+ dims and 0 for 1-D (or `axis`).
    target : array_like of int
        Class indices (any integer dtype), `input`'s shape without the class
        axis.  Float or bool targets raise ``TypeError``.
    weight : array_like, optional
        Class weights, shape ``(C,)``.
    ignore_index : int, optional
        Class index whose rows contribute nothing (default -100).
    reduction : {"mean", "sum", "none"}, optional
    axis : int, optional
        The class axis; ``None`` is torch's rule.
    return_grad : bool, optional
        Also return d loss / d input: ``-w_y`` (times the reduction's factor)
        at the labelled entries, 0 elsewhere.
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.
    out : ndarray, optional
        Where to write the losses (``reduction="none"`` only): the result's shape and
        dtype, any layout; returned itself.
    grad_out : ndarray, optional
        Where to write the gradient (with `return_grad`): `input`'s shape and the
        result dtype, any layout; returned itself.

    Returns
    -------
    loss : ndarray or scalar
        `input`'s dtype; a NumPy scalar unless ``reduction="none"``.
    grad : ndarray, only with `return_grad`
        `input`'s shape and dtype.

    Raises
    ------
    LabelError
        For a class index outside ``[0, C)`` that is not `ignore_index`.
    TypeError, ValueError
        As :func:`cross_entropy`.

    Notes
    -----
    Follows :func:`torch.nn.functional.nll_loss` (class axis, `reduction`,
    `weight`, `ignore_index`) on NumPy arrays.  It differs where the API
    contract says so: an out-of-range class index raises
    :class:`LabelError` (torch raises ``IndexError``), any integer dtype is
    taken for class indices, everything after `weight` is keyword-only;
    `axis`, `return_grad` and `n_threads` are additions.  ``"mean"`` over
    zero non-ignored rows is NaN, as torch.

    Examples
    --------
    >>> import numpy as np
    >>> import crossent
    >>> logp = np.log(np.array([[0.5, 0.5], [0.9, 0.1]]))
    >>> round(float(crossent.nll_loss(logp, np.array([0, 0]))), 6)
    0.399254
    >>> w = np.array([2.0, 1.0])
    >>> print(np.round(crossent.nll_loss(logp, np.array([1, 0]), w, reduction="none"), 6))
    [0.693147 0.210721]
    """
    return class_loss(OP_NLL, input, target, weight, ignore_index, reduction, 0.0, axis,
                      return_grad, n_threads, "nll_loss", out, grad_out)


cdef cnp.ndarray broadcast_side(object value, str name, cnp.ndarray x):
    cdef cnp.ndarray v = as_float_array(as_array_arg(value, name), name, x.dtype)
    if (<object>v).shape == (<object>x).shape:
        return v
    try:
        return np.broadcast_to(v, (<object>x).shape)
    except ValueError as exc:
        raise ValueError(f"{name} of shape {(<object>v).shape} cannot be broadcast to input's "
                         f"shape {(<object>x).shape}") from exc


cdef cnp.ndarray sum_to_shape(cnp.ndarray g, tuple shape):
    """A gradient of the broadcast shape summed back to `shape` (in float64, rounded
    once to g's dtype), as autograd does."""
    cdef int extra = cnp.PyArray_NDIM(g) - len(shape)
    s = g.sum(axis=tuple(range(extra)), dtype=np.float64) if extra else g.astype(np.float64)
    axes = tuple(i for i, m in enumerate(shape) if m == 1 and s.shape[i] != 1)
    if axes:
        s = s.sum(axis=axes, keepdims=True)
    return np.asarray(s, dtype=np.float64).reshape(shape).astype(g.dtype, order="C")


cdef object elementwise_loss(bint kl, cnp.ndarray x, cnp.ndarray t, cnp.ndarray wv,
                             cnp.ndarray pw, int red, bint rg, bint log_target, object n_threads,
                             object out_buf, object grad_buf, tuple callers):
    cdef int nd = cnp.PyArray_NDIM(x), i, d
    cdef int xnd = nd   # input's own dims (batchmean's divisor, a 0-d gradient)
    cdef bint is_f32 = cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT
    cdef Py_ssize_t n
    cdef double divisor, total, value
    cdef cnp.ndarray t0 = t
    xshape = (<object>x).shape
    bshape = xshape
    if (<object>t).shape != xshape:
        # kl_div only (binary_cross_entropy_with_logits needs equal shapes): input and
        # target are walked as stride-0 views of their broadcast shape, never copied
        bshape = tuple(np.broadcast_shapes(xshape, (<object>t).shape))
        x = np.broadcast_to(x, bshape)
        t = np.broadcast_to(t, bshape)
        nd = len(bshape)
    n = cnp.PyArray_SIZE(x)
    cdef cnp.ndarray out = None
    cdef cnp.ndarray g = None
    # the caller's buffers: the kernels may read an element again after writing it
    # (the exact-exp fallback), so a buffer that is exactly an input goes through a
    # temporary
    names = ("input", "target", "weight", "pos_weight")
    if red == RED_NONE:
        out = out_target(out_buf, bshape, x.dtype, "out", callers, names, False)
        if out is None and bshape == xshape:
            out = np.empty_like(x)
        elif out is None:
            out = np.empty_like(t0) if (<object>t0).shape == bshape else np.empty(bshape, x.dtype)
    if rg:
        # a gradient with respect to a broadcast input (kl_div only) is computed at the
        # broadcast shape and summed back with NumPy below: kl_div's gradient (-t or
        # -exp(t)) does not depend on input, so this rare case needs no summing walker
        if bshape == xshape:
            g = out_target(grad_buf, xshape, x.dtype, "grad_out", callers, names, False)
            if g is None:
                g = np.empty_like(x)
        else:
            out_target(grad_buf, xshape, x.dtype, "grad_out", callers, names, False)  # checks
            g = np.empty(bshape, x.dtype)
    if red == RED_BATCHMEAN:
        # torch divides by input.size(0), input's own first dim, not the broadcast one
        divisor = <double>(xshape[0] if xnd else 1)
    elif red == RED_MEAN:
        divisor = <double>n
    else:
        divisor = 1.0

    cdef Walk w
    # every array arrives walkable (float_input, as_float_array, broadcast_side)
    walk_arrays(&w, [x, t, wv, pw, out, g], nd, cnp.PyArray_DIMS(x), NULL, &ELEMENTWISE_RULES)
    cdef int nthreads = resolve_threads(n_threads, n)
    cdef EArgs a
    a.x = cnp.PyArray_DATA(x)
    a.t = cnp.PyArray_DATA(t)
    a.w = cnp.PyArray_DATA(wv) if wv is not None else NULL
    a.pw = cnp.PyArray_DATA(pw) if pw is not None else NULL
    a.out = cnp.PyArray_DATA(out) if out is not None else NULL
    a.g = cnp.PyArray_DATA(g) if g is not None else NULL
    a.gscale = (1.0 / divisor if divisor != 0.0 else INFINITY) if red != RED_SUM else 1.0
    a.lscale = 1.0
    a.log_target = log_target
    a.kl = kl
    a.f32 = is_f32
    a.parts = NULL
    total = elementwise_total(&w, &a, nthreads)
    if g is not None and bshape != xshape:
        g = sum_to_shape(g, xshape)
    if grad_buf is not None:
        grad = finish_target(g, grad_buf)
    else:
        grad = g if g is None or xnd else g[()]  # a 0-d input's gradient is a NumPy scalar
    if red == RED_NONE:
        if out_buf is not None:
            return finish_target(out, out_buf), grad
        return out if nd else out[()], grad
    if red == RED_SUM:
        value = total
    else:
        value = total / divisor
        if isinf(total) and divisor > 1.0:
            # the sum overflows: the mean of the elements scaled first
            a.out = NULL
            a.g = NULL
            a.lscale = 1.0 / divisor
            value = elementwise_total(&w, &a, nthreads)
    return as_scalar(value, is_f32), grad


def binary_cross_entropy_with_logits(input, target, *, weight=None, reduction="mean",
                                     pos_weight=None, return_grad=False, n_threads=None,
                                     out=None, grad_out=None):
    r"""Bernoulli negative log-likelihood of `target` given logits.

    PyTorch's :func:`torch.nn.functional.binary_cross_entropy_with_logits` on
    NumPy arrays, compiled and multithreaded:

    .. math:: \ell = w\,\big(p\,t\,\operatorname{softplus}(-x) + (1-t)\,\operatorname{softplus}(x)\big)

    with :math:`\operatorname{softplus}(z) = \max(z, 0) + \operatorname{log1p}(e^{-|z|})`:
    stable for any logit (the loss at ``x = 40, t = 0`` is exactly 40, at
    ``x = -40, t = 0`` it is 4.25e-18); :math:`w` = `weight`, :math:`p` =
    `pos_weight`.  Gradient :math:`w\,((1-t)\,\sigma(x) - p\,t\,\sigma(-x))`.

    Parameters
    ----------
    input : array_like
        Logits.
    target : array_like
        Targets (usually in [0, 1]), `input`'s shape; cast to `input`'s dtype.
    weight : array_like, optional
        Broadcast to `input`'s shape (NumPy rules).
    reduction : {"mean", "sum", "none"}, optional
    pos_weight : array_like, optional
        Weight of the positive term, broadcast to `input`'s shape (typically
        shape ``(C,)``, the last axis).
    return_grad : bool, optional
        Also return d loss / d input, computed in the same pass.
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.
    out : ndarray, optional
        Where to write the losses (``reduction="none"`` only): the result's shape and
        dtype, any layout; returned itself.
    grad_out : ndarray, optional
        Where to write the gradient (with `return_grad`): `input`'s shape and the
        result dtype, any layout; returned itself.

    Returns
    -------
    loss : ndarray or scalar
        `input`'s dtype; a NumPy scalar unless ``reduction="none"``.
    grad : ndarray, only with `return_grad`
        `input`'s shape and dtype.

    Raises
    ------
    TypeError
        For complex or non-numeric input, a non-bool `return_grad`, a
        non-integer `n_threads`.
    ValueError
        For a `target` of another shape, `weight`/`pos_weight` that do not
        broadcast to `input`'s shape, an unknown `reduction`.

    Notes
    -----
    Follows :func:`torch.nn.functional.binary_cross_entropy_with_logits`
    (`weight`, `pos_weight`, `reduction`) on NumPy arrays.  It differs where
    the API contract says so: `weight` is keyword-only (torch also takes it
    positionally), float16 is computed and returned as float32;
    `return_grad` and `n_threads` are additions.

    Examples
    --------
    >>> import numpy as np
    >>> import crossent
    >>> x, t = np.array([40.0, -40.0]), np.array([0.0, 0.0])
    >>> [float(v) for v in crossent.binary_cross_entropy_with_logits(x, t, reduction="none")]
    [40.0, 4.248354255291589e-18]
    >>> loss, grad = crossent.binary_cross_entropy_with_logits(
    ...     np.array([0.0, 2.0]), np.array([1.0, 0.0]), return_grad=True)
    >>> round(float(loss), 6)
    1.410038
    >>> print(np.round(grad, 6))
    [-0.25      0.440399]
    """
    cdef cnp.ndarray x = float_input(input, "input")
    cdef int red = parse_reduction(reduction, False)
    cdef bint rg = parse_bool(return_grad, "return_grad")
    cdef cnp.ndarray t = as_float_array(as_array_arg(target, "target"), "target", x.dtype)
    if (<object>t).shape != (<object>x).shape:
        raise ValueError(f"target must have input's shape {(<object>x).shape}, "
                         f"got {(<object>t).shape}")
    cdef cnp.ndarray wv = None if weight is None else broadcast_side(weight, "weight", x)
    cdef cnp.ndarray pw = None if pos_weight is None else broadcast_side(pos_weight, "pos_weight", x)
    check_buffers(red, rg, out, grad_out)
    loss, g = elementwise_loss(False, x, t, wv, pw, red, rg, False, n_threads, out, grad_out,
                               (input, target, weight, pos_weight))
    return (loss, g) if rg else loss


def kl_div(input, target, *, reduction="mean", log_target=False, return_grad=False,
           n_threads=None, out=None, grad_out=None):
    r"""Kullback-Leibler divergence with `input` given as log-probabilities.

    PyTorch's :func:`torch.nn.functional.kl_div` on NumPy arrays: pointwise
    :math:`t\,(\log t - x)` (0 where :math:`t = 0`), or with
    ``log_target=True`` :math:`e^{t}\,(t - x)` (0 where :math:`t = -\infty`).
    Gradient :math:`-t` (or :math:`-e^t`).

    Parameters
    ----------
    input : array_like
        Log-probabilities.
    target : array_like
        Probabilities (log-probabilities with `log_target`), broadcast with
        `input` (NumPy rules, as torch).
    reduction : {"mean", "batchmean", "sum", "none"}, optional
        ``"mean"`` averages over all elements of the broadcast shape (torch's
        default, which is not the mathematical KL divergence); ``"batchmean"``
        divides the sum by ``input.shape[0]`` (`input`'s own first dimension,
        also where `target` broadcasts it, as torch; the sum for a 0-d input).
    log_target : bool, optional
    return_grad : bool, optional
        Also return d loss / d input, summed back to `input`'s shape where
        `input` is broadcast, as autograd does.
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.
    out : ndarray, optional
        Where to write the losses (``reduction="none"`` only): the result's shape and
        dtype, any layout; returned itself.
    grad_out : ndarray, optional
        Where to write the gradient (with `return_grad`): `input`'s shape and the
        result dtype, any layout; returned itself.

    Returns
    -------
    loss : ndarray or scalar
        `input`'s dtype; a NumPy scalar unless ``reduction="none"`` (then the
        broadcast shape of `input` and `target`).
    grad : ndarray, only with `return_grad`
        `input`'s shape and dtype.

    Raises
    ------
    TypeError, ValueError
        As :func:`binary_cross_entropy_with_logits`, but a `target` need only
        broadcast with `input`.

    Notes
    -----
    Follows :func:`torch.nn.functional.kl_div` (`reduction` with
    ``"batchmean"``, `log_target`, the broadcasting of `input` and `target`) on
    NumPy arrays.  It differs where the API contract says so: every option is
    keyword-only, float16 is computed and returned as float32; `return_grad`
    and `n_threads` are additions.

    Examples
    --------
    >>> import numpy as np
    >>> import crossent
    >>> p, q = np.array([[0.5, 0.5]]), np.array([[0.9, 0.1]])
    >>> float(crossent.kl_div(np.log(p), p, reduction="batchmean"))
    0.0
    >>> round(float(crossent.kl_div(np.log(q), p, reduction="batchmean")), 6)  # KL(p || q)
    0.510826
    """
    cdef cnp.ndarray x = float_input(input, "input")
    cdef int red = parse_reduction(reduction, True)
    cdef bint lt = parse_bool(log_target, "log_target")
    cdef bint rg = parse_bool(return_grad, "return_grad")
    cdef cnp.ndarray t = as_float_array(as_array_arg(target, "target"), "target", x.dtype)
    if (<object>t).shape != (<object>x).shape:
        try:
            np.broadcast_shapes((<object>x).shape, (<object>t).shape)
        except ValueError:
            raise ValueError(f"target of shape {(<object>t).shape} cannot be broadcast with "
                             f"input of shape {(<object>x).shape}") from None
    check_buffers(red, rg, out, grad_out)
    loss, g = elementwise_loss(True, x, t, None, None, red, rg, lt, n_threads, out, grad_out,
                               (input, target, None, None))
    return (loss, g) if rg else loss
