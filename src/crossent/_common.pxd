# Shared pieces of the fronts: argument checks and dtype rules (no numerics).
cimport numpy as cnp

cdef int resolve_threads(object n_threads, Py_ssize_t work) except -1
cdef cnp.ndarray as_float_array(object x, str name, object dtype=*)
cdef object as_array_arg(object obj, str name)
cdef object float_dtype(object x, str name)
cdef tuple normalize_axes(object axis, int ndim)
cdef cnp.ndarray check_out(object out, tuple shape, object dtype, str name=*)
cdef int check_overlap(cnp.ndarray out, object x, str name, str out_name=*) except -1
cdef int check_disjoint(cnp.ndarray a, object b, str a_name, str b_name) except -1
cdef object out_target(object out, tuple shape, object dtype, str name, tuple inputs,
                       tuple names, bint in_place)
cdef object finish_target(object y, object out)
cdef cnp.ndarray walkable_fixed(cnp.ndarray a, int fix)

cdef enum Reduction:
    RED_NONE = 0
    RED_MEAN = 1
    RED_SUM = 2
    RED_BATCHMEAN = 3

cdef bint parse_bool_other(object v, str name) except -1
cdef double parse_real(object v, str name) except? -1.0
cdef int parse_reduction(object r, bint batchmean) except -1
cdef int check_buffers_given(int red, bint rg, object out, object grad_out) except -1


# ---- inline: on every call of every front -------------------------------

cdef inline int layout_fix(cnp.ndarray a) noexcept:
    """What `a` needs before a kernel walks it by element strides: 0 nothing; 1 a view
    (only size-1 or empty dims carry strides that are not whole elements, which NumPy's
    contiguity flags ignore, so no "contiguous" copy would change them); 2 a copy (a
    real stride is not a whole number of elements, e.g. a field of a structured array,
    or the data pointer is misaligned)."""
    cdef int i, nd = cnp.PyArray_NDIM(a)
    cdef Py_ssize_t item = cnp.PyArray_ITEMSIZE(a)
    cdef cnp.npy_intp *st = cnp.PyArray_STRIDES(a)
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(a)
    cdef size_t mask = <size_t>item - 1, real = 0, unit = 0
    if item <= 1 or item & mask:  # numeric item sizes are powers of two: bit masks serve
        return 0
    for i in range(nd):  # the common call: one pass, no division
        if dims[i] > 1:
            real |= <size_t>st[i]
        else:
            unit |= <size_t>st[i]
    if real & mask:
        return 2
    if (<size_t>cnp.PyArray_DATA(a)) & mask and cnp.PyArray_SIZE(a) > 0:
        return 2
    return 1 if unit & mask else 0


cdef inline cnp.ndarray walkable(cnp.ndarray a):
    """`a` in a layout the kernels walk by element strides (see layout_fix): `a`
    itself (the common case, checked here without a call), or walkable_fixed's view or
    copy."""
    cdef int fix = layout_fix(a)
    return a if fix == 0 else walkable_fixed(a, fix)


cdef inline bint parse_bool(object v, str name) except -1:
    """A flag: a Python or NumPy bool (TypeError naming it otherwise)."""
    if v is True:
        return True
    if v is False:
        return False
    return parse_bool_other(v, name)


cdef inline int check_buffers(int red, bint rg, object out, object grad_out) except -1:
    """A loss's out= goes with reduction="none", grad_out= with return_grad=True."""
    if out is None and grad_out is None:
        return 0
    return check_buffers_given(red, rg, out, grad_out)
