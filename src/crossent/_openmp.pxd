# The one place that touches omp_*: a shim so that serial builds work too.
cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define CX_HAVE_OPENMP 1
    #define CX_OPENMP_VERSION _OPENMP
    #else
    #define CX_HAVE_OPENMP 0
    #define CX_OPENMP_VERSION 0
    static inline int omp_get_max_threads(void) { return 1; }
    static inline int omp_get_thread_num(void) { return 0; }
    #endif
    """
    bint CX_HAVE_OPENMP
    int CX_OPENMP_VERSION
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
