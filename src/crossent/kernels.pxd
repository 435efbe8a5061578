# crossent's public cimport API: `from crossent cimport kernels`.
#
# Flat, explicitly typed row kernels (no fused types, no cimports), noexcept
# nogil, raw pointers with lengths and strides counted in ELEMENTS.  They do
# not validate their arguments; they keep the Python API's accuracy.  The names
# and C signatures are a stable API (pinned by tests/test_kernels_api.py); they
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
