# cython: language_level=3
"""The one array walker: dims ordered and merged, work split into fixed tasks."""
cimport numpy as cnp
from cython.parallel cimport prange
from libc.stdlib cimport malloc, free

from crossent._csrc cimport cx_pairwise_sum

cnp.import_array()


cdef int walk_arrays(Walk *w, list arrays, int nd, const cnp.npy_intp *shape,
                     const int *is_red, const WalkRules *rules) except -2:
    """The walk of `arrays` (at most MAXOP operands broadcast against `shape`, None for
    an absent one) over the dims is_red marks reduced (NULL: all of them, an
    elementwise walk); -1, nothing built, when a stride is not a whole number of
    elements."""
    cdef Py_ssize_t st[MAXOP][MAXD]
    cdef int all_red[MAXD]
    cdef int k, d
    for k in range(len(arrays)):
        if arrays[k] is None:
            for d in range(nd):
                st[k][d] = 0
        elif operand_strides(<cnp.ndarray>arrays[k], nd, shape, st[k]):
            return -1
    if is_red == NULL:
        for d in range(nd):
            all_red[d] = 1
        is_red = all_red
    build_walk(w, nd, shape, len(arrays), <const Py_ssize_t (*)[MAXD]>st, is_red, rules)
    return 0


cdef int run_tasks(const Walk *w, task_fn fn, void *args, int nthreads,
                   bint dynamic) noexcept nogil:
    """fn over every task: serial, or a prange (static, or dynamic so that a thread
    slowed by other work does not hold the rest back; the tasks are the same)."""
    cdef Py_ssize_t t
    if nthreads <= 1 or w.ntasks <= 1:
        for t in range(w.ntasks):
            fn(w, args, t)
    elif dynamic:
        for t in prange(w.ntasks, num_threads=nthreads, schedule="dynamic"):
            fn(w, args, t)
    else:
        for t in prange(w.ntasks, num_threads=nthreads, schedule="static"):
            fn(w, args, t)
    return 0


cdef int parts_init(Parts *p, Py_ssize_t ntasks, int nslot) except -1:
    """Room for nslot doubles and one flag per task (not zeroed: every task writes
    the slots and the flag it uses)."""
    cdef Py_ssize_t nd = ntasks * nslot
    p.ntasks = ntasks
    p.heap = NULL
    p.d = p.dstack
    p.flags = p.fstack
    if nd > PART_STACK or ntasks > PART_STACK:
        p.heap = malloc(nd * sizeof(double) + ntasks * sizeof(int) + 1)
        if p.heap == NULL:
            raise MemoryError()
        p.d = <double *>p.heap
        p.flags = <int *>(p.d + nd)
    return 0


cdef void parts_free(Parts *p) noexcept:
    free(p.heap)
    p.heap = NULL


cdef double parts_sum(Parts *p, int slot) noexcept nogil:
    """The pairwise sum of one slot over the tasks, in task order (consumes it)."""
    return cx_pairwise_sum(p.d + slot * p.ntasks, p.ntasks)


cdef int parts_flags(const Parts *p) noexcept nogil:
    """The tasks' flags or-ed (-1 if a task failed to allocate)."""
    cdef Py_ssize_t t
    cdef int f = 0
    for t in range(p.ntasks):
        if p.flags[t] < 0:
            return -1
        f |= p.flags[t]
    return f
