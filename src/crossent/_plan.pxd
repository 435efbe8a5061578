# How an array is walked by the row kernels: the outer dims (any number, any
# strides) around one reduced axis (any stride).  Built from the shape and the
# strides alone, so every thread count walks the data the same way.
cimport numpy as cnp

cdef enum:
    MAXD = 64
    SHORT_ROW = 32      # rows shorter than this go across rows (vectorised over rows)

cdef enum Path:
    PATH_EMPTY = 0
    PATH_ROWS = 1       # one task per row, the row kernel
    PATH_GROUPS = 2     # long rows: one task per group of blocks
    PATH_ACROSS = 3     # tiles of CX_TILE_W rows side by side

cdef struct Plan:
    int nd                      # outer dims (size-1 dims dropped, last = smallest stride)
    Py_ssize_t shape[MAXD]
    Py_ssize_t xs[MAXD]         # input strides in elements
    Py_ssize_t ys[MAXD]         # output strides in elements
    Py_ssize_t bs[MAXD]         # weight strides in elements (logsumexp's b)
    Py_ssize_t n                # reduced length
    Py_ssize_t sn               # input stride along the reduced axis
    Py_ssize_t yn               # output stride along it (elementwise outputs)
    Py_ssize_t bn               # weight stride along it
    Py_ssize_t rows             # product of the outer shape
    Py_ssize_t ngroups          # groups per row (PATH_GROUPS)
    Py_ssize_t wtiles           # tiles along the last outer dim (PATH_ACROSS)
    Py_ssize_t ntasks
    Path path

cdef int build_plan(Plan *p, cnp.ndarray x, cnp.ndarray y, cnp.ndarray b,
                    const int *is_red, bint elementwise) except -2
cdef int build_plan_strides(Plan *p, int nd, const cnp.npy_intp *shape, const Py_ssize_t *xs,
                            const Py_ssize_t *ys, const Py_ssize_t *bs, const int *is_red,
                            bint elementwise) noexcept
cdef int element_strides(cnp.ndarray a, Py_ssize_t *out) except -1
cdef void outer_offsets(const Plan *p, Py_ssize_t r, int ndims, Py_ssize_t *ox,
                        Py_ssize_t *oy, Py_ssize_t *ob) noexcept nogil
