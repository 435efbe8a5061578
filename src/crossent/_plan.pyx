# cython: language_level=3
"""Walk plans: outer dims x one reduced axis, by strides, without copying."""
cimport numpy as cnp
from crossent._csrc cimport CX_GROUP_LEN, CX_TILE_W

cnp.import_array()


cdef inline Py_ssize_t iabs(Py_ssize_t v) noexcept nogil:
    return -v if v < 0 else v


cdef int element_strides(cnp.ndarray a, Py_ssize_t *out) except -1:
    """Byte strides of `a` in elements; 1 if some stride is not a multiple."""
    cdef int i
    cdef Py_ssize_t item = cnp.PyArray_ITEMSIZE(a)
    cdef cnp.npy_intp *st = cnp.PyArray_STRIDES(a)
    for i in range(cnp.PyArray_NDIM(a)):
        if st[i] % item:
            return 1
        out[i] = st[i] // item
    return 0


cdef int build_plan(Plan *p, cnp.ndarray x, cnp.ndarray y, cnp.ndarray b,
                    const int *is_red, bint elementwise) except -2:
    """Fill `p` for x (and y, and b when not None) of one ndim.

    For reductions y has x's ndim with size 1 on the reduced axes.  Returns 0,
    or -1 when the reduced axes cannot be walked as one stride (the caller
    then copies once)."""
    cdef int nd = cnp.PyArray_NDIM(x), i
    cdef Py_ssize_t xs[MAXD]
    cdef Py_ssize_t ys[MAXD]
    cdef Py_ssize_t bs[MAXD]
    if nd > MAXD:
        return -1
    if element_strides(x, xs) or element_strides(y, ys):
        return -1
    if b is not None:
        if element_strides(b, bs):
            return -1
    else:
        for i in range(nd):
            bs[i] = 0
    return build_plan_strides(p, nd, cnp.PyArray_DIMS(x), xs, ys, bs, is_red, elementwise)


cdef int build_plan_strides(Plan *p, int nd, const cnp.npy_intp *shape, const Py_ssize_t *xs,
                            const Py_ssize_t *ys, const Py_ssize_t *bs, const int *is_red,
                            bint elementwise) noexcept:
    """build_plan from element strides (ys/bs of the output and weights)."""
    cdef int red[MAXD]
    cdef int outer[MAXD]
    cdef int nr = 0, no = 0, i, j, k, t
    cdef Py_ssize_t n = 1
    p.rows = 1
    for i in range(nd):
        if is_red[i]:
            n *= shape[i]
            if shape[i] > 1:
                red[nr] = i
                nr += 1
        else:
            p.rows *= shape[i]
            if shape[i] > 1:
                outer[no] = i
                no += 1
    # reduced dims: largest |stride| first; they must chain into one stride
    for i in range(1, nr):
        t = red[i]
        j = i - 1
        while j >= 0 and iabs(xs[red[j]]) < iabs(xs[t]):
            red[j + 1] = red[j]
            j -= 1
        red[j + 1] = t
    for i in range(nr - 1):
        j = red[i]
        k = red[i + 1]
        if xs[j] != xs[k] * shape[k] or bs[j] != bs[k] * shape[k]:
            return -1
        if elementwise and ys[j] != ys[k] * shape[k]:
            return -1
    p.n = n
    p.sn = xs[red[nr - 1]] if nr else 1
    p.yn = ys[red[nr - 1]] if nr else 1
    p.bn = bs[red[nr - 1]] if nr else 0
    # outer dims: largest |input stride| first, so the last one suits tiles
    for i in range(1, no):
        t = outer[i]
        j = i - 1
        while j >= 0 and iabs(xs[outer[j]]) < iabs(xs[t]):
            outer[j + 1] = outer[j]
            j -= 1
        outer[j + 1] = t
    p.nd = 0
    for i in range(no):
        k = outer[i]
        if p.nd > 0:
            j = p.nd - 1  # merge with the previous dim when all strides chain
            if (p.xs[j] == xs[k] * shape[k] and p.ys[j] == ys[k] * shape[k]
                    and p.bs[j] == bs[k] * shape[k]):
                p.shape[j] *= shape[k]
                p.xs[j] = xs[k]
                p.ys[j] = ys[k]
                p.bs[j] = bs[k]
                continue
        p.shape[p.nd] = shape[k]
        p.xs[p.nd] = xs[k]
        p.ys[p.nd] = ys[k]
        p.bs[p.nd] = bs[k]
        p.nd += 1
    choose_path(p)
    return 0


cdef void choose_path(Plan *p) noexcept:
    """Pick the walk from the shape and strides alone."""
    cdef Py_ssize_t w
    p.ngroups = 1
    p.wtiles = 1
    if p.n == 0 or p.rows == 0:
        p.path = PATH_EMPTY
        p.ntasks = 0
        return
    if p.nd >= 1:
        w = p.shape[p.nd - 1]
        if w >= 2 and (p.n < SHORT_ROW or iabs(p.sn) > iabs(p.xs[p.nd - 1])):
            p.path = PATH_ACROSS
            p.wtiles = (w + CX_TILE_W - 1) // CX_TILE_W
            p.ntasks = (p.rows // w) * p.wtiles
            return
    if p.n > CX_GROUP_LEN:
        p.path = PATH_GROUPS
        p.ngroups = (p.n + CX_GROUP_LEN - 1) // CX_GROUP_LEN
        p.ntasks = p.rows * p.ngroups
        return
    p.path = PATH_ROWS
    p.ntasks = p.rows


cdef void outer_offsets(const Plan *p, Py_ssize_t r, int ndims, Py_ssize_t *ox,
                        Py_ssize_t *oy, Py_ssize_t *ob) noexcept nogil:
    """Element offsets of flat index r over the first `ndims` outer dims."""
    cdef int d
    cdef Py_ssize_t i
    ox[0] = 0
    oy[0] = 0
    ob[0] = 0
    for d in range(ndims - 1, -1, -1):
        i = r % p.shape[d]
        r = r // p.shape[d]
        ox[0] += i * p.xs[d]
        oy[0] += i * p.ys[d]
        ob[0] += i * p.bs[d]
