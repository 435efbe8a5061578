# cython: language_level=3
"""crossent's row kernels for other compiled code (see kernels.pxd).

Each function is exported through ``__pyx_capi__``, so Cython code can
``from crossent cimport kernels`` and ``scipy.LowLevelCallable.from_cython``
can wrap them.  They run the SIMD path chosen at import (show_config())."""
from crossent._csrc cimport cx_lse_table, cx_lse_table_init

cdef cx_lse_table T
cx_lse_table_init(&T)


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
