# Declarations of csrc/crossent.h for the Cython modules (private).
cdef extern from "crossent.h" nogil:
    enum:
        CX_BLOCK
        CX_TILE_W
        CX_TILE_N
        CX_GROUP_LEN

    ctypedef struct cx_lse_acc:
        double m
        double rest

    ctypedef struct cx_lse_wacc:
        double m
        double ones
        double rest

    ctypedef struct cx_pairwise_stack:
        pass

    # the one pairwise sum (crossent.h): over an array, and over a stream of doubles
    double cx_pairwise_sum(double *v, Py_ssize_t n) noexcept
    ctypedef struct cx_psum:
        pass
    void cx_psum_init(cx_psum *p) noexcept
    void cx_psum_push(cx_psum *p, double x) noexcept
    double cx_psum_result(const cx_psum *p) noexcept

    cx_lse_acc cx_lse_combine(cx_lse_acc a, cx_lse_acc b) noexcept
    double cx_lse_value(cx_lse_acc a) noexcept
    double cx_lse_wvalue(cx_lse_wacc a, double *sign) noexcept
    void cx_pairwise_init(cx_pairwise_stack *st) noexcept
    void cx_pairwise_push(cx_pairwise_stack *st, cx_lse_acc a) noexcept
    cx_lse_acc cx_pairwise_result(const cx_pairwise_stack *st) noexcept
    const char *cx_isa_name(int isa) noexcept
    int cx_elementary(int isa, int which, const double *x, double *y, Py_ssize_t n) noexcept

    ctypedef struct cx_lse_table:
        int isa
        cx_lse_acc (*lse_row_f32)(const float *, Py_ssize_t, Py_ssize_t) noexcept nogil
        cx_lse_acc (*lse_row_f64)(const double *, Py_ssize_t, Py_ssize_t) noexcept nogil
        cx_lse_acc (*lse_row_exact_f32)(const float *, Py_ssize_t, Py_ssize_t) noexcept nogil
        cx_lse_acc (*lse_row_exact_f64)(const double *, Py_ssize_t, Py_ssize_t) noexcept nogil
        cx_lse_acc (*lse_row_refined_f32)(const float *, Py_ssize_t, Py_ssize_t) noexcept nogil
        cx_lse_acc (*lse_row_refined_f64)(const double *, Py_ssize_t, Py_ssize_t) noexcept nogil
        void (*lse_cols_exact_f32)(const float *, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, double *, double *) noexcept nogil
        void (*lse_cols_exact_f64)(const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, double *, double *) noexcept nogil
        double (*logsumexp_row_f32)(const float *, Py_ssize_t, Py_ssize_t) noexcept nogil
        double (*logsumexp_row_f64)(const double *, Py_ssize_t, Py_ssize_t) noexcept nogil
        void (*log_softmax_write_f32)(const float *, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t, cx_lse_acc) noexcept nogil
        void (*log_softmax_write_f64)(const double *, Py_ssize_t, Py_ssize_t, double *, Py_ssize_t, cx_lse_acc) noexcept nogil
        void (*softmax_write_f32)(const float *, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t, cx_lse_acc) noexcept nogil
        void (*softmax_write_f64)(const double *, Py_ssize_t, Py_ssize_t, double *, Py_ssize_t, cx_lse_acc) noexcept nogil
        void (*log_softmax_row_f32)(const float *, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t) noexcept nogil
        void (*log_softmax_row_f64)(const double *, Py_ssize_t, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
        void (*softmax_row_f32)(const float *, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t) noexcept nogil
        void (*softmax_row_f64)(const double *, Py_ssize_t, Py_ssize_t, double *, Py_ssize_t) noexcept nogil
        cx_lse_acc (*lse_group_f32)(const float *, Py_ssize_t, Py_ssize_t) noexcept nogil
        cx_lse_acc (*lse_group_f64)(const double *, Py_ssize_t, Py_ssize_t) noexcept nogil
        void (*lse_cols_f32)(const float *, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, double *, double *) noexcept nogil
        void (*lse_cols_f64)(const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, double *, double *) noexcept nogil
        void (*lse_cols_finish_f32)(Py_ssize_t, const double *, const double *, float *, Py_ssize_t) noexcept nogil
        void (*lse_cols_finish_f64)(Py_ssize_t, const double *, const double *, double *, Py_ssize_t) noexcept nogil
        void (*log_softmax_cols_write_f32)(const float *, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, const double *, const double *, float *, Py_ssize_t, Py_ssize_t) noexcept nogil
        void (*log_softmax_cols_write_f64)(const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, const double *, const double *, double *, Py_ssize_t, Py_ssize_t) noexcept nogil
        void (*softmax_cols_write_f32)(const float *, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, const double *, const double *, float *, Py_ssize_t, Py_ssize_t) noexcept nogil
        void (*softmax_cols_write_f64)(const double *, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, const double *, const double *, double *, Py_ssize_t, Py_ssize_t) noexcept nogil
        cx_lse_wacc (*lse_weighted_row_f32)(const float *, Py_ssize_t, const float *, Py_ssize_t, Py_ssize_t) noexcept nogil
        cx_lse_wacc (*lse_weighted_row_f64)(const double *, Py_ssize_t, const double *, Py_ssize_t, Py_ssize_t) noexcept nogil
        void (*log_expit_f32)(const float *, Py_ssize_t, float *, Py_ssize_t, Py_ssize_t) noexcept nogil
        void (*log_expit_f64)(const double *, Py_ssize_t, double *, Py_ssize_t, Py_ssize_t) noexcept nogil
        void (*norm_logpdf_f32)(const float *, Py_ssize_t, const float *, Py_ssize_t, const float *, Py_ssize_t, float *, Py_ssize_t, Py_ssize_t) noexcept nogil
        void (*norm_logpdf_f64)(const double *, Py_ssize_t, const double *, Py_ssize_t, const double *, Py_ssize_t, double *, Py_ssize_t, Py_ssize_t) noexcept nogil

    void cx_lse_table_init(cx_lse_table *t) noexcept
