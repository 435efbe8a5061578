# The one kernel table: csrc's kernels, compiled per ISA level in this module only,
# handed to every other module through these functions (Cython shares them by capsule).
from crossent._csrc cimport cx_lse_table
from crossent._csrc_ce cimport cx_ce_table
from crossent._csrc_gauss cimport cx_gauss_table

cdef const cx_lse_table *lse_table() noexcept nogil
cdef const cx_ce_table *ce_table() noexcept nogil
cdef const cx_gauss_table *gauss_table() noexcept nogil
cdef int isa_level() noexcept nogil
