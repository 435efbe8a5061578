# cython: language_level=3
"""The kernel table: the one module that compiles csrc's kernels.

Every kernel of csrc/crossent.h is instantiated per ISA level (baseline, AVX2+FMA,
AVX-512) here, and the level is chosen once, at import, by a CPU check
(``CROSSENT_SIMD=baseline|avx2|avx512`` caps it).  The other modules reach the kernels
only through the tables this module fills, so a C compiler sees each kernel once: the
others include crossent.h for its types and never reference an implementation (C drops
unreferenced static functions).
"""
cimport numpy as cnp

from crossent._csrc cimport cx_lse_table, cx_lse_table_init, cx_elementary, cx_isa_name
from crossent._csrc_ce cimport cx_ce_table, cx_ce_table_init
from crossent._csrc_gauss cimport cx_gauss_table, cx_gauss_table_init

cnp.import_array()

cdef cx_lse_table LSE
cdef cx_ce_table CE
cdef cx_gauss_table GAUSS
cx_lse_table_init(&LSE)
cx_ce_table_init(&CE)
cx_gauss_table_init(&GAUSS)


cdef const cx_lse_table *lse_table() noexcept nogil:
    return &LSE


cdef const cx_ce_table *ce_table() noexcept nogil:
    return &CE


cdef const cx_gauss_table *gauss_table() noexcept nogil:
    return &GAUSS


cdef int isa_level() noexcept nogil:
    return LSE.isa


def simd_path():
    """The SIMD path chosen at import: ``"baseline"``, ``"avx2"`` or ``"avx512"``."""
    return cx_isa_name(LSE.isa).decode()


_ELEMENTARY = {"exp": 0, "log1p": 1, "log": 2, "exp_neg": 3, "exp_lo": 4}


def _elementary(str name, double[::1] x, int isa):
    """csrc's own exp/log1p/log of one ISA level (0 baseline, 1 AVX2, 2 AVX-512)
    over float64 values, for the accuracy tests; None where that level cannot run."""
    y = cnp.PyArray_EMPTY(1, [x.shape[0]], cnp.NPY_DOUBLE, 0)
    cdef double[::1] yv = y
    if cx_elementary(isa, _ELEMENTARY[name], &x[0], &yv[0], x.shape[0]) < 0:
        return None
    return y
