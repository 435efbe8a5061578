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
cdef cnp.ndarray walkable(cnp.ndarray a)
cdef int layout_fix(cnp.ndarray a) noexcept
cdef int write_back(cnp.ndarray y, cnp.ndarray out) except -1

cdef enum Reduction:
    RED_NONE = 0
    RED_MEAN = 1
    RED_SUM = 2
    RED_BATCHMEAN = 3

cdef bint parse_bool(object v, str name) except -1
cdef double parse_real(object v, str name) except? -1.0
cdef int parse_reduction(object r, bint batchmean) except -1
cdef int check_buffers(int red, bint rg, object out, object grad_out) except -1
