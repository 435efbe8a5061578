# cython: language_level=3
"""crossent's row kernels for other compiled code (see kernels.pxd).

Each function is exported through ``__pyx_capi__``, so Cython code can
``from crossent cimport kernels`` and ``scipy.LowLevelCallable.from_cython``
can wrap them.  They run the SIMD path chosen at import (show_config())."""
from crossent._csrc cimport cx_lse_table
from crossent._dispatch cimport lse_table, ce_table, gauss_table

cdef cx_lse_table T = lse_table()[0]


cdef double logsumexp_f64(const double *x, Py_ssize_t n, Py_ssize_t stride) noexcept nogil:
    return T.logsumexp_row_f64(x, n, stride)


cdef float logsumexp_f32(const float *x, Py_ssize_t n, Py_ssize_t stride) noexcept nogil:
    return <float>T.logsumexp_row_f32(x, n, stride)


cdef void log_softmax_f64(const double *x, Py_ssize_t n, Py_ssize_t stride,
                          double *out, Py_ssize_t out_stride) noexcept nogil:
    T.log_softmax_row_f64(x, n, stride, out, out_stride)


cdef void log_softmax_f32(const float *x, Py_ssize_t n, Py_ssize_t stride,
                          float *out, Py_ssize_t out_stride) noexcept nogil:
    T.log_softmax_row_f32(x, n, stride, out, out_stride)


cdef void softmax_f64(const double *x, Py_ssize_t n, Py_ssize_t stride,
                      double *out, Py_ssize_t out_stride) noexcept nogil:
    T.softmax_row_f64(x, n, stride, out, out_stride)


cdef void softmax_f32(const float *x, Py_ssize_t n, Py_ssize_t stride,
                      float *out, Py_ssize_t out_stride) noexcept nogil:
    T.softmax_row_f32(x, n, stride, out, out_stride)


cdef void log_expit_f64(const double *x, Py_ssize_t n, Py_ssize_t stride,
                        double *out, Py_ssize_t out_stride) noexcept nogil:
    T.log_expit_f64(x, stride, out, out_stride, n)


cdef void log_expit_f32(const float *x, Py_ssize_t n, Py_ssize_t stride,
                        float *out, Py_ssize_t out_stride) noexcept nogil:
    T.log_expit_f32(x, stride, out, out_stride, n)


cdef void norm_logpdf_f64(const double *x, Py_ssize_t n, Py_ssize_t stride, double loc,
                          double scale, double *out, Py_ssize_t out_stride) noexcept nogil:
    T.norm_logpdf_f64(x, stride, &loc, 0, &scale, 0, out, out_stride, n)


cdef void norm_logpdf_f32(const float *x, Py_ssize_t n, Py_ssize_t stride, float loc,
                          float scale, float *out, Py_ssize_t out_stride) noexcept nogil:
    T.norm_logpdf_f32(x, stride, &loc, 0, &scale, 0, out, out_stride, n)


# ---- cross-entropy family ------------------------------------------------
from crossent._csrc_ce cimport cx_ce_table

cdef cx_ce_table CE = ce_table()[0]


cdef double cross_entropy_f64(const double *x, Py_ssize_t n, Py_ssize_t stride,
                              Py_ssize_t label, double *grad, Py_ssize_t grad_stride,
                              double grad_scale) noexcept nogil:
    return CE.ce_row_public_f64(x, n, stride, label, grad, grad_stride, grad_scale)


cdef float cross_entropy_f32(const float *x, Py_ssize_t n, Py_ssize_t stride,
                             Py_ssize_t label, float *grad, Py_ssize_t grad_stride,
                             float grad_scale) noexcept nogil:
    return <float>CE.ce_row_public_f32(x, n, stride, label, grad, grad_stride, grad_scale)


cdef double bce_with_logits_f64(const double *x, Py_ssize_t n, Py_ssize_t stride,
                                const double *target, Py_ssize_t target_stride,
                                const double *weight, Py_ssize_t weight_stride,
                                const double *pos_weight, Py_ssize_t pos_weight_stride,
                                double *out, Py_ssize_t out_stride,
                                double *grad, Py_ssize_t grad_stride,
                                double grad_scale) noexcept nogil:
    return CE.bce_f64(x, stride, target, target_stride, weight, weight_stride, pos_weight,
                      pos_weight_stride, out, out_stride, grad, grad_stride, grad_scale, 1.0, n)


cdef double bce_with_logits_f32(const float *x, Py_ssize_t n, Py_ssize_t stride,
                                const float *target, Py_ssize_t target_stride,
                                const float *weight, Py_ssize_t weight_stride,
                                const float *pos_weight, Py_ssize_t pos_weight_stride,
                                float *out, Py_ssize_t out_stride,
                                float *grad, Py_ssize_t grad_stride,
                                float grad_scale) noexcept nogil:
    return CE.bce_f32(x, stride, target, target_stride, weight, weight_stride, pos_weight,
                      pos_weight_stride, out, out_stride, grad, grad_stride, grad_scale, 1.0, n)


# ---- the Gaussian / Poisson family ------------------------------------------
from crossent._csrc_gauss cimport (
    cx_gauss_table, CX_GK_VAR, CX_GK_LOGVAR, CX_GK_TORCH, CX_GK_MSE,
    CX_GK_POISSON_LOG, CX_GK_POISSON_RATE,
)

cdef cx_gauss_table GT = gauss_table()[0]


cdef double gaussian_nll_f64(const double *input, Py_ssize_t n, Py_ssize_t stride,
                             const double *target, Py_ssize_t target_stride,
                             const double *var, Py_ssize_t var_stride,
                             double *out, Py_ssize_t out_stride,
                             double *grad_input, Py_ssize_t grad_input_stride,
                             double *grad_var, Py_ssize_t grad_var_stride,
                             double grad_scale) noexcept nogil:
    return GT.array_f64(CX_GK_VAR, 0, 0.0, input, stride, target, target_stride, var, var_stride,
                        n, out, out_stride, grad_input, grad_input_stride, grad_var,
                        grad_var_stride, grad_scale)


cdef double gaussian_nll_f32(const float *input, Py_ssize_t n, Py_ssize_t stride,
                             const float *target, Py_ssize_t target_stride,
                             const float *var, Py_ssize_t var_stride,
                             float *out, Py_ssize_t out_stride,
                             float *grad_input, Py_ssize_t grad_input_stride,
                             float *grad_var, Py_ssize_t grad_var_stride,
                             float grad_scale) noexcept nogil:
    return GT.array_f32(CX_GK_VAR, 0, 0.0, input, stride, target, target_stride, var, var_stride,
                        n, out, out_stride, grad_input, grad_input_stride, grad_var,
                        grad_var_stride, grad_scale)


cdef double gaussian_nll_log_var_f64(const double *input, Py_ssize_t n, Py_ssize_t stride,
                                     const double *target, Py_ssize_t target_stride,
                                     const double *log_var, Py_ssize_t log_var_stride,
                                     double *out, Py_ssize_t out_stride,
                                     double *grad_input, Py_ssize_t grad_input_stride,
                                     double *grad_log_var, Py_ssize_t grad_log_var_stride,
                                     double grad_scale) noexcept nogil:
    return GT.array_f64(CX_GK_LOGVAR, 0, 0.0, input, stride, target, target_stride, log_var,
                        log_var_stride, n, out, out_stride, grad_input, grad_input_stride,
                        grad_log_var, grad_log_var_stride, grad_scale)


cdef double gaussian_nll_log_var_f32(const float *input, Py_ssize_t n, Py_ssize_t stride,
                                     const float *target, Py_ssize_t target_stride,
                                     const float *log_var, Py_ssize_t log_var_stride,
                                     float *out, Py_ssize_t out_stride,
                                     float *grad_input, Py_ssize_t grad_input_stride,
                                     float *grad_log_var, Py_ssize_t grad_log_var_stride,
                                     float grad_scale) noexcept nogil:
    return GT.array_f32(CX_GK_LOGVAR, 0, 0.0, input, stride, target, target_stride, log_var,
                        log_var_stride, n, out, out_stride, grad_input, grad_input_stride,
                        grad_log_var, grad_log_var_stride, grad_scale)


cdef double gaussian_nll_loss_f64(const double *input, Py_ssize_t n, Py_ssize_t stride,
                                  const double *target, Py_ssize_t target_stride,
                                  const double *var, Py_ssize_t var_stride,
                                  bint full, double eps,
                                  double *out, Py_ssize_t out_stride,
                                  double *grad_input, Py_ssize_t grad_input_stride,
                                  double *grad_var, Py_ssize_t grad_var_stride,
                                  double grad_scale) noexcept nogil:
    return GT.array_f64(CX_GK_TORCH, full, eps, input, stride, target, target_stride, var,
                        var_stride, n, out, out_stride, grad_input, grad_input_stride,
                        grad_var, grad_var_stride, grad_scale)


cdef double gaussian_nll_loss_f32(const float *input, Py_ssize_t n, Py_ssize_t stride,
                                  const float *target, Py_ssize_t target_stride,
                                  const float *var, Py_ssize_t var_stride,
                                  bint full, float eps,
                                  float *out, Py_ssize_t out_stride,
                                  float *grad_input, Py_ssize_t grad_input_stride,
                                  float *grad_var, Py_ssize_t grad_var_stride,
                                  float grad_scale) noexcept nogil:
    return GT.array_f32(CX_GK_TORCH, full, eps, input, stride, target, target_stride, var,
                        var_stride, n, out, out_stride, grad_input, grad_input_stride,
                        grad_var, grad_var_stride, grad_scale)


cdef double mse_loss_f64(const double *input, Py_ssize_t n, Py_ssize_t stride,
                         const double *target, Py_ssize_t target_stride,
                         double *out, Py_ssize_t out_stride,
                         double *grad, Py_ssize_t grad_stride, double grad_scale) noexcept nogil:
    return GT.array_f64(CX_GK_MSE, 0, 0.0, input, stride, target, target_stride, NULL, 0, n,
                        out, out_stride, grad, grad_stride, NULL, 0, grad_scale)


cdef double mse_loss_f32(const float *input, Py_ssize_t n, Py_ssize_t stride,
                         const float *target, Py_ssize_t target_stride,
                         float *out, Py_ssize_t out_stride,
                         float *grad, Py_ssize_t grad_stride, float grad_scale) noexcept nogil:
    return GT.array_f32(CX_GK_MSE, 0, 0.0, input, stride, target, target_stride, NULL, 0, n,
                        out, out_stride, grad, grad_stride, NULL, 0, grad_scale)


cdef double poisson_nll_loss_f64(const double *input, Py_ssize_t n, Py_ssize_t stride,
                                 const double *target, Py_ssize_t target_stride,
                                 bint log_input, bint full, double eps,
                                 double *out, Py_ssize_t out_stride,
                                 double *grad, Py_ssize_t grad_stride,
                                 double grad_scale) noexcept nogil:
    return GT.array_f64(CX_GK_POISSON_LOG if log_input else CX_GK_POISSON_RATE, full, eps, input,
                        stride, target, target_stride, NULL, 0, n, out, out_stride, grad,
                        grad_stride, NULL, 0, grad_scale)


cdef double poisson_nll_loss_f32(const float *input, Py_ssize_t n, Py_ssize_t stride,
                                 const float *target, Py_ssize_t target_stride,
                                 bint log_input, bint full, float eps,
                                 float *out, Py_ssize_t out_stride,
                                 float *grad, Py_ssize_t grad_stride,
                                 float grad_scale) noexcept nogil:
    return GT.array_f32(CX_GK_POISSON_LOG if log_input else CX_GK_POISSON_RATE, full, eps, input,
                        stride, target, target_stride, NULL, 0, n, out, out_stride, grad,
                        grad_stride, NULL, 0, grad_scale)
