# Declarations of the Gaussian / Poisson family of csrc (cx_gauss.inc,
# cx_gauss_table.h) for the Cython modules (private).
cdef extern from "crossent.h" nogil:
    enum:
        CX_GK_MSE
        CX_GK_POISSON_LOG
        CX_GK_POISSON_RATE
        CX_GK_TORCH
        CX_GK_VAR
        CX_GK_LOGVAR
        CX_GK_STD
        CX_GK_PROFILED
        CX_GK_L1
        CX_GK_SMOOTH_L1
        CX_GK_HUBER
        CX_GK_BCE
        CX_GF_NEGATIVE
        CX_GF_RANGE_INPUT
        CX_GF_RANGE_TARGET
        CX_CHUNK

    ctypedef struct cx_gauss_prm:
        int kind
        int grad
        int full
        int shift
        double eps
        double gscale
        double lscale
        double rscale
        double su
        double inv_su
        double log_norm
        double beta

    ctypedef struct cx_sum3_stack:
        pass

    void cx_sum3_init(cx_sum3_stack *st) noexcept
    void cx_sum3_push(cx_sum3_stack *st, const double *s) noexcept
    void cx_sum3_result(const cx_sum3_stack *st, double *out) noexcept
    double cx_profiled_setup(cx_gauss_prm *P, double S, Py_ssize_t n, int shift) noexcept

    ctypedef struct cx_gauss_table:
        int isa
        int (*block_f32)(const cx_gauss_prm *, Py_ssize_t, const float *, Py_ssize_t,
                         const float *, Py_ssize_t, const float *, Py_ssize_t,
                         float *, Py_ssize_t, float *, Py_ssize_t, float *, Py_ssize_t,
                         double *, double *, double *) noexcept nogil
        int (*block_f64)(const cx_gauss_prm *, Py_ssize_t, const double *, Py_ssize_t,
                         const double *, Py_ssize_t, const double *, Py_ssize_t,
                         double *, Py_ssize_t, double *, Py_ssize_t, double *, Py_ssize_t,
                         double *, double *, double *) noexcept nogil
        double (*array_f32)(int, int, double, const float *, Py_ssize_t, const float *,
                            Py_ssize_t, const float *, Py_ssize_t, Py_ssize_t, float *,
                            Py_ssize_t, float *, Py_ssize_t, float *, Py_ssize_t,
                            double) noexcept nogil
        double (*array_f64)(int, int, double, const double *, Py_ssize_t, const double *,
                            Py_ssize_t, const double *, Py_ssize_t, Py_ssize_t, double *,
                            Py_ssize_t, double *, Py_ssize_t, double *, Py_ssize_t,
                            double) noexcept nogil

    void cx_gauss_table_init(cx_gauss_table *t) noexcept
