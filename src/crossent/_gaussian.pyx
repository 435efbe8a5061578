# cython: language_level=3
"""The Gaussian and Poisson family: mse_loss, gaussian_nll_loss, poisson_nll_loss
(PyTorch semantics) and gaussian_nll (the exact Gaussian NLL), loss and fused
gradients in one pass.

Drivers.  Every loss here is elementwise over the broadcast shape B of its
operands (input, target, parameter; outputs: the loss for reduction="none" and
the two gradients).  The one walker (``_walk``) splits the dims of B into the
dims a reduced gradient keeps (one output element per "row") and the dims it is
summed over (one row), each ordered by stride and merged where the strides
chain, so that any layout is walked by strides, never copied.  Rows are cut
into fixed tasks by the shape alone:

* rows: a task is a run of rows; each row's gradient sum is written directly
  and the task's loss is the pairwise sum of its rows;
* groups: a task is a group of CX_GROUP_LEN elements of one long row; groups
  are combined pairwise afterwards, in order;
* across: when the reduced gradient keeps the contiguous dim (var of shape
  (1, D) against (N, D), log_var of shape (D,)), a task is a tile of 256
  columns times a group of ACROSS_LEN rows; each column accumulates 64 rows in
  sequence, then the 64-row partials are combined pairwise, and the groups
  pairwise afterwards.

Inside a task the csrc block kernel (cx_gauss.inc) evaluates runs of at most
CX_BLOCK elements and returns their pairwise partial sums, which are pushed on
a binary-counter stack.  Partials of the tasks are stored and combined in a
fixed order, so that the result is bitwise the same for every n_threads.
"""
import math

import numpy as np
cimport numpy as cnp
from cython cimport floating
from libc.stdlib cimport malloc, free
from libc.string cimport memset

from crossent._csrc cimport CX_BLOCK, CX_GROUP_LEN, cx_pairwise_sum
from crossent._walk cimport (
    Walk, WalkRules, Parts, MAXD, MAXOP, WALK_EMPTY, WALK_ROWS, WALK_GROUPS, WALK_ACROSS,
    walk_arrays, operand_strides, run_tasks, add_offsets, row_offsets, span_offsets,
    tile_offsets, task_range, parts_init, parts_free, parts_sum, parts_flags,
)
from crossent._csrc_gauss cimport (
    cx_gauss_prm, cx_gauss_table, cx_sum3_stack, cx_sum3_init,
    cx_sum3_push, cx_sum3_result, cx_profiled_setup,
    CX_GK_MSE, CX_GK_POISSON_LOG, CX_GK_POISSON_RATE, CX_GK_TORCH, CX_GK_VAR,
    CX_GK_LOGVAR, CX_GK_STD, CX_GK_PROFILED, CX_GK_L1, CX_GK_SMOOTH_L1, CX_GK_HUBER,
    CX_GK_BCE, CX_GF_NEGATIVE, CX_GF_RANGE_INPUT, CX_GF_RANGE_TARGET,
)
from crossent._common cimport (
    resolve_threads, as_float_array, out_target, finish_target, check_disjoint,
    parse_bool, parse_real, parse_reduction, check_buffers, RED_NONE, RED_SUM,
)
from crossent._dispatch cimport gauss_table

cnp.import_array()

cdef cx_gauss_table G = gauss_table()[0]

cdef enum:
    NOP = 6
    OX = 0          # operands: input, target, parameter ...
    OT = 1
    OP = 2
    OL = 3          # ... the loss (reduction="none"), the two gradients
    OGX = 4
    OGP = 5
    TW = 256        # across: columns per tile
    CHR = 64        # across: rows added in sequence before a pairwise step
    VLEV = 48       # across: levels of the pairwise stack of column vectors

cdef Py_ssize_t ACROSS_LEN = max(CHR, (CX_GROUP_LEN // TW) // CHR * CHR)  # across: rows per task

# Every element is independent: rows are the elements of the reduced gradient (if
# any), the rest of the shape one row; about CX_GROUP_LEN elements per task.  A
# reduced gradient that keeps the contiguous dim (var of shape (1, D) against
# (N, D)) is walked across: tiles of TW columns times ACROSS_LEN rows.
cdef WalkRules RULES = {"task_len": CX_GROUP_LEN, "max_rpt": 1 << 60,
                        "group_len": CX_GROUP_LEN, "tile": 0, "across_short": 0,
                        "across_width": 0, "across_len": 0, "nkey": 3}
cdef WalkRules SUMMED_RULES = {"task_len": CX_GROUP_LEN, "max_rpt": 1 << 60,
                               "group_len": CX_GROUP_LEN, "tile": TW, "across_short": 0,
                               "across_width": 16, "across_len": ACROSS_LEN, "nkey": 3}

cdef double TWO_600 = 2.0 ** 600
cdef double TWO_M600 = 2.0 ** -600
cdef double TINY_SUM = 2.0 ** -968

_REDUCTIONS = ("none", "mean", "sum")


cdef struct GArgs:
    const cx_gauss_prm *P
    bint f32
    int gred        # OGX, OGP or -1: the gradient summed back to a broadcast shape
    const void *x
    const void *t
    const void *p
    void *lo
    void *gx
    void *gp
    Parts *parts    # per task: the loss, the summed gradient (long rows), the third sum
    double *pvec    # across: per task, TW column sums of the summed gradient ...
    double *tmp     # ... and room for one column's nrg sums


cdef inline int call_block(const cx_gauss_prm *P, Py_ssize_t n,
                           const floating *x, Py_ssize_t sx, const floating *t, Py_ssize_t st,
                           const floating *p, Py_ssize_t sp, floating *lo, Py_ssize_t sl,
                           floating *gx, Py_ssize_t sgx, floating *gp, Py_ssize_t sgp,
                           double *accx, double *accp, double *sums) noexcept nogil:
    if floating is float:
        return G.block_f32(P, n, x, sx, t, st, p, sp, lo, sl, gx, sgx, gp, sgp, accx, accp, sums)
    else:
        return G.block_f64(P, n, x, sx, t, st, p, sp, lo, sl, gx, sgx, gp, sgp, accx, accp, sums)


cdef int run_span(const Walk *w, const cx_gauss_prm *P, const floating *x,
                  const floating *t, const floating *p, floating *lo, floating *gx,
                  floating *gp, const Py_ssize_t *base, Py_ssize_t f, Py_ssize_t f1,
                  cx_sum3_stack *stk) noexcept nogil:
    """Elements [f, f1) of the row at `base` through the block kernel, runs of at most
    CX_BLOCK; the blocks' sums pushed on `stk`.  Returns the kernel flags."""
    cdef Py_ssize_t off[MAXOP]
    cdef Py_ssize_t n, j, m
    cdef int flags = 0, last = w.nd - 1
    cdef double sums[3]
    while f < f1:
        n = span_offsets(w, base, f, f1, off)
        j = 0
        while j < n:
            m = min(<Py_ssize_t>CX_BLOCK, n - j)
            flags |= call_block(
                P, m, x + off[OX] + j * w.st[OX][last], w.st[OX][last],
                t + off[OT] + j * w.st[OT][last], w.st[OT][last],
                (p + off[OP] + j * w.st[OP][last]) if p != NULL else NULL, w.st[OP][last],
                (lo + off[OL] + j * w.st[OL][last]) if lo != NULL else NULL, w.st[OL][last],
                (gx + off[OGX] + j * w.st[OGX][last]) if gx != NULL else NULL, w.st[OGX][last],
                (gp + off[OGP] + j * w.st[OGP][last]) if gp != NULL else NULL, w.st[OGP][last],
                NULL, NULL, sums)
            cx_sum3_push(stk, sums)
            j += m
        f += n
    return flags


cdef inline floating *out_ptr(floating *ptr, int which, int gred) noexcept nogil:
    """The pointer the block kernel writes a gradient through (NULL for the summed one)."""
    return NULL if which == gred else ptr


cdef void vec_push(double *items, Py_ssize_t *size, int *top, const double *v,
                   Py_ssize_t n) noexcept nogil:
    """Pairwise (binary counter) stack of column vectors of length n (stride TW)."""
    cdef Py_ssize_t j
    cdef double *a
    cdef double *b
    for j in range(n):
        items[top[0] * TW + j] = v[j]
    size[top[0]] = 1
    top[0] += 1
    while top[0] >= 2 and size[top[0] - 1] == size[top[0] - 2]:
        a = items + (top[0] - 2) * TW
        b = items + (top[0] - 1) * TW
        for j in range(n):
            a[j] = a[j] + b[j]
        size[top[0] - 2] *= 2
        top[0] -= 1


cdef void vec_result(const double *items, int top, double *out, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef int i
    for j in range(n):
        out[j] = 0.0
    if top == 0:
        return
    for j in range(n):
        out[j] = items[(top - 1) * TW + j]
    for i in range(top - 2, -1, -1):
        for j in range(n):
            out[j] = items[i * TW + j] + out[j]


cdef void task_run(const Walk *w, const GArgs *a, Py_ssize_t task,
                   floating dummy) noexcept nogil:
    cdef const cx_gauss_prm *P = a.P
    cdef const floating *x = <const floating *>a.x
    cdef const floating *t = <const floating *>a.t
    cdef const floating *p = <const floating *>a.p
    cdef floating *lo = <floating *>a.lo
    cdef floating *gx = <floating *>a.gx
    cdef floating *gp = <floating *>a.gp
    cdef Parts *parts = a.parts
    cdef Py_ssize_t nt = parts.ntasks
    cdef int gred = a.gred
    cdef Py_ssize_t base[MAXOP]
    cdef Py_ssize_t r, r0, r1, f0, f1, n, f, j
    cdef int flags = 0, gi, nk = w.nk, top
    cdef cx_sum3_stack rows_stk, stk
    cdef double res[3]
    cdef double one[3]
    cdef floating *gout
    cdef floating *wgx = out_ptr(gx, OGX, gred)
    cdef floating *wgp = out_ptr(gp, OGP, gred)
    cdef double *acc
    cdef double *items
    cdef Py_ssize_t vsize[VLEV]
    cdef Py_ssize_t cnt
    gi = 1 if gred == OGX else 2
    gout = gx if gred == OGX else gp
    one[1] = 0.0
    one[2] = 0.0
    res[1] = 0.0
    if w.path == WALK_ROWS:
        r0 = task * w.rpt
        r1 = min(w.rows, r0 + w.rpt)
        cx_sum3_init(&rows_stk)
        for r in range(r0, r1):
            row_offsets(w, r, base)
            cx_sum3_init(&stk)
            flags |= run_span(w, P, x, t, p, lo, wgx, wgp, base, 0, w.n, &stk)
            cx_sum3_result(&stk, res)
            if gred >= 0:
                gout[base[gred]] = <floating>res[gi]
            one[0] = res[0]
            one[2] = res[2] if gred != OGP else 0.0  # the weights' sum, if any
            cx_sum3_push(&rows_stk, one)
        cx_sum3_result(&rows_stk, res)
        res[1] = 0.0
    elif w.path == WALK_GROUPS:
        task_range(w, task, base, &f0, &f1)
        cx_sum3_init(&stk)
        flags |= run_span(w, P, x, t, p, lo, wgx, wgp, base, f0, f1, &stk)
        cx_sum3_result(&stk, res)
    else:
        # across: a tile of TW columns (dim nk - 1) times a group of reduced rows
        n = tile_offsets(w, task, base, &f0, &f1)
        acc = <double *>malloc((VLEV + 1) * TW * sizeof(double))
        if acc == NULL:
            parts.flags[task] = -1
            return
        items = acc + TW
        top = 0
        for j in range(n):
            acc[j] = 0.0
        cx_sum3_init(&stk)
        cnt = 0
        for f in range(f0, f1):
            flags |= run_tile_row(w, gred, P, x, t, p, lo, wgx, wgp, base, f, n,
                                  acc if gred == OGX else NULL,
                                  acc if gred == OGP else NULL, &stk)
            cnt += 1
            if cnt == CHR or f == f1 - 1:
                vec_push(items, vsize, &top, acc, n)
                for j in range(n):
                    acc[j] = 0.0
                cnt = 0
        vec_result(items, top, a.pvec + task * TW, n)
        free(acc)
        cx_sum3_result(&stk, res)
        res[1] = 0.0
    parts.d[task] = res[0]
    parts.d[nt + task] = res[1]
    parts.d[2 * nt + task] = res[2]
    parts.flags[task] = flags


cdef int run_tile_row(const Walk *w, int gred, const cx_gauss_prm *P, const floating *x,
                      const floating *t, const floating *p, floating *lo, floating *gx,
                      floating *gp, const Py_ssize_t *base, Py_ssize_t f, Py_ssize_t n,
                      double *accx, double *accp, cx_sum3_stack *stk) noexcept nogil:
    """One reduced row f of an across tile: n columns along dim nk - 1."""
    cdef Py_ssize_t off[MAXOP]
    cdef int k, d = w.nk - 1
    cdef double sums[3]
    cdef int flags
    for k in range(NOP):
        off[k] = base[k]
    add_offsets(w, f, w.nk, w.nd, off)
    flags = call_block(
        P, n, x + off[OX], w.st[OX][d], t + off[OT], w.st[OT][d],
        (p + off[OP]) if p != NULL else NULL, w.st[OP][d],
        (lo + off[OL]) if lo != NULL else NULL, w.st[OL][d],
        (gx + off[OGX]) if gx != NULL else NULL, w.st[OGX][d],
        (gp + off[OGP]) if gp != NULL else NULL, w.st[OGP][d],
        accx, accp, sums)
    sums[1] = 0.0
    if gred == OGP:
        sums[2] = 0.0  # else the weights' sum, if any
    cx_sum3_push(stk, sums)
    return flags


cdef double combine(const Walk *w, const GArgs *a, floating dummy, double *aux) noexcept nogil:
    """Fixed-order pairwise combination of the tasks' partials: the reduced gradient
    written, the loss sum returned, the sum of the blocks' third sums (a weighted
    kind's weights; unless that slot is var's reduced gradient) in *aux."""
    cdef Py_ssize_t r, o, c, j, rg, n, i
    cdef Py_ssize_t base[MAXOP]
    cdef int gred = a.gred, gi = 1 if a.gred == OGX else 2
    cdef floating *gout = <floating *>(a.gx if a.gred == OGX else a.gp)
    cdef Parts *parts = a.parts
    cdef Py_ssize_t sg, nt = parts.ntasks
    cdef double *tmp = a.tmp
    if gred >= 0:
        if w.path == WALK_GROUPS:
            for r in range(w.rows):
                row_offsets(w, r, base)
                gout[base[gred]] = <floating>cx_pairwise_sum(
                    parts.d + gi * nt + r * w.ngroups, w.ngroups)
        elif w.path == WALK_ACROSS:
            # per column, the sum of its tile's column sums over the reduced groups
            sg = w.st[gred][w.nk - 1]
            for o in range(w.rows // w.width):
                row_offsets(w, o * w.width, base)
                for c in range(w.ntiles):
                    n = min(<Py_ssize_t>TW, w.width - c * TW)
                    for j in range(n):
                        for rg in range(w.nrg):
                            tmp[rg] = a.pvec[((o * w.ntiles + c) * w.nrg + rg) * TW + j]
                        gout[base[gred] + (c * TW + j) * sg] = <floating>cx_pairwise_sum(tmp, w.nrg)
    aux[0] = 0.0
    if gred != OGP:
        aux[0] = parts_sum(parts, 2)
    return parts_sum(parts, 0)


cdef void run_task(const Walk *w, void *a, Py_ssize_t t) noexcept nogil:
    if (<GArgs *>a).f32:
        task_run(w, <GArgs *>a, t, <float>0)
    else:
        task_run(w, <GArgs *>a, t, <double>0)


cdef inline const void *data_or_null(object a):
    return NULL if a is None else cnp.PyArray_DATA(<cnp.ndarray>a)


cdef int summed_grad(int gred, list arrs, int nd, const cnp.npy_intp *dims,
                     int *is_red) except -2:
    """gred if that gradient is summed back (its stride is 0 along some dim of the
    shape), else -1 (it is written directly); is_red: the dims it is summed over
    (every dim for -1)."""
    cdef Py_ssize_t st[MAXD]
    cdef int d, any_red = 0
    for d in range(nd):
        is_red[d] = 1
    if gred < 0:
        return -1
    operand_strides(<cnp.ndarray>arrs[gred], nd, dims, st)  # walkable: whole elements
    for d in range(nd):
        is_red[d] = st[d] == 0
        any_red |= is_red[d] and dims[d] != 1
    if not any_red:
        for d in range(nd):
            is_red[d] = 1
        return -1
    return gred


cdef tuple engine(cx_gauss_prm *P, tuple shape, list arrs, int gred, int nt,
                  double *wsum=NULL):
    """Run one pass over the broadcast `shape`: outputs written, the reduced gradient
    (arrs[gred]) summed back; returns (loss sum, flags).  `wsum` (a weighted kind given
    a weight): receives the sum of the weights over the broadcast shape."""
    cdef Walk w
    cdef cnp.npy_intp dims[MAXD]
    cdef int is_red[MAXD]
    cdef int nd = len(shape), d, flags
    cdef GArgs a
    cdef Parts parts
    cdef double total, aux = 0.0
    for d in range(nd):
        dims[d] = shape[d]
    gred = summed_grad(gred, arrs, nd, dims, is_red)
    # (every operand walkable: whole elements)
    walk_arrays(&w, arrs, nd, dims, is_red, &SUMMED_RULES if gred >= 0 else &RULES)
    if w.path == WALK_EMPTY:
        if gred >= 0:
            arrs[gred].fill(0)  # sums over nothing
        if wsum != NULL:
            wsum[0] = 0.0
        return 0.0, 0
    a.P = P
    a.f32 = (<cnp.ndarray>arrs[OX]).itemsize == 4
    a.gred = gred
    a.x = data_or_null(arrs[OX])
    a.t = data_or_null(arrs[OT])
    a.p = data_or_null(arrs[OP])
    a.lo = <void *>data_or_null(arrs[OL])
    a.gx = <void *>data_or_null(arrs[OGX])
    a.gp = <void *>data_or_null(arrs[OGP])
    a.pvec = NULL
    parts_init(&parts, w.ntasks, 3)
    a.parts = &parts
    try:
        if w.path == WALK_ACROSS:
            a.pvec = <double *>malloc((w.ntasks * TW + w.nrg) * sizeof(double))
            if a.pvec == NULL:
                raise MemoryError()
            a.tmp = a.pvec + w.ntasks * TW
        with nogil:
            # dynamic: a thread slowed by other work on the machine does not hold the
            # others back; the tasks (and so the results) are the same either way
            run_tasks(&w, run_task, &a, nt, True)
            flags = parts_flags(&parts)
            if flags >= 0:
                if a.f32:
                    total = combine(&w, &a, <float>0, &aux)
                else:
                    total = combine(&w, &a, <double>0, &aux)
        if flags < 0:
            raise MemoryError("crossent: out of memory in a kernel task")
    finally:
        free(a.pvec)
        parts_free(&parts)
    if wsum != NULL:
        wsum[0] = aux
    return total, flags


# ------------------------------------------------------------------ front helpers ---

cdef str check_reduction(object reduction):
    """`reduction` checked by the one parser, as its name (the fronts compare names)."""
    return _REDUCTIONS[parse_reduction(reduction, False)]


cdef object side_array(object x, str name, object dtype):
    """A side argument in the computation dtype (walkable: see as_float_array)."""
    return as_float_array(x, name, dtype)


cdef object empty_like_layout(tuple shape, object dtype, list candidates):
    """An output of `shape` laid out like the first candidate of that shape."""
    for c in candidates:
        if c is not None and (<object>c).shape == shape:
            return np.empty_like(c, dtype=dtype)
    return np.empty(shape, dtype=dtype)


cdef object finish(object a):
    """0-d arrays become NumPy scalars (as NumPy's own reductions)."""
    if isinstance(a, np.ndarray) and (<cnp.ndarray>a).ndim == 0:
        return a[()]
    return a


cdef object reduced_value(double total, double div, str reduction, object dtype,
                          cx_gauss_prm *P, tuple shape, list arrs, int nt):
    """The mean (the sum over `div`: the element count, or a weighted mean's weight sum)
    or the sum as a NumPy scalar.  A mean whose sum overflowed although the mean does
    not is recomputed from losses scaled by 2^-600 (MSE: residuals scaled)."""
    cdef double s2
    if reduction == "sum":
        return dtype.type(total)
    if not math.prod(shape):
        return dtype.type(np.nan)
    if total == math.inf or total == -math.inf:
        P.grad = 0
        if P.kind == CX_GK_MSE:
            P.rscale = TWO_M600
        else:
            P.lscale = TWO_M600
        s2, _ = engine(P, shape, [arrs[OX], arrs[OT], arrs[OP], None, None, None], -1, nt)
        if math.isfinite(s2):
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                v = np.float64(s2) / div * TWO_600
                if P.kind == CX_GK_MSE:
                    v = v * TWO_600
                return dtype.type(v)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return dtype.type(np.float64(total) / div)


cdef object loss_target(object out, str reduction, tuple shape, object dtype, tuple inputs,
                        tuple names, bint in_place):
    """The array the kernel writes the losses to for `out=` (reduction="none" only), or
    None (see _common.out_target)."""
    if out is None:
        return None
    check_buffers(RED_NONE if reduction == "none" else RED_SUM, True, out, None)
    return out_target(out, shape, dtype, "out", inputs, names, in_place)


cdef tuple grad_targets(object grad_out, bint return_grad, list shapes, object dtype,
                        tuple inputs, tuple names, bint in_place, object out):
    """The arrays the kernel writes the gradients to for `grad_out=` (one array, or a
    tuple of one array per gradient), each None where not given; checked as
    out_target, and against `out` and each other (no shared memory)."""
    cdef int k, j, ng = len(shapes)
    if grad_out is None:
        return (None,) * ng
    check_buffers(RED_NONE, return_grad, None, grad_out)
    if ng == 1:
        bufs, gnames = (grad_out,), ("grad_out",)
    else:
        if not isinstance(grad_out, tuple) or len(grad_out) != ng:
            raise TypeError(f"grad_out must be a tuple of {ng} arrays (one per gradient), "
                            f"got {type(grad_out).__name__}")
        bufs = grad_out
        gnames = tuple(f"grad_out[{k}]" for k in range(ng))
    res = []
    for k in range(ng):
        y = out_target(bufs[k], shapes[k], dtype, gnames[k], inputs, names, in_place)
        if isinstance(out, np.ndarray):
            check_disjoint(<cnp.ndarray>bufs[k], out, gnames[k], "out")
        for j in range(k):
            check_disjoint(<cnp.ndarray>bufs[k], bufs[j], gnames[k], gnames[j])
        res.append(y)
    return tuple(res)


cdef object result(object y, object out):
    """The caller's `out` itself after the kernel wrote `y`; else `y` (0-d: a scalar)."""
    if out is not None:
        return finish_target(y, out)
    return finish(y)


cdef void init_prm(cx_gauss_prm *P, int kind, bint grad, str reduction, Py_ssize_t n):
    memset(P, 0, sizeof(cx_gauss_prm))
    P.kind = kind
    P.grad = grad
    P.gscale = (1.0 / n if n else math.inf) if reduction == "mean" else 1.0
    P.lscale = 1.0
    P.rscale = 1.0


cdef tuple broadcast_pair(object input, object target):
    """input and target as arrays of input's dtype, and their broadcast shape (NumPy
    rules, as torch 2.13 broadcasts them)."""
    x = <object>as_float_array(input, "input")
    dtype = x.dtype
    t = side_array(target, "target", dtype)
    if t.shape == x.shape:
        return x, t, dtype, x.shape
    try:
        shape = tuple(np.broadcast_shapes(x.shape, t.shape))
    except ValueError:
        raise ValueError(f"target of shape {t.shape} cannot be broadcast with input of "
                         f"shape {x.shape}") from None
    return x, t, dtype, shape


cdef object elementwise_loss(int kind, object x, object t, object wt, object dtype,
                             tuple shape, str reduction, bint return_grad, object n_threads,
                             bint full, double eps, double beta, bint wmean, object out,
                             object grad_out, tuple callers):
    """mse_loss, poisson_nll_loss, l1_loss, smooth_l1_loss, huber_loss and
    binary_cross_entropy over the broadcast `shape`: loss and gradient in one pass, the
    gradient summed back to input's shape where input is broadcast.  `wt`: the
    elementwise weight (None: none; `full` must then be set for the weighted kinds);
    `wmean`: its "mean" is torch's sum(w l) / sum(w) (w of input's shape), the gradient
    rescaled by that divisor, known only at the end.  `callers`: the caller's input,
    target and weight, for the overlap checks of out= and grad_out=."""
    cdef cx_gauss_prm P
    cdef Py_ssize_t n = math.prod(shape)
    cdef double wsum = 0.0, div
    nt = resolve_threads(n_threads, n)
    weighted_mean = wt is not None and wmean and reduction == "mean"
    init_prm(&P, kind, return_grad, "sum" if weighted_mean else reduction, n)
    P.full = full
    P.eps = eps
    P.beta = beta
    x_red = return_grad and x.shape != shape
    # in place (out= or grad_out= exactly an input) is safe where nothing is summed back
    # (each sub-block is read before it is written); not for a mean's gradient, whose
    # rescue of an overflowing sum reads the inputs again
    names = ("input", "target", "weight")
    lo = loss_target(out, reduction, shape, dtype, callers, names, not x_red)
    gy, = grad_targets(grad_out, return_grad, [x.shape], dtype, callers, names,
                       not x_red and reduction != "mean", out)
    loss = (lo if lo is not None else empty_like_layout(shape, dtype, [x, t])) \
        if reduction == "none" else None
    grad = (gy if gy is not None else empty_like_layout(x.shape, dtype, [x])) \
        if return_grad else None
    arrs = [x, t, wt, loss, grad, None]
    total, flags = 0.0, 0
    if n:
        total, flags = engine(&P, shape, arrs, OGX if x_red else -1, nt, &wsum)
    elif grad is not None:
        grad[...] = 0
    if flags & CX_GF_RANGE_INPUT:
        raise ValueError("input must hold probabilities in [0, 1]; it has entries outside "
                         "(or NaN)")
    if flags & CX_GF_RANGE_TARGET:
        raise ValueError("target must hold probabilities in [0, 1]; it has entries outside "
                         "(or NaN)")
    div = n
    if weighted_mean:
        # torch divides by the sum of the weight (input's shape); the engine summed it
        # over the broadcast shape, where each entry is repeated n / input.size times
        div = wsum / (n // x.size) if n else 0.0
        if grad is not None and n:
            with np.errstate(all="ignore"):
                np.divide(grad, div, out=grad, dtype=np.float64, casting="unsafe")
    value = result(loss, out) if reduction == "none" else reduced_value(
        total, div, reduction, dtype, &P, shape, arrs, nt)
    if return_grad:
        return value, result(grad, grad_out)
    return value


cdef object weight_like_input(object weight, object x, object dtype):
    """torch's elementwise weight of mse_loss / l1_loss / huber_loss: input's shape."""
    if weight is None:
        return None
    w = side_array(weight, "weight", dtype)
    if w.shape != x.shape:
        raise ValueError(f"weight of shape {w.shape} must have input's shape {x.shape} "
                         "(as torch)")
    return w


cdef double in_dtype(double v, object dtype):
    """`v` rounded to the computation dtype (beyond float32's range: inf, as IEEE
    rounding gives, without a warning)."""
    with np.errstate(over="ignore"):
        return float(np.asarray(v, dtype=dtype))


cdef double loss_parameter(object value, str name, object dtype, bint zero_ok) except? -1.0:
    """smooth_l1's beta (>= 0) or huber's delta (> 0), rounded to the dtype as torch
    computes with it."""
    cdef double v = parse_real(value, name)
    v = in_dtype(v, dtype)
    if not (v >= 0.0 if zero_ok else v > 0.0):
        raise ValueError(f"{name} must be {'>= 0' if zero_ok else '> 0'}, got {value!r}")
    return v


# ------------------------------------------------------------------ the fronts ---

def mse_loss(input, target, *, reduction="mean", weight=None, return_grad=False,
             n_threads=None, out=None, grad_out=None):
    """Mean squared error, as :func:`torch.nn.functional.mse_loss`.

    Pointwise ``weight * (input - target)**2``; gradient ``2 weight (input - target)``;
    with `weight`, the ``"mean"`` is torch's ``sum(weight * loss) / sum(weight)``.  The
    Gaussian
    negative log-likelihood with a fixed variance, up to the factor ``1/(2 sigma**2)``
    and the constant ``log(2 pi sigma**2) / 2`` (see :func:`gaussian_nll`).  Exact where
    the difference or its square would overflow while the mean is finite.

    Parameters
    ----------
    input : array_like
        Predictions (float32/float64 computed natively; integers as float64).
    target : array_like
        Targets, broadcast with `input` (NumPy rules, as torch); cast to `input`'s
        dtype.
    reduction : {"mean", "sum", "none"}, optional
        As torch (default ``"mean"``), over the elements of the broadcast shape.
    weight : array_like, optional
        Elementwise weight of `input`'s shape (as torch 2.13), broadcast against the
        loss; ``"mean"`` divides by its sum.
    return_grad : bool, optional
        Also return ``d loss / d input`` (for ``"none"``: of ``loss.sum()``), computed
        in the same pass; summed back to `input`'s shape where `input` is broadcast,
        as autograd does.
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.
    out : ndarray, optional
        With ``reduction="none"``: the array to write the losses to (the broadcast
        shape, `input`'s dtype, any layout; may be `input` or `target` itself), returned.
    grad_out : ndarray, optional
        With `return_grad`: the array to write the gradient to (`input`'s shape and
        dtype, any layout), returned.  It may be `input` itself, except with
        ``reduction="mean"`` or where `input` is broadcast.

    Returns
    -------
    loss : ndarray or scalar
        `input`'s dtype; the broadcast shape of `input` and `target` for ``"none"``.
    grad : ndarray, only with `return_grad`
        `input`'s shape and dtype.

    Raises
    ------
    ValueError
        For a `target` that does not broadcast with `input`, a `weight` not of
        `input`'s shape, an unknown `reduction`, ``n_threads <= 0``, a wrong `out` or
        `grad_out` (shape, read-only, shared memory).
    TypeError
        For complex or non-numeric input, a non-bool `return_grad`, a non-integer
        `n_threads`, an `out` or `grad_out` of another dtype.

    Notes
    -----
    Follows :func:`torch.nn.functional.mse_loss` (`reduction`, `weight`, the
    broadcasting of `input` and `target`, without torch's warning) on NumPy arrays.
    It differs where the API contract says so: every option is keyword-only, float16
    is computed and returned as float32; `return_grad`, `n_threads`, `out` and
    `grad_out` are additions.

    Examples
    --------
    >>> import crossent
    >>> float(crossent.mse_loss([1.0, 2.0], [0.0, 0.0]))
    2.5
    >>> loss, grad = crossent.mse_loss([1.0, 2.0], [0.0, 0.0], return_grad=True)
    >>> [float(g) for g in grad]  # 2 (input - target) / N
    [1.0, 2.0]
    >>> float(crossent.mse_loss([1.0, 2.0], [0.0, 0.0], weight=[3.0, 1.0]))  # (3 + 4) / 4
    1.75
    """
    reduction = check_reduction(reduction)
    return_grad = parse_bool(return_grad, "return_grad")
    x, t, dtype, shape = broadcast_pair(input, target)
    w = weight_like_input(weight, x, dtype)
    return elementwise_loss(CX_GK_MSE, x, t, w, dtype, shape, reduction, return_grad,
                            n_threads, w is not None, 0.0, 0.0, True, out, grad_out,
                            (input, target, weight))


def poisson_nll_loss(input, target, *, log_input=True, full=False, eps=1e-8, reduction="mean",
                     return_grad=False, n_threads=None, out=None, grad_out=None):
    """Poisson negative log-likelihood, as :func:`torch.nn.functional.poisson_nll_loss`.

    ``log_input=True``: ``exp(input) - target * input`` (gradient ``exp(input) - target``);
    ``log_input=False``: ``input - target * log(input + eps)`` (gradient
    ``1 - target / (input + eps)``).  ``full=True`` adds Stirling's approximation of
    ``log(target!)``, ``target log(target) - target + log(2 pi target) / 2``, where
    ``target > 1``.  A zero count contributes ``0`` for its ``target * log`` term even
    where the log is infinite (``0 log 0 = 0``; torch gives NaN there).

    Parameters
    ----------
    input : array_like
        Log-rates (or rates with ``log_input=False``).
    target : array_like
        Counts, broadcast with `input` (NumPy rules, as torch).
    log_input, full : bool, optional
    eps : float, optional
        Added to the rate when ``log_input=False`` (cast to `input`'s dtype).
    reduction : {"mean", "sum", "none"}, optional
        Over the elements of the broadcast shape.
    return_grad : bool, optional
        Also return ``d loss / d input``, computed in the same pass; summed back to
        `input`'s shape where `input` is broadcast, as autograd does.
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.

    out : ndarray, optional
        With ``reduction="none"``: the array to write the losses to (the broadcast
        shape, `input`'s dtype, any layout; may be `input` or `target` itself), returned.
    grad_out : ndarray, optional
        With `return_grad`: the array to write the gradient to (`input`'s shape and
        dtype, any layout), returned.  It may be `input` itself, except with
        ``reduction="mean"`` or where `input` is broadcast.

    Returns
    -------
    loss : ndarray or scalar
        `input`'s dtype; a NumPy scalar unless ``reduction="none"`` (then the broadcast
        shape of `input` and `target`).
    grad : ndarray, only with `return_grad`
        `input`'s shape and dtype.

    Raises
    ------
    ValueError, TypeError
        As :func:`mse_loss`; `log_input` and `full` must be bools, `eps` a real number.

    Notes
    -----
    Follows :func:`torch.nn.functional.poisson_nll_loss` (`log_input`, `full`, `eps`,
    `reduction`, the broadcasting of `input` and `target`) on NumPy arrays.  It differs
    where the API contract says so: every option is keyword-only, and a zero count
    contributes 0 to its ``target * log`` term even where the log is infinite (torch
    gives NaN there); `return_grad` and `n_threads` are additions.

    Examples
    --------
    >>> import crossent
    >>> float(crossent.poisson_nll_loss([0.0], [2.0]))  # exp(0) - 2 * 0
    1.0
    >>> rates, counts = [0.0, 1.0], [0.0, 3.0]
    >>> [float(v) for v in crossent.poisson_nll_loss(
    ...     rates, counts, log_input=False, eps=0.0, reduction="none")]  # 0 log 0 = 0
    [0.0, 1.0]
    """
    log_input = parse_bool(log_input, "log_input")
    full = parse_bool(full, "full")
    cdef double e = parse_real(eps, "eps")
    reduction = check_reduction(reduction)
    return_grad = parse_bool(return_grad, "return_grad")
    x, t, dtype, shape = broadcast_pair(input, target)
    e = in_dtype(e, dtype)
    return elementwise_loss(CX_GK_POISSON_LOG if log_input else CX_GK_POISSON_RATE, x, t,
                            None, dtype, shape, reduction, return_grad, n_threads, full, e,
                            0.0, False, out, grad_out, (input, target, None))


def l1_loss(input, target, *, reduction="mean", weight=None, return_grad=False,
            n_threads=None, out=None, grad_out=None):
    """Mean absolute error, as :func:`torch.nn.functional.l1_loss`.

    Pointwise ``weight * |input - target|``; gradient ``weight * sign(input - target)``,
    0 where ``input == target`` (torch's autograd); with `weight`, the ``"mean"`` is
    torch's ``sum(weight * loss) / sum(weight)``.  The negative log-likelihood of a
    Laplace distribution of a fixed scale, up to constants.

    Parameters
    ----------
    input : array_like
        Predictions (float32/float64 computed natively; integers as float64).
    target : array_like
        Targets, broadcast with `input` (NumPy rules, as torch); cast to `input`'s
        dtype.
    reduction : {"mean", "sum", "none"}, optional
        As torch (default ``"mean"``), over the elements of the broadcast shape.
    weight : array_like, optional
        Elementwise weight of `input`'s shape (as torch 2.13), broadcast against the
        loss; ``"mean"`` divides by its sum.
    return_grad : bool, optional
        Also return ``d loss / d input`` (for ``"none"``: of ``loss.sum()``), computed
        in the same pass; summed back to `input`'s shape where `input` is broadcast,
        as autograd does.
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.
    out : ndarray, optional
        With ``reduction="none"``: the array to write the losses to (the broadcast
        shape, `input`'s dtype, any layout; may be `input` or `target` itself), returned.
    grad_out : ndarray, optional
        With `return_grad`: the array to write the gradient to (`input`'s shape and
        dtype, any layout), returned.  It may be `input` itself, except with
        ``reduction="mean"`` or where `input` is broadcast.

    Returns
    -------
    loss : ndarray or scalar
        `input`'s dtype; the broadcast shape of `input` and `target` for ``"none"``.
    grad : ndarray, only with `return_grad`
        `input`'s shape and dtype.

    Raises
    ------
    ValueError
        For a `target` that does not broadcast with `input`, a `weight` not of
        `input`'s shape, an unknown `reduction`, ``n_threads <= 0``, a wrong `out` or
        `grad_out` (shape, read-only, shared memory).
    TypeError
        For complex or non-numeric input, a non-bool `return_grad`, a non-integer
        `n_threads`, an `out` or `grad_out` of another dtype.

    Notes
    -----
    Follows :func:`torch.nn.functional.l1_loss` of torch 2.13 (`reduction`, `weight`,
    the broadcasting of `input` and `target`, the zero gradient at ``input ==
    target``) on NumPy arrays.  It differs where the API contract says so: every option
    is keyword-only, float16 is computed and returned as float32, a NaN residual has a
    NaN gradient (torch's ``sign(nan)`` is 0); `return_grad`, `n_threads`, `out` and
    `grad_out` are additions.

    Examples
    --------
    >>> import crossent
    >>> float(crossent.l1_loss([1.0, -2.0], [0.0, 0.0]))
    1.5
    >>> loss, grad = crossent.l1_loss([1.0, 0.0, -2.0], [0.0, 0.0, 0.0], return_grad=True)
    >>> [float(g) for g in grad]  # sign(input - target) / N, 0 at the kink
    [0.3333333333333333, 0.0, -0.3333333333333333]
    >>> float(crossent.l1_loss([1.0, -2.0], [0.0, 0.0], weight=[3.0, 1.0]))  # (3 + 2) / 4
    1.25
    """
    reduction = check_reduction(reduction)
    return_grad = parse_bool(return_grad, "return_grad")
    x, t, dtype, shape = broadcast_pair(input, target)
    w = weight_like_input(weight, x, dtype)
    return elementwise_loss(CX_GK_L1, x, t, w, dtype, shape, reduction, return_grad,
                            n_threads, w is not None, 0.0, 0.0, True, out, grad_out,
                            (input, target, weight))


def smooth_l1_loss(input, target, *, reduction="mean", beta=1.0, return_grad=False,
                   n_threads=None, out=None, grad_out=None):
    """Smooth L1 loss, as :func:`torch.nn.functional.smooth_l1_loss`.

    Pointwise, with ``r = input - target``: ``r**2 / (2 beta)`` where ``|r| < beta``,
    else ``|r| - beta / 2``; gradient ``r / beta``, else ``sign(r)`` (continuous: both
    are ``sign(r)`` at ``|r| == beta``).  ``beta == 0`` is :func:`l1_loss`, as torch.

    Parameters
    ----------
    input : array_like
        Predictions (float32/float64 computed natively; integers as float64).
    target : array_like
        Targets, broadcast with `input` (NumPy rules, as torch); cast to `input`'s
        dtype.
    reduction : {"mean", "sum", "none"}, optional
        As torch (default ``"mean"``), over the elements of the broadcast shape.
    beta : float, optional
        The threshold between the quadratic and the linear part, >= 0 (rounded to
        `input`'s dtype, as torch computes with it).
    return_grad : bool, optional
        Also return ``d loss / d input`` (for ``"none"``: of ``loss.sum()``), computed
        in the same pass; summed back to `input`'s shape where `input` is broadcast,
        as autograd does.
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.
    out : ndarray, optional
        With ``reduction="none"``: the array to write the losses to (the broadcast
        shape, `input`'s dtype, any layout; may be `input` or `target` itself), returned.
    grad_out : ndarray, optional
        With `return_grad`: the array to write the gradient to (`input`'s shape and
        dtype, any layout), returned.  It may be `input` itself, except with
        ``reduction="mean"`` or where `input` is broadcast.

    Returns
    -------
    loss : ndarray or scalar
        `input`'s dtype; the broadcast shape of `input` and `target` for ``"none"``.
    grad : ndarray, only with `return_grad`
        `input`'s shape and dtype.

    Raises
    ------
    ValueError
        For a negative (or NaN) `beta`, a `target` that does not broadcast with
        `input`, an unknown `reduction`, ``n_threads <= 0``, a wrong `out` or
        `grad_out` (shape, read-only, shared memory).
    TypeError
        For complex or non-numeric input, a non-real `beta`, a non-bool `return_grad`,
        a non-integer `n_threads`, an `out` or `grad_out` of another dtype.

    Notes
    -----
    Follows :func:`torch.nn.functional.smooth_l1_loss` of torch 2.13 (`reduction`,
    `beta`, ``beta == 0`` as the L1 loss, the broadcasting of `input` and `target`,
    the gradient at the kinks) on NumPy arrays.  It differs where the API contract
    says so: every option is keyword-only, a negative `beta` is a ``ValueError``
    (torch: ``RuntimeError``), float16 is computed and returned as float32;
    `return_grad`, `n_threads`, `out` and `grad_out` are additions.

    Examples
    --------
    >>> import crossent
    >>> [float(v) for v in crossent.smooth_l1_loss(
    ...     [0.5, 3.0], [0.0, 0.0], reduction="none")]  # 0.5**2 / 2, 3 - 1/2
    [0.125, 2.5]
    >>> loss, grad = crossent.smooth_l1_loss(
    ...     [0.5, 3.0], [0.0, 0.0], beta=2.0, reduction="sum", return_grad=True)
    >>> [float(g) for g in grad]
    [0.25, 1.0]
    """
    reduction = check_reduction(reduction)
    return_grad = parse_bool(return_grad, "return_grad")
    x, t, dtype, shape = broadcast_pair(input, target)
    cdef double b = loss_parameter(beta, "beta", dtype, True)
    return elementwise_loss(CX_GK_SMOOTH_L1 if b > 0.0 else CX_GK_L1, x, t, None, dtype,
                            shape, reduction, return_grad, n_threads, False, 0.0, b, False,
                            out, grad_out, (input, target, None))


def binary_cross_entropy(input, target, *, weight=None, reduction="mean", return_grad=False,
                         n_threads=None, out=None, grad_out=None):
    """Binary cross-entropy on probabilities, as :func:`torch.nn.functional.binary_cross_entropy`.

    Pointwise ``-weight * (target * log(input) + (1 - target) * log(1 - input))``, each
    log clamped at -100 as torch (so the loss is finite at ``input`` 0 and 1); gradient
    torch's ``weight * (input - target) / max(input * (1 - input), 1e-12)``.  The
    Bernoulli negative log-likelihood on probabilities (on logits, prefer
    :func:`binary_cross_entropy_with_logits`, stable everywhere).

    Parameters
    ----------
    input : array_like
        Probabilities in [0, 1] (float32/float64 computed natively; integers as
        float64).
    target : array_like
        Probabilities in [0, 1] of `input`'s shape (as torch); cast to `input`'s dtype.
    weight : array_like, optional
        Elementwise weight, broadcast to `input`'s shape (NumPy rules, as torch).
    reduction : {"mean", "sum", "none"}, optional
        As torch (default ``"mean"``: the sum over the number of elements).
    return_grad : bool, optional
        Also return ``d loss / d input`` (for ``"none"``: of ``loss.sum()``), computed
        in the same pass.
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.
    out : ndarray, optional
        With ``reduction="none"``: the array to write the losses to (`input`'s shape
        and dtype, any layout; may be `input` or `target` itself), returned.
    grad_out : ndarray, optional
        With `return_grad`: the array to write the gradient to (`input`'s shape and
        dtype, any layout), returned.  It may be `input` itself, except with
        ``reduction="mean"``.

    Returns
    -------
    loss : ndarray or scalar
        `input`'s dtype; `input`'s shape for ``"none"``.
    grad : ndarray, only with `return_grad`
        `input`'s shape and dtype.

    Raises
    ------
    ValueError
        For an `input` or `target` outside [0, 1] (NaN included), a `target` of another
        shape, a `weight` that does not broadcast to `input`'s shape, an unknown
        `reduction`, ``n_threads <= 0``, a wrong `out` or `grad_out` (shape, read-only,
        shared memory).
    TypeError
        For complex or non-numeric input, a non-bool `return_grad`, a non-integer
        `n_threads`, an `out` or `grad_out` of another dtype.

    Notes
    -----
    Follows :func:`torch.nn.functional.binary_cross_entropy` of torch 2.13 (`weight`,
    `reduction`, the clamp of each log at -100, the gradient formula with its floor
    1e-12, equal shapes of `input` and `target`) on NumPy arrays.  The gradient is
    torch's formula, not the derivative of the clamped loss at 0 and 1; its floor is
    torch's constant, 1e-12 rounded to float32 (9.99999996e-13).  It differs
    where the API contract says so: `weight` is keyword-only (torch also takes it
    positionally), an `input` or `target` outside [0, 1] is a ``ValueError`` (torch:
    ``RuntimeError``), float16 is computed and returned as float32; `return_grad`,
    `n_threads`, `out` and `grad_out` are additions.

    Examples
    --------
    >>> import numpy as np
    >>> import crossent
    >>> print(np.round(crossent.binary_cross_entropy(
    ...     [0.5, 0.9, 0.0], [1.0, 1.0, 1.0], reduction="none"), 6))  # the clamp at 0
    [  0.693147   0.105361 100.      ]
    >>> loss, grad = crossent.binary_cross_entropy([0.5, 0.8], [1.0, 0.0], return_grad=True)
    >>> print(np.round(grad, 6))  # (x - t) / (x (1 - x)) / N
    [-1.    2.5]
    """
    reduction = check_reduction(reduction)
    return_grad = parse_bool(return_grad, "return_grad")
    x = <object>as_float_array(input, "input")
    dtype = x.dtype
    t = side_array(target, "target", dtype)
    if t.shape != x.shape:
        raise ValueError(f"target of shape {t.shape} must have input's shape {x.shape} "
                         "(as torch)")
    w = None
    if weight is not None:
        w = side_array(weight, "weight", dtype)
        try:
            wshape = tuple(np.broadcast_shapes(w.shape, x.shape))
        except ValueError:
            wshape = None
        if wshape != x.shape:
            raise ValueError(f"weight of shape {w.shape} does not broadcast to input's "
                             f"shape {x.shape}")
    return elementwise_loss(CX_GK_BCE, x, t, w, dtype, x.shape, reduction, return_grad,
                            n_threads, w is not None, 0.0, 0.0, False, out, grad_out,
                            (input, target, weight))


def huber_loss(input, target, *, reduction="mean", delta=1.0, weight=None, return_grad=False,
               n_threads=None, out=None, grad_out=None):
    """Huber loss, as :func:`torch.nn.functional.huber_loss`.

    Pointwise, with ``r = input - target``: ``weight * r**2 / 2`` where
    ``|r| < delta``, else ``weight * delta * (|r| - delta / 2)``; gradient
    ``weight * r``, else ``weight * delta * sign(r)`` (continuous at ``|r| == delta``).
    With `weight`, the ``"mean"`` is torch's ``sum(weight * loss) / N`` (N the number
    of elements).  The negative log-likelihood of Huber's least-favourable density.

    Parameters
    ----------
    input : array_like
        Predictions (float32/float64 computed natively; integers as float64).
    target : array_like
        Targets, broadcast with `input` (NumPy rules, as torch); cast to `input`'s
        dtype.
    reduction : {"mean", "sum", "none"}, optional
        As torch (default ``"mean"``), over the elements of the broadcast shape.
    delta : float, optional
        The threshold between the quadratic and the linear part, > 0 (rounded to
        `input`'s dtype, as torch computes with it).
    weight : array_like, optional
        Elementwise weight of `input`'s shape (as torch 2.13), broadcast against the
        loss; ``"mean"`` still divides by the number of elements.
    return_grad : bool, optional
        Also return ``d loss / d input`` (for ``"none"``: of ``loss.sum()``), computed
        in the same pass; summed back to `input`'s shape where `input` is broadcast,
        as autograd does.
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.
    out : ndarray, optional
        With ``reduction="none"``: the array to write the losses to (the broadcast
        shape, `input`'s dtype, any layout; may be `input` or `target` itself), returned.
    grad_out : ndarray, optional
        With `return_grad`: the array to write the gradient to (`input`'s shape and
        dtype, any layout), returned.  It may be `input` itself, except with
        ``reduction="mean"`` or where `input` is broadcast.

    Returns
    -------
    loss : ndarray or scalar
        `input`'s dtype; the broadcast shape of `input` and `target` for ``"none"``.
    grad : ndarray, only with `return_grad`
        `input`'s shape and dtype.

    Raises
    ------
    ValueError
        For ``delta <= 0`` (or NaN), a `target` that does not broadcast with `input`, a
        `weight` not of `input`'s shape, an unknown `reduction`, ``n_threads <= 0``, a
        wrong `out` or `grad_out` (shape, read-only, shared memory).
    TypeError
        For complex or non-numeric input, a non-real `delta`, a non-bool `return_grad`,
        a non-integer `n_threads`, an `out` or `grad_out` of another dtype.

    Notes
    -----
    Follows :func:`torch.nn.functional.huber_loss` of torch 2.13 (`reduction`, `delta`,
    `weight` and its mean over N, the broadcasting of `input` and `target`, the
    gradient at the kinks) on NumPy arrays.  It differs where the API contract says so:
    every option is keyword-only, ``delta <= 0`` is a ``ValueError`` (torch:
    ``RuntimeError``), float16 is computed and returned as float32; `return_grad`,
    `n_threads`, `out` and `grad_out` are additions.  ``huber_loss(x, y, delta=d)`` is
    ``d * smooth_l1_loss(x, y, beta=d)``.

    Examples
    --------
    >>> import crossent
    >>> [float(v) for v in crossent.huber_loss(
    ...     [0.5, 3.0], [0.0, 0.0], delta=2.0, reduction="none")]  # 0.5**2 / 2, 2 (3 - 1)
    [0.125, 4.0]
    >>> loss, grad = crossent.huber_loss(
    ...     [0.5, 3.0], [0.0, 0.0], delta=2.0, reduction="sum", return_grad=True)
    >>> [float(g) for g in grad]
    [0.5, 2.0]
    >>> float(crossent.huber_loss([0.5, 3.0], [0.0, 0.0], weight=[2.0, 1.0]))  # (0.25 + 2.5) / 2
    1.375
    """
    reduction = check_reduction(reduction)
    return_grad = parse_bool(return_grad, "return_grad")
    x, t, dtype, shape = broadcast_pair(input, target)
    cdef double d = loss_parameter(delta, "delta", dtype, False)
    w = weight_like_input(weight, x, dtype)
    return elementwise_loss(CX_GK_HUBER, x, t, w, dtype, shape, reduction, return_grad,
                            n_threads, w is not None, 0.0, d, False, out, grad_out,
                            (input, target, weight))


def gaussian_nll_loss(input, target, var, *, full=False, eps=1e-6, reduction="mean",
                      return_grad=False, n_threads=None, out=None, grad_out=None):
    """Gaussian negative log-likelihood, as :func:`torch.nn.functional.gaussian_nll_loss`.

    ``0.5 * (log(v) + (input - target)**2 / v)`` (plus ``0.5 * log(2 pi)`` with
    ``full=True``), ``v = max(var, eps)``.  The clamp is straight-through, as torch's
    (which clamps under ``no_grad``): ``d loss / d var = (1/v - (input - target)**2/v**2) / 2``
    at the clamped ``v``, also where ``var < eps``.  ``(input - target)**2`` does not
    overflow while the loss is finite.

    Parameters
    ----------
    input : array_like
        Predicted means.
    target : array_like
        Samples, broadcast with `input` (NumPy rules, as torch).
    var : array_like or float
        Variances, >= 0: a float (or 0-d array), or an array of `input`'s shape, of
        `input`'s shape without its last dimension, or of `input`'s number of
        dimensions with exactly one dimension of size 1 where `input`'s differs (the
        shapes torch 2.13 accepts; judged against `input`'s shape, not the broadcast
        one, as torch).  Broadcast by strides, never copied.
    full : bool, optional
        Add the constant ``0.5 * log(2 pi)``.
    eps : float, optional
        Lower clamp of `var` (cast to `input`'s dtype).
    reduction : {"mean", "sum", "none"}, optional
        Over the elements of the broadcast shape of `input` and `target`.
    return_grad : bool, optional
        Also return the gradients with respect to `input` and `var`, computed in the
        same pass (for ``"none"``: of ``loss.sum()``); each is summed back to its
        argument's shape where that argument is broadcast, as autograd does (a second
        pass where both are: `input` broadcast against `target`).
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.
    out : ndarray, optional
        With ``reduction="none"``: the array to write the losses to (the broadcast
        shape, `input`'s dtype, any layout), returned; it may be `input`, `target` or
        `var` itself where no gradient is summed back.
    grad_out : tuple of two ndarrays, optional
        With `return_grad`: the arrays to write ``grad_input`` and ``grad_var`` to
        (`input`'s shape and `var`'s shape, a 0-d array for a float `var`; `input`'s
        dtype; any layout), returned.  They may be the inputs themselves where no
        gradient is summed back, except with ``reduction="mean"``.

    Returns
    -------
    loss : ndarray or scalar
        `input`'s dtype; a NumPy scalar unless ``reduction="none"`` (then the broadcast
        shape of `input` and `target`).
    grad_input : ndarray, only with `return_grad`
        `input`'s shape and dtype.
    grad_var : ndarray or scalar, only with `return_grad`
        `var`'s shape (a NumPy scalar for a float `var`).

    Raises
    ------
    ValueError
        For a negative entry of `var`, a `var` of a shape torch refuses, a `target`
        that does not broadcast with `input`, an unknown `reduction`, ``n_threads <= 0``.
    TypeError
        For complex or non-numeric arrays, non-bool flags, a non-real `eps`.

    Notes
    -----
    Follows :func:`torch.nn.functional.gaussian_nll_loss` of torch 2.13: the
    broadcasting of `input` and `target`, the shapes of `var` it accepts, the
    ``ValueError`` for a negative `var`, the clamp at `eps` with its straight-through
    gradient, `full`.  It differs where the API contract says so: every option after
    `var` is keyword-only, float16 is computed and returned as float32; `return_grad`
    (with the gradient with respect to `var`) and `n_threads` are additions.
    :func:`gaussian_nll` is the exact negative log-likelihood without the clamp.

    Examples
    --------
    >>> import numpy as np
    >>> import crossent
    >>> round(float(crossent.gaussian_nll_loss([0.0, 1.0], [0.0, 0.0], 1.0)), 6)
    0.25
    >>> loss, g_input, g_var = crossent.gaussian_nll_loss(
    ...     [0.0, 1.0], [0.0, 0.0], 1.0, return_grad=True)
    >>> print(np.round(g_input, 6), round(float(g_var), 6))
    [0.  0.5] 0.25
    """
    full = parse_bool(full, "full")
    cdef double e = parse_real(eps, "eps")
    reduction = check_reduction(reduction)
    return_grad = parse_bool(return_grad, "return_grad")
    x, t, dtype, shape = broadcast_pair(input, target)
    v = side_array(var, "var", dtype)
    xs, vs = x.shape, v.shape
    if v.ndim == 0 or vs == xs:
        vb = v
    elif vs == xs[:len(xs) - 1]:
        vb = v[..., None]
    elif (v.ndim == x.ndim and sum(1 for a, b in zip(xs, vs) if a != b) == 1
          and all(b == 1 for a, b in zip(xs, vs) if a != b)):
        vb = v
    else:
        raise ValueError(f"var is of incorrect size: shape {vs} for input of shape {xs} "
                         "(torch accepts input's shape, input's shape without its last "
                         "dimension, or one dimension of size 1)")
    # var's shape rules are torch's, against input's shape (above); the loss is then over
    # the broadcast shape of input and target, which a var of those shapes broadcasts to
    cdef cx_gauss_prm P
    cdef Py_ssize_t n = math.prod(shape)
    nt = resolve_threads(n_threads, n)
    init_prm(&P, CX_GK_TORCH, return_grad, reduction, n)
    P.full = full
    P.eps = in_dtype(e, dtype)
    x_red = return_grad and xs != shape
    v_red = return_grad and vb.shape != shape
    callers, names = (input, target, var), ("input", "target", "var")
    in_place = not (x_red or v_red)
    lo = loss_target(out, reduction, shape, dtype, callers, names, in_place)
    gxy, gvy = grad_targets(grad_out, return_grad, [xs, vs], dtype, callers, names,
                            in_place and reduction != "mean", out)
    loss = (lo if lo is not None else empty_like_layout(shape, dtype, [x, t])) \
        if reduction == "none" else None
    gx = (gxy if gxy is not None else empty_like_layout(xs, dtype, [x])) \
        if return_grad else None
    gv = None
    if return_grad:
        gv = empty_like_layout(vb.shape, dtype, [vb]) if gvy is None else (
            gvy[..., None] if vb.ndim > v.ndim else gvy)
    arrs = [x, t, vb, loss, gx, gv]
    total, flags = 0.0, 0
    if n:
        if x_red and v_red:
            # both gradients summed back (input broadcast against target): var's with the
            # loss, then input's in a second pass, as gaussian_nll does
            total, flags = engine(&P, shape, [x, t, vb, loss, None, gv], OGP, nt)
            engine(&P, shape, [x, t, vb, None, gx, None], OGX, nt)
        else:
            total, flags = engine(&P, shape, arrs, OGX if x_red else (OGP if v_red else -1), nt)
    else:
        if return_grad:
            gx[...] = 0
            gv[...] = 0
    if flags & CX_GF_NEGATIVE or (n == 0 and np.any(v < 0)):
        raise ValueError("var has negative entry/entries")
    value = result(loss, out) if reduction == "none" else reduced_value(
        total, n, reduction, dtype, &P, shape, arrs, nt)
    if return_grad:
        return (value, result(gx, grad_out[0] if grad_out is not None else None),
                result(gv.reshape(vs) if gvy is None else gvy,
                       grad_out[1] if grad_out is not None else None))
    return value


def gaussian_nll(input, target, var=None, *, log_var=None, std=None, reduction="mean",
                 return_grad=False, n_threads=None, out=None, grad_out=None):
    """The exact Gaussian negative log-likelihood, in nats, constant included.

    .. math:: \\ell = \\tfrac12\\log 2\\pi + \\tfrac12\\log\\sigma^2 + \\frac{(x - y)^2}{2\\sigma^2}

    with ``x`` = `input` (the predicted mean), ``y`` = `target` and the variance given as
    `var`, as `log_var` (``log sigma**2``, the stable parametrisation of heteroscedastic
    models: no clamping, no overflow of ``exp`` for any ``|log_var|``) or as `std`, with
    plain NumPy broadcasting of the three.  ``var == 0`` (``std == 0``,
    ``log_var == -inf``) takes the limit ``sigma -> 0+``: ``+inf`` where the residual is
    non-zero, ``-inf`` where it is zero.

    Given none of them, the variance is profiled out at its maximum-likelihood value
    ``sigma2 = mean((x - y)**2)`` over all elements: the loss per element is
    ``(log(2 pi sigma2) + (x - y)**2 / sigma2) / 2``, whose mean is
    ``(log(2 pi sigma2) + 1) / 2`` (``-inf`` for ``sigma2 = 0``), and the gradient is
    that of the profiled loss, ``(x - y) / sigma2`` (over N for the mean).  This takes
    one reduction pass for ``sigma2``; the loss is then closed-form, and the
    elementwise losses (``"none"``) and the gradient are a second, light pass.

    With a fixed scalar `std` the mean is an affine function of the MSE:
    ``gaussian_nll(x, y, std=s) == mse_loss(x, y) / (2 s**2) + log(2 pi s**2) / 2``.

    Parameters
    ----------
    input : array_like
        Predicted means.
    target : array_like
        Observations; broadcast with `input`.
    var, log_var, std : array_like, optional
        At most one; broadcast with `input` and `target` (by strides, never copied).
        `var` and `std` must be >= 0.
    reduction : {"mean", "sum", "none"}, optional
        Over all elements of the broadcast shape.
    return_grad : bool, optional
        Return ``(loss, grad_input, grad_param)``, ``grad_param`` with respect to
        whichever of `var` / `log_var` / `std` was given, or ``(loss, grad_input)`` when
        the variance is profiled; each summed back to its argument's shape, computed in
        the same pass as the loss.
    n_threads : int, optional
        Threads to use; ``None`` follows ``OMP_NUM_THREADS`` / threadpoolctl.
    out : ndarray, optional
        With ``reduction="none"``: the array to write the losses to (the broadcast
        shape, `input`'s dtype, any layout), returned; it may be an input itself where
        no gradient is summed back.
    grad_out : ndarray or tuple of two ndarrays, optional
        With `return_grad`: the array(s) to write the gradient(s) to, one per gradient
        returned (a tuple ``(grad_input, grad_param)`` where a variance argument is
        given, else one array), of the shapes of the arguments and `input`'s dtype, in
        any layout; returned.  They may be the inputs themselves where no gradient is
        summed back, except with ``reduction="mean"``.

    Returns
    -------
    loss : ndarray or scalar
        `input`'s dtype; the broadcast shape for ``"none"``.
    grad_input : ndarray or scalar, only with `return_grad`
        `input`'s shape.
    grad_param : ndarray or scalar, only with `return_grad` and a variance argument
        The shape of the variance argument given.

    Raises
    ------
    ValueError
        For more than one of `var`, `log_var`, `std`; a negative `var` or `std`; shapes
        that do not broadcast; an unknown `reduction`; ``n_threads <= 0``.
    TypeError
        For complex or non-numeric arrays, a non-bool `return_grad`.

    Notes
    -----
    No peer computes this exact form.  With `var` it is
    :func:`torch.nn.functional.gaussian_nll_loss` with ``full=True`` and without the
    clamp of `var` at ``eps`` (nor torch's shape rules: `input`, `target` and `var`
    broadcast as NumPy arrays do), and per element it is ``-scipy.stats.norm.logpdf``:
    ``gaussian_nll(x, y, std=s, reduction="none") == -norm_logpdf(y, x, s)``.

    Examples
    --------
    >>> import numpy as np
    >>> import crossent
    >>> round(float(crossent.gaussian_nll([0.0], [0.0], std=1.0)), 6)  # log(2 pi) / 2
    0.918939
    >>> round(float(crossent.gaussian_nll([0.0, 0.0], [1.0, -1.0])), 6)  # profiled
    1.418939
    >>> print(np.round(crossent.gaussian_nll(
    ...     [0.0, 0.0], [1.0, -1.0], log_var=[0.0, 2.0], reduction="none"), 6))
    [1.418939 1.986606]

    The relations to the MSE and to the normal log-density:

    >>> x, y = np.array([0.3, -1.2, 2.0]), np.array([0.0, 1.0, 1.5])
    >>> nll = float(crossent.gaussian_nll(x, y, std=0.5))
    >>> mse = float(crossent.mse_loss(x, y))
    >>> bool(np.isclose(nll, mse / (2 * 0.5**2) + np.log(2 * np.pi * 0.5**2) / 2))
    True
    >>> bool(np.allclose(crossent.gaussian_nll(x, y, std=0.5, reduction="none"),
    ...                  -crossent.norm_logpdf(y, x, 0.5)))
    True
    """
    reduction = check_reduction(reduction)
    return_grad = parse_bool(return_grad, "return_grad")
    given = [(name, val) for name, val in (("var", var), ("log_var", log_var), ("std", std))
             if val is not None]
    if len(given) > 1:
        raise ValueError("give at most one of var, log_var and std, got "
                         + ", ".join(name for name, _ in given))
    x0 = <object>as_float_array(input, "input")
    dtype = x0.dtype
    t0 = side_array(target, "target", dtype)
    arrays = [x0, t0]
    pname = None
    p0 = None
    if given:
        pname = given[0][0]
        p0 = side_array(given[0][1], pname, dtype)
        arrays.append(p0)
    try:
        shape = tuple(np.broadcast_shapes(*[a.shape for a in arrays]))
    except ValueError:
        names = "input, target" + (" and " + pname if pname else "")
        raise ValueError(f"{names} cannot be broadcast together: shapes "
                         + ", ".join(str(a.shape) for a in arrays)) from None
    cdef Py_ssize_t n = math.prod(shape)
    nt = resolve_threads(n_threads, n)
    x_red = return_grad and x0.shape != shape
    p_red = return_grad and p0 is not None and p0.shape != shape
    callers = (input, target, given[0][1] if given else None)
    names = ("input", "target", pname or "var")
    in_place = not (x_red or p_red)
    lo = loss_target(out, reduction, shape, dtype, callers, names, in_place)
    if p0 is None:
        gxy, = grad_targets(grad_out, return_grad, [x0.shape], dtype, callers, names,
                            in_place and reduction != "mean", out)
        return profiled_nll(x0, t0, shape, n, dtype, reduction, return_grad, nt, lo, gxy,
                            out, grad_out)
    gxy, gpy = grad_targets(grad_out, return_grad, [x0.shape, p0.shape], dtype, callers,
                            names, in_place and reduction != "mean", out)
    cdef cx_gauss_prm P
    kind = {"var": CX_GK_VAR, "log_var": CX_GK_LOGVAR, "std": CX_GK_STD}[pname]
    init_prm(&P, kind, return_grad, reduction, n)
    loss = (lo if lo is not None else empty_like_layout(shape, dtype, [x0, t0, p0])) \
        if reduction == "none" else None
    gx = (gxy if gxy is not None else empty_like_layout(x0.shape, dtype, [x0])) \
        if return_grad else None
    gp = (gpy if gpy is not None else empty_like_layout(p0.shape, dtype, [p0])) \
        if return_grad else None
    total, flags = 0.0, 0
    if n:
        if x_red and p_red:
            # two gradients summed over different dims: the parameter's with the loss,
            # then the input's in a second pass (the only case that reads twice)
            total, flags = engine(&P, shape, [x0, t0, p0, loss, None, gp], OGP, nt)
            engine(&P, shape, [x0, t0, p0, None, gx, None], OGX, nt)
        else:
            total, flags = engine(&P, shape, [x0, t0, p0, loss, gx, gp],
                                  OGX if x_red else (OGP if p_red else -1), nt)
    else:
        if return_grad:
            gx[...] = 0
            gp[...] = 0
        if pname != "log_var" and np.any(p0 < 0):
            flags = CX_GF_NEGATIVE
    if flags & CX_GF_NEGATIVE:
        raise ValueError(f"{pname} must be >= 0 (it has negative entries)")
    value = result(loss, out) if reduction == "none" else reduced_value(
        total, n, reduction, dtype, &P, shape, [x0, t0, p0, None, None, None], nt)
    if return_grad:
        return (value, result(gx, grad_out[0] if grad_out is not None else None),
                result(gp, grad_out[1] if grad_out is not None else None))
    return value


cdef object filled(object y, object values):
    """`values` written into the kernel's target `y` (out= / grad_out=) where given."""
    if y is None:
        return values
    np.copyto(y, values)
    return y


cdef object profiled_nll(object x0, object t0, tuple shape, Py_ssize_t n,
                         object dtype, str reduction, bint return_grad, int nt, object lo,
                         object gxy, object out, object grad_out):
    """gaussian_nll with the variance profiled out (see its docstring).  lo, gxy: the
    targets of out= / grad_out= (or None)."""
    cdef cx_gauss_prm P
    cdef int shift = 0
    cdef double S, mean_loss
    init_prm(&P, CX_GK_MSE, False, reduction, n)
    none = reduction == "none"
    if n == 0:
        loss = filled(lo, np.zeros(shape, dtype)) if none else \
            dtype.type(0.0 if reduction == "sum" else np.nan)
        if return_grad:
            return result(loss, out), result(filled(gxy, np.zeros(x0.shape, dtype)), grad_out)
        return result(loss, out)
    # pass 1: sigma2 = mean of the squared residuals (scaled by 2^-+600 where the plain
    # sum overflows or underflows)
    S, _ = engine(&P, shape, [x0, t0, None, None, None, None], -1, nt)
    special = None
    if S != S:
        special = math.nan
    elif S == math.inf:
        shift = -600
    elif S < TINY_SUM:
        shift = 600
    if special is None and shift != 0:
        P.rscale = TWO_600 if shift > 0 else TWO_M600
        S, _ = engine(&P, shape, [x0, t0, None, None, None, None], -1, nt)
        if S == math.inf:
            special = math.inf  # an infinite residual
        elif S == 0.0:
            special = -math.inf  # every residual is zero
    if special is not None:
        loss = filled(lo, np.full(shape, special, dtype)) if none else dtype.type(special)
        if not return_grad:
            return result(loss, out)
        if special == math.inf:  # r / sigma2: NaN where r is infinite, else 0
            xb, tb = np.broadcast_arrays(x0, t0)
            g = np.where(np.isinf(xb) | np.isinf(tb), np.nan, 0.0)
            g = sum_to_shape(g, x0.shape).astype(dtype)
        else:
            g = np.full(x0.shape, np.nan, dtype)
        return result(loss, out), result(filled(gxy, g), grad_out)
    init_prm(&P, CX_GK_PROFILED, return_grad, reduction, n)
    mean_loss = cx_profiled_setup(&P, S, n, shift)
    if reduction == "mean":
        value = dtype.type(mean_loss)
    elif reduction == "sum":
        with np.errstate(over="ignore"):
            value = dtype.type(n * mean_loss)
    else:
        value = None
    if not none and not return_grad:
        return value
    # pass 2 (light): the elementwise losses and/or the gradient r / sigma2
    loss = (lo if lo is not None else empty_like_layout(shape, dtype, [x0, t0])) \
        if none else None
    gx = (gxy if gxy is not None else empty_like_layout(x0.shape, dtype, [x0])) \
        if return_grad else None
    engine(&P, shape, [x0, t0, None, loss, gx, None],
           OGX if (return_grad and x0.shape != shape) else -1, nt)
    if none:
        value = result(loss, out)
    if return_grad:
        return value, result(gx, grad_out)
    return value


def sum_to_shape(g, shape):
    """Sum a broadcast array back to `shape` (the rare special-value paths only)."""
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)
