# Declarations of the cross-entropy family of csrc/crossent.h (private):
# cx_ce.inc kernels through cx_ce_table (cx_ce_table.h).
cdef extern from "crossent.h" nogil:
    ctypedef struct cx_ce_table:
        int isa
        double (*ce_row_f32)(const float *, Py_ssize_t, Py_ssize_t, Py_ssize_t, const float *, double, double, float *, Py_ssize_t, double) noexcept nogil
        double (*ce_row_f64)(const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t, const double *, double, double, double *, Py_ssize_t, double) noexcept nogil
        double (*ce_prob_row_f32)(const float *, Py_ssize_t, Py_ssize_t, const float *, Py_ssize_t, const float *, double, float *, Py_ssize_t, double) noexcept nogil
        double (*ce_prob_row_f64)(const double *, Py_ssize_t, Py_ssize_t, const double *, Py_ssize_t, const double *, double, double *, Py_ssize_t, double) noexcept nogil
        void (*ce_cols_f32)(const float *, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, const Py_ssize_t *, const float *, double, double, double *, float *, Py_ssize_t, Py_ssize_t, double) noexcept nogil
        void (*ce_cols_f64)(const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, const Py_ssize_t *, const double *, double, double, double *, double *, Py_ssize_t, Py_ssize_t, double) noexcept nogil
        void (*ce_prob_cols_f32)(const float *, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, const float *, Py_ssize_t, Py_ssize_t, const float *, double, double *, float *, Py_ssize_t, Py_ssize_t, double) noexcept nogil
        void (*ce_prob_cols_f64)(const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, const double *, Py_ssize_t, Py_ssize_t, const double *, double, double *, double *, Py_ssize_t, Py_ssize_t, double) noexcept nogil
        double (*bce_f32)(const float *, Py_ssize_t, const float *, Py_ssize_t, const float *, Py_ssize_t, const float *, Py_ssize_t, float *, Py_ssize_t, float *, Py_ssize_t, double, double, Py_ssize_t) noexcept nogil
        double (*bce_f64)(const double *, Py_ssize_t, const double *, Py_ssize_t, const double *, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t, double *, Py_ssize_t, double, double, Py_ssize_t) noexcept nogil
        double (*kl_div_f32)(const float *, Py_ssize_t, const float *, Py_ssize_t, int, float *, Py_ssize_t, float *, Py_ssize_t, double, double, Py_ssize_t) noexcept nogil
        double (*kl_div_f64)(const double *, Py_ssize_t, const double *, Py_ssize_t, int, double *, Py_ssize_t, double *, Py_ssize_t, double, double, Py_ssize_t) noexcept nogil
        double (*ce_row_public_f32)(const float *, Py_ssize_t, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t, double) noexcept nogil
        double (*ce_row_public_f64)(const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t, double *, Py_ssize_t, double) noexcept nogil

    void cx_ce_table_init(cx_ce_table *t) noexcept
    double cx_nll_term(double w, double x) noexcept
