# crossent's public cimport API: `from crossent cimport kernels`.
#
# Flat, explicitly typed row kernels (no fused types, no cimports), noexcept
# nogil, raw pointers with lengths and strides counted in ELEMENTS.  They do
# not validate their arguments; they keep the Python API's accuracy.  The names
# and C signatures are a stable API (pinned by tests/test_cimport.py and tests/test_c_api.py); they
# are exported through crossent.kernels.__pyx_capi__.

# log(sum(exp(x[i * stride]))) over i < n; -inf for n == 0.
cdef double logsumexp_f64(const double *x, Py_ssize_t n, Py_ssize_t stride) noexcept nogil
cdef float logsumexp_f32(const float *x, Py_ssize_t n, Py_ssize_t stride) noexcept nogil

# out[i * out_stride] = log_softmax(x)[i]; out may be x itself (same stride).
cdef void log_softmax_f64(const double *x, Py_ssize_t n, Py_ssize_t stride,
                          double *out, Py_ssize_t out_stride) noexcept nogil
cdef void log_softmax_f32(const float *x, Py_ssize_t n, Py_ssize_t stride,
                          float *out, Py_ssize_t out_stride) noexcept nogil

# out[i * out_stride] = softmax(x)[i]; out may be x itself (same stride).
cdef void softmax_f64(const double *x, Py_ssize_t n, Py_ssize_t stride,
                      double *out, Py_ssize_t out_stride) noexcept nogil
cdef void softmax_f32(const float *x, Py_ssize_t n, Py_ssize_t stride,
                      float *out, Py_ssize_t out_stride) noexcept nogil

# out[i * out_stride] = log_expit(x[i * stride]) for i < n (a strided array).
cdef void log_expit_f64(const double *x, Py_ssize_t n, Py_ssize_t stride,
                        double *out, Py_ssize_t out_stride) noexcept nogil
cdef void log_expit_f32(const float *x, Py_ssize_t n, Py_ssize_t stride,
                        float *out, Py_ssize_t out_stride) noexcept nogil

# out[i * out_stride] = norm.logpdf(x[i * stride], loc, scale) for i < n.
cdef void norm_logpdf_f64(const double *x, Py_ssize_t n, Py_ssize_t stride, double loc,
                          double scale, double *out, Py_ssize_t out_stride) noexcept nogil
cdef void norm_logpdf_f32(const float *x, Py_ssize_t n, Py_ssize_t stride, float loc,
                          float scale, float *out, Py_ssize_t out_stride) noexcept nogil

# ---- cross-entropy family ------------------------------------------------
# Cross-entropy of one row x[i * stride], i < n, given its class index
# `label`: -log_softmax(x)[label] (a dominant class keeps relative accuracy:
# the row [0, -40] with label 0 gives 4.25e-18, not 0).  When grad is not
# NULL, the same call also writes, in one pass over the row,
#     grad[i * grad_stride] = grad_scale * (softmax(x)[i] - (i == label))
# (grad must not overlap x).  No validation: a label outside [0, n) gives NaN
# and a NaN gradient; a row holding NaN or +inf, or only -inf, gives NaN.
cdef double cross_entropy_f64(const double *x, Py_ssize_t n, Py_ssize_t stride,
                              Py_ssize_t label, double *grad, Py_ssize_t grad_stride,
                              double grad_scale) noexcept nogil
cdef float cross_entropy_f32(const float *x, Py_ssize_t n, Py_ssize_t stride,
                             Py_ssize_t label, float *grad, Py_ssize_t grad_stride,
                             float grad_scale) noexcept nogil

# Binary cross-entropy with logits over a strided array, i < n:
#     l_i = w_i (p_i t_i softplus(-x_i) + (1 - t_i) softplus(x_i))
# with w = weight, p = pos_weight (either may be NULL: ones; stride 0 repeats
# one value).  out (NULL: not written) gets l_i; grad (NULL: not written) gets
# grad_scale * dl_i/dx_i = grad_scale * w_i ((1 - t_i) sigmoid(x_i) - p_i t_i sigmoid(-x_i)).
# Returns the sum of the l_i, pairwise in double (also for float32 input).
cdef double bce_with_logits_f64(const double *x, Py_ssize_t n, Py_ssize_t stride,
                                const double *target, Py_ssize_t target_stride,
                                const double *weight, Py_ssize_t weight_stride,
                                const double *pos_weight, Py_ssize_t pos_weight_stride,
                                double *out, Py_ssize_t out_stride,
                                double *grad, Py_ssize_t grad_stride,
                                double grad_scale) noexcept nogil
cdef double bce_with_logits_f32(const float *x, Py_ssize_t n, Py_ssize_t stride,
                                const float *target, Py_ssize_t target_stride,
                                const float *weight, Py_ssize_t weight_stride,
                                const float *pos_weight, Py_ssize_t pos_weight_stride,
                                float *out, Py_ssize_t out_stride,
                                float *grad, Py_ssize_t grad_stride,
                                float grad_scale) noexcept nogil

# ---- the Gaussian / Poisson family (strided arrays, i < n) -----------------
# Each returns the sum of the elementwise losses l_i (pairwise, in double, also
# for float32 input); out (NULL: not written) gets l_i; grad_* (NULL: not
# written) get grad_scale * d l_i / d (that argument)_i.  Stride 0 repeats one
# value (one variance for all, ...).  They keep the Python API's accuracy
# (2 ulp per element, exact where a square or quotient leaves the range while
# l_i does not).  No validation: a negative var gives NaN.

# The exact Gaussian NLL (nats, constant included), as crossent.gaussian_nll:
#     l_i = log(2 pi var_i) / 2 + r_i**2 / (2 var_i),   r_i = input_i - target_i
#     d l_i / d input_i = r_i / var_i,  d l_i / d var_i = (1 - r_i**2 / var_i) / (2 var_i)
# var_i == 0 takes the limit sigma -> 0+ (+inf where r_i != 0, -inf where r_i == 0).
cdef double gaussian_nll_f64(const double *input, Py_ssize_t n, Py_ssize_t stride,
                             const double *target, Py_ssize_t target_stride,
                             const double *var, Py_ssize_t var_stride,
                             double *out, Py_ssize_t out_stride,
                             double *grad_input, Py_ssize_t grad_input_stride,
                             double *grad_var, Py_ssize_t grad_var_stride,
                             double grad_scale) noexcept nogil
cdef double gaussian_nll_f32(const float *input, Py_ssize_t n, Py_ssize_t stride,
                             const float *target, Py_ssize_t target_stride,
                             const float *var, Py_ssize_t var_stride,
                             float *out, Py_ssize_t out_stride,
                             float *grad_input, Py_ssize_t grad_input_stride,
                             float *grad_var, Py_ssize_t grad_var_stride,
                             float grad_scale) noexcept nogil

# The same with the log-variance s_i = log var_i (no overflow of exp(-s_i) for any s_i):
#     l_i = (log 2 pi + s_i) / 2 + r_i**2 exp(-s_i) / 2
#     d l_i / d input_i = r_i exp(-s_i),  d l_i / d s_i = (1 - r_i**2 exp(-s_i)) / 2
cdef double gaussian_nll_log_var_f64(const double *input, Py_ssize_t n, Py_ssize_t stride,
                                     const double *target, Py_ssize_t target_stride,
                                     const double *log_var, Py_ssize_t log_var_stride,
                                     double *out, Py_ssize_t out_stride,
                                     double *grad_input, Py_ssize_t grad_input_stride,
                                     double *grad_log_var, Py_ssize_t grad_log_var_stride,
                                     double grad_scale) noexcept nogil
cdef double gaussian_nll_log_var_f32(const float *input, Py_ssize_t n, Py_ssize_t stride,
                                     const float *target, Py_ssize_t target_stride,
                                     const float *log_var, Py_ssize_t log_var_stride,
                                     float *out, Py_ssize_t out_stride,
                                     float *grad_input, Py_ssize_t grad_input_stride,
                                     float *grad_log_var, Py_ssize_t grad_log_var_stride,
                                     float grad_scale) noexcept nogil

# torch's gaussian_nll_loss elementwise: v_i = max(var_i, eps),
#     l_i = (log v_i + r_i**2 / v_i) / 2  [+ log(2 pi) / 2 if full]
# with the straight-through gradient d l_i / d var_i = (1 - r_i**2 / v_i) / (2 v_i).
cdef double gaussian_nll_loss_f64(const double *input, Py_ssize_t n, Py_ssize_t stride,
                                  const double *target, Py_ssize_t target_stride,
                                  const double *var, Py_ssize_t var_stride,
                                  bint full, double eps,
                                  double *out, Py_ssize_t out_stride,
                                  double *grad_input, Py_ssize_t grad_input_stride,
                                  double *grad_var, Py_ssize_t grad_var_stride,
                                  double grad_scale) noexcept nogil
cdef double gaussian_nll_loss_f32(const float *input, Py_ssize_t n, Py_ssize_t stride,
                                  const float *target, Py_ssize_t target_stride,
                                  const float *var, Py_ssize_t var_stride,
                                  bint full, float eps,
                                  float *out, Py_ssize_t out_stride,
                                  float *grad_input, Py_ssize_t grad_input_stride,
                                  float *grad_var, Py_ssize_t grad_var_stride,
                                  float grad_scale) noexcept nogil

# Squared error l_i = r_i**2, d l_i / d input_i = 2 r_i.
cdef double mse_loss_f64(const double *input, Py_ssize_t n, Py_ssize_t stride,
                         const double *target, Py_ssize_t target_stride,
                         double *out, Py_ssize_t out_stride,
                         double *grad, Py_ssize_t grad_stride, double grad_scale) noexcept nogil
cdef double mse_loss_f32(const float *input, Py_ssize_t n, Py_ssize_t stride,
                         const float *target, Py_ssize_t target_stride,
                         float *out, Py_ssize_t out_stride,
                         float *grad, Py_ssize_t grad_stride, float grad_scale) noexcept nogil

# torch's poisson_nll_loss elementwise: log_input: l_i = exp(x_i) - t_i x_i, else
# l_i = x_i - t_i log(x_i + eps); full adds Stirling's log t_i! where t_i > 1.
cdef double poisson_nll_loss_f64(const double *input, Py_ssize_t n, Py_ssize_t stride,
                                 const double *target, Py_ssize_t target_stride,
                                 bint log_input, bint full, double eps,
                                 double *out, Py_ssize_t out_stride,
                                 double *grad, Py_ssize_t grad_stride,
                                 double grad_scale) noexcept nogil
cdef double poisson_nll_loss_f32(const float *input, Py_ssize_t n, Py_ssize_t stride,
                                 const float *target, Py_ssize_t target_stride,
                                 bint log_input, bint full, float eps,
                                 float *out, Py_ssize_t out_stride,
                                 float *grad, Py_ssize_t grad_stride,
                                 float grad_scale) noexcept nogil
