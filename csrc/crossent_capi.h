/* crossent_capi.h: crossent's row kernels for plain C (and C++) extensions.
 *
 * crossent's compiled kernels are exported by the module crossent.kernels
 * as capsules in its __pyx_capi__ dictionary (the same functions Cython
 * callers get with `from crossent cimport kernels`).  This header gives C
 * code the same functions without Cython: one typedef per function pointer,
 * a struct holding them, and crossent_capi_import() to fill it at run time.
 *
 * Usage, in an extension module (include_dirs=[crossent.get_include()]):
 *
 *     #include <Python.h>
 *     #include "crossent_capi.h"
 *
 *     static crossent_capi cx;
 *
 *     PyMODINIT_FUNC PyInit_mymod(void) {
 *         if (crossent_capi_import(&cx) < 0) return NULL;
 *         ...
 *     }
 *     ... double lse = cx.logsumexp_f64(row, n, 1);   (the GIL need not be held)
 *
 * Each capsule is named by the C signature of its function; the import
 * checks that name against the signature this header was written for, so a
 * crossent whose kernels changed signature fails at import with a TypeError
 * instead of crashing later.  A function missing from the installed crossent
 * is an ImportError.
 *
 * The kernels take raw pointers, lengths and strides counted in ELEMENTS
 * (not bytes).  They do not validate their arguments (an invalid label or a
 * negative variance gives NaN), are thread-safe and may run without the GIL.
 * Each one's formula is documented in crossent/kernels.pxd (in the package
 * folder above this include folder).  Cython's `bint` arguments are C `int`
 * here.
 */
#ifndef CROSSENT_CAPI_H
#define CROSSENT_CAPI_H

#include <Python.h>

/* Bumped when a function is added to the struct or a signature changes. */
#define CROSSENT_CAPI_VERSION 1

/* The module that exports the kernels. */
#define CROSSENT_CAPI_MODULE "crossent.kernels"

/* ---- signatures: each capsule's name in crossent.kernels.__pyx_capi__ --- */

#define CROSSENT_CAPI_SIG_logsumexp_f64 "double (double const *, Py_ssize_t, Py_ssize_t)"
#define CROSSENT_CAPI_SIG_logsumexp_f32 "float (float const *, Py_ssize_t, Py_ssize_t)"
#define CROSSENT_CAPI_SIG_log_softmax_f64 \
    "void (double const *, Py_ssize_t, Py_ssize_t, double *, Py_ssize_t)"
#define CROSSENT_CAPI_SIG_log_softmax_f32 \
    "void (float const *, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t)"
#define CROSSENT_CAPI_SIG_softmax_f64 \
    "void (double const *, Py_ssize_t, Py_ssize_t, double *, Py_ssize_t)"
#define CROSSENT_CAPI_SIG_softmax_f32 \
    "void (float const *, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t)"
#define CROSSENT_CAPI_SIG_log_expit_f64 \
    "void (double const *, Py_ssize_t, Py_ssize_t, double *, Py_ssize_t)"
#define CROSSENT_CAPI_SIG_log_expit_f32 \
    "void (float const *, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t)"
#define CROSSENT_CAPI_SIG_norm_logpdf_f64 \
    "void (double const *, Py_ssize_t, Py_ssize_t, double, double, double *, Py_ssize_t)"
#define CROSSENT_CAPI_SIG_norm_logpdf_f32 \
    "void (float const *, Py_ssize_t, Py_ssize_t, float, float, float *, Py_ssize_t)"
#define CROSSENT_CAPI_SIG_cross_entropy_f64 \
    "double (double const *, Py_ssize_t, Py_ssize_t, Py_ssize_t, double *, Py_ssize_t, double)"
#define CROSSENT_CAPI_SIG_cross_entropy_f32 \
    "float (float const *, Py_ssize_t, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t, float)"
#define CROSSENT_CAPI_SIG_bce_with_logits_f64 \
    "double (double const *, Py_ssize_t, Py_ssize_t, double const *, Py_ssize_t, " \
    "double const *, Py_ssize_t, double const *, Py_ssize_t, double *, Py_ssize_t, " \
    "double *, Py_ssize_t, double)"
#define CROSSENT_CAPI_SIG_bce_with_logits_f32 \
    "double (float const *, Py_ssize_t, Py_ssize_t, float const *, Py_ssize_t, " \
    "float const *, Py_ssize_t, float const *, Py_ssize_t, float *, Py_ssize_t, " \
    "float *, Py_ssize_t, float)"
#define CROSSENT_CAPI_SIG_gaussian_nll_f64 \
    "double (double const *, Py_ssize_t, Py_ssize_t, double const *, Py_ssize_t, " \
    "double const *, Py_ssize_t, double *, Py_ssize_t, double *, Py_ssize_t, " \
    "double *, Py_ssize_t, double)"
#define CROSSENT_CAPI_SIG_gaussian_nll_f32 \
    "double (float const *, Py_ssize_t, Py_ssize_t, float const *, Py_ssize_t, " \
    "float const *, Py_ssize_t, float *, Py_ssize_t, float *, Py_ssize_t, " \
    "float *, Py_ssize_t, float)"
#define CROSSENT_CAPI_SIG_gaussian_nll_log_var_f64 \
    "double (double const *, Py_ssize_t, Py_ssize_t, double const *, Py_ssize_t, " \
    "double const *, Py_ssize_t, double *, Py_ssize_t, double *, Py_ssize_t, " \
    "double *, Py_ssize_t, double)"
#define CROSSENT_CAPI_SIG_gaussian_nll_log_var_f32 \
    "double (float const *, Py_ssize_t, Py_ssize_t, float const *, Py_ssize_t, " \
    "float const *, Py_ssize_t, float *, Py_ssize_t, float *, Py_ssize_t, " \
    "float *, Py_ssize_t, float)"
#define CROSSENT_CAPI_SIG_gaussian_nll_loss_f64 \
    "double (double const *, Py_ssize_t, Py_ssize_t, double const *, Py_ssize_t, " \
    "double const *, Py_ssize_t, int, double, double *, Py_ssize_t, double *, Py_ssize_t, " \
    "double *, Py_ssize_t, double)"
#define CROSSENT_CAPI_SIG_gaussian_nll_loss_f32 \
    "double (float const *, Py_ssize_t, Py_ssize_t, float const *, Py_ssize_t, " \
    "float const *, Py_ssize_t, int, float, float *, Py_ssize_t, float *, Py_ssize_t, " \
    "float *, Py_ssize_t, float)"
#define CROSSENT_CAPI_SIG_mse_loss_f64 \
    "double (double const *, Py_ssize_t, Py_ssize_t, double const *, Py_ssize_t, " \
    "double *, Py_ssize_t, double *, Py_ssize_t, double)"
#define CROSSENT_CAPI_SIG_mse_loss_f32 \
    "double (float const *, Py_ssize_t, Py_ssize_t, float const *, Py_ssize_t, " \
    "float *, Py_ssize_t, float *, Py_ssize_t, float)"
#define CROSSENT_CAPI_SIG_poisson_nll_loss_f64 \
    "double (double const *, Py_ssize_t, Py_ssize_t, double const *, Py_ssize_t, int, int, " \
    "double, double *, Py_ssize_t, double *, Py_ssize_t, double)"
#define CROSSENT_CAPI_SIG_poisson_nll_loss_f32 \
    "double (float const *, Py_ssize_t, Py_ssize_t, float const *, Py_ssize_t, int, int, " \
    "float, float *, Py_ssize_t, float *, Py_ssize_t, float)"

/* ---- function pointer types ---------------------------------------------- */

/* log(sum(exp(x[i * stride]))) over i < n; -inf for n == 0. */
typedef double (*crossent_logsumexp_f64_t)(const double *x, Py_ssize_t n, Py_ssize_t stride);
typedef float (*crossent_logsumexp_f32_t)(const float *x, Py_ssize_t n, Py_ssize_t stride);

/* out[i * out_stride] = log_softmax(x)[i] (softmax(x)[i]); out may be x (same stride). */
typedef void (*crossent_log_softmax_f64_t)(const double *x, Py_ssize_t n, Py_ssize_t stride,
                                           double *out, Py_ssize_t out_stride);
typedef void (*crossent_log_softmax_f32_t)(const float *x, Py_ssize_t n, Py_ssize_t stride,
                                           float *out, Py_ssize_t out_stride);
typedef void (*crossent_softmax_f64_t)(const double *x, Py_ssize_t n, Py_ssize_t stride,
                                       double *out, Py_ssize_t out_stride);
typedef void (*crossent_softmax_f32_t)(const float *x, Py_ssize_t n, Py_ssize_t stride,
                                       float *out, Py_ssize_t out_stride);

/* out[i * out_stride] = log_expit(x[i * stride]) for i < n. */
typedef void (*crossent_log_expit_f64_t)(const double *x, Py_ssize_t n, Py_ssize_t stride,
                                         double *out, Py_ssize_t out_stride);
typedef void (*crossent_log_expit_f32_t)(const float *x, Py_ssize_t n, Py_ssize_t stride,
                                         float *out, Py_ssize_t out_stride);

/* out[i * out_stride] = norm.logpdf(x[i * stride], loc, scale) for i < n. */
typedef void (*crossent_norm_logpdf_f64_t)(const double *x, Py_ssize_t n, Py_ssize_t stride,
                                           double loc, double scale,
                                           double *out, Py_ssize_t out_stride);
typedef void (*crossent_norm_logpdf_f32_t)(const float *x, Py_ssize_t n, Py_ssize_t stride,
                                           float loc, float scale,
                                           float *out, Py_ssize_t out_stride);

/* -log_softmax(x)[label] of one row; grad (NULL: not written) gets
 * grad_scale * (softmax(x)[i] - (i == label)).  A label outside [0, n) gives NaN. */
typedef double (*crossent_cross_entropy_f64_t)(const double *x, Py_ssize_t n, Py_ssize_t stride,
                                               Py_ssize_t label, double *grad,
                                               Py_ssize_t grad_stride, double grad_scale);
typedef float (*crossent_cross_entropy_f32_t)(const float *x, Py_ssize_t n, Py_ssize_t stride,
                                              Py_ssize_t label, float *grad,
                                              Py_ssize_t grad_stride, float grad_scale);

/* The elementwise losses over strided arrays (i < n) return the sum of the
 * elementwise losses (pairwise, in double, also for float input); out and the
 * gradients (NULL: not written) get the elementwise values, the gradients
 * times grad_scale.  A stride of 0 repeats one value; weight and pos_weight
 * may be NULL (ones). */
typedef double (*crossent_bce_with_logits_f64_t)(
    const double *x, Py_ssize_t n, Py_ssize_t stride,
    const double *target, Py_ssize_t target_stride,
    const double *weight, Py_ssize_t weight_stride,
    const double *pos_weight, Py_ssize_t pos_weight_stride,
    double *out, Py_ssize_t out_stride, double *grad, Py_ssize_t grad_stride,
    double grad_scale);
typedef double (*crossent_bce_with_logits_f32_t)(
    const float *x, Py_ssize_t n, Py_ssize_t stride,
    const float *target, Py_ssize_t target_stride,
    const float *weight, Py_ssize_t weight_stride,
    const float *pos_weight, Py_ssize_t pos_weight_stride,
    float *out, Py_ssize_t out_stride, float *grad, Py_ssize_t grad_stride,
    float grad_scale);

/* The exact Gaussian NLL (nats, constant included) given the variance. */
typedef double (*crossent_gaussian_nll_f64_t)(
    const double *input, Py_ssize_t n, Py_ssize_t stride,
    const double *target, Py_ssize_t target_stride,
    const double *var, Py_ssize_t var_stride,
    double *out, Py_ssize_t out_stride,
    double *grad_input, Py_ssize_t grad_input_stride,
    double *grad_var, Py_ssize_t grad_var_stride, double grad_scale);
typedef double (*crossent_gaussian_nll_f32_t)(
    const float *input, Py_ssize_t n, Py_ssize_t stride,
    const float *target, Py_ssize_t target_stride,
    const float *var, Py_ssize_t var_stride,
    float *out, Py_ssize_t out_stride,
    float *grad_input, Py_ssize_t grad_input_stride,
    float *grad_var, Py_ssize_t grad_var_stride, float grad_scale);

/* The same given the log-variance (no overflow for any log_var). */
typedef double (*crossent_gaussian_nll_log_var_f64_t)(
    const double *input, Py_ssize_t n, Py_ssize_t stride,
    const double *target, Py_ssize_t target_stride,
    const double *log_var, Py_ssize_t log_var_stride,
    double *out, Py_ssize_t out_stride,
    double *grad_input, Py_ssize_t grad_input_stride,
    double *grad_log_var, Py_ssize_t grad_log_var_stride, double grad_scale);
typedef double (*crossent_gaussian_nll_log_var_f32_t)(
    const float *input, Py_ssize_t n, Py_ssize_t stride,
    const float *target, Py_ssize_t target_stride,
    const float *log_var, Py_ssize_t log_var_stride,
    float *out, Py_ssize_t out_stride,
    float *grad_input, Py_ssize_t grad_input_stride,
    float *grad_log_var, Py_ssize_t grad_log_var_stride, float grad_scale);

/* torch's gaussian_nll_loss elementwise (var clamped to eps, full adds log(2 pi) / 2). */
typedef double (*crossent_gaussian_nll_loss_f64_t)(
    const double *input, Py_ssize_t n, Py_ssize_t stride,
    const double *target, Py_ssize_t target_stride,
    const double *var, Py_ssize_t var_stride, int full, double eps,
    double *out, Py_ssize_t out_stride,
    double *grad_input, Py_ssize_t grad_input_stride,
    double *grad_var, Py_ssize_t grad_var_stride, double grad_scale);
typedef double (*crossent_gaussian_nll_loss_f32_t)(
    const float *input, Py_ssize_t n, Py_ssize_t stride,
    const float *target, Py_ssize_t target_stride,
    const float *var, Py_ssize_t var_stride, int full, float eps,
    float *out, Py_ssize_t out_stride,
    float *grad_input, Py_ssize_t grad_input_stride,
    float *grad_var, Py_ssize_t grad_var_stride, float grad_scale);

/* Squared error (input - target)**2, gradient 2 (input - target). */
typedef double (*crossent_mse_loss_f64_t)(
    const double *input, Py_ssize_t n, Py_ssize_t stride,
    const double *target, Py_ssize_t target_stride,
    double *out, Py_ssize_t out_stride, double *grad, Py_ssize_t grad_stride,
    double grad_scale);
typedef double (*crossent_mse_loss_f32_t)(
    const float *input, Py_ssize_t n, Py_ssize_t stride,
    const float *target, Py_ssize_t target_stride,
    float *out, Py_ssize_t out_stride, float *grad, Py_ssize_t grad_stride,
    float grad_scale);

/* torch's poisson_nll_loss elementwise. */
typedef double (*crossent_poisson_nll_loss_f64_t)(
    const double *input, Py_ssize_t n, Py_ssize_t stride,
    const double *target, Py_ssize_t target_stride, int log_input, int full, double eps,
    double *out, Py_ssize_t out_stride, double *grad, Py_ssize_t grad_stride,
    double grad_scale);
typedef double (*crossent_poisson_nll_loss_f32_t)(
    const float *input, Py_ssize_t n, Py_ssize_t stride,
    const float *target, Py_ssize_t target_stride, int log_input, int full, float eps,
    float *out, Py_ssize_t out_stride, float *grad, Py_ssize_t grad_stride,
    float grad_scale);

/* ---- the table of kernels ------------------------------------------------ */

typedef struct crossent_capi {
    crossent_logsumexp_f64_t logsumexp_f64;
    crossent_logsumexp_f32_t logsumexp_f32;
    crossent_log_softmax_f64_t log_softmax_f64;
    crossent_log_softmax_f32_t log_softmax_f32;
    crossent_softmax_f64_t softmax_f64;
    crossent_softmax_f32_t softmax_f32;
    crossent_log_expit_f64_t log_expit_f64;
    crossent_log_expit_f32_t log_expit_f32;
    crossent_norm_logpdf_f64_t norm_logpdf_f64;
    crossent_norm_logpdf_f32_t norm_logpdf_f32;
    crossent_cross_entropy_f64_t cross_entropy_f64;
    crossent_cross_entropy_f32_t cross_entropy_f32;
    crossent_bce_with_logits_f64_t bce_with_logits_f64;
    crossent_bce_with_logits_f32_t bce_with_logits_f32;
    crossent_gaussian_nll_f64_t gaussian_nll_f64;
    crossent_gaussian_nll_f32_t gaussian_nll_f32;
    crossent_gaussian_nll_log_var_f64_t gaussian_nll_log_var_f64;
    crossent_gaussian_nll_log_var_f32_t gaussian_nll_log_var_f32;
    crossent_gaussian_nll_loss_f64_t gaussian_nll_loss_f64;
    crossent_gaussian_nll_loss_f32_t gaussian_nll_loss_f32;
    crossent_mse_loss_f64_t mse_loss_f64;
    crossent_mse_loss_f32_t mse_loss_f32;
    crossent_poisson_nll_loss_f64_t poisson_nll_loss_f64;
    crossent_poisson_nll_loss_f32_t poisson_nll_loss_f32;
} crossent_capi;

/* ---- the import ------------------------------------------------------------ */

/* Store the pointer of capsule `name` of `capi` (a dict) in *fn, after
 * checking that the capsule is named `signature`.  0, or -1 with an
 * exception set. */
Py_LOCAL_INLINE(int) crossent_capi__get(PyObject *capi, const char *name,
                                         const char *signature, void (**fn)(void))
{
    /* A data pointer and a function pointer may only meet through a union
     * (ISO C has no cast between them); Cython stores it the same way. */
    union { void *p; void (*fp)(void); } ptr;
    PyObject *capsule = PyDict_GetItemString(capi, name); /* borrowed */

    if (capsule == NULL) {
        PyErr_Format(PyExc_ImportError,
                     CROSSENT_CAPI_MODULE " does not export the C function %s "
                     "(the installed crossent is older than this extension's "
                     "crossent_capi.h, version %d)", name, CROSSENT_CAPI_VERSION);
        return -1;
    }
    if (!PyCapsule_IsValid(capsule, signature)) {
        const char *got = PyCapsule_CheckExact(capsule) ? PyCapsule_GetName(capsule) : NULL;
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError,
                     "C function " CROSSENT_CAPI_MODULE ".%s has the signature '%s', "
                     "but this extension was built for '%s' (rebuild it against the "
                     "installed crossent)", name, got ? got : "(not a capsule)", signature);
        return -1;
    }
    ptr.p = PyCapsule_GetPointer(capsule, signature);
    if (ptr.p == NULL) {
        return -1;
    }
    *fn = ptr.fp;
    return 0;
}

/* Import crossent.kernels and fill *api with its kernels.
 *
 * Returns 0 on success; -1 with a Python exception set (ImportError when
 * crossent or a function is missing, TypeError when a function's signature
 * differs from this header's), leaving *api unchanged.  Call it with the GIL
 * held, typically once from the module's init function. */
Py_LOCAL_INLINE(int) crossent_capi_import(crossent_capi *api)
{
    crossent_capi loaded;
    PyObject *module, *capi;
    int status = -1;

    module = PyImport_ImportModule(CROSSENT_CAPI_MODULE);
    if (module == NULL) {
        return -1;
    }
    capi = PyObject_GetAttrString(module, "__pyx_capi__");
    Py_DECREF(module);
    if (capi == NULL) {
        return -1;
    }
    if (!PyDict_Check(capi)) {
        PyErr_SetString(PyExc_TypeError, CROSSENT_CAPI_MODULE ".__pyx_capi__ is not a dict");
        goto done;
    }
#define CROSSENT_CAPI__LOAD(name)                                                  \
    do {                                                                           \
        void (*fn_)(void);                                                         \
        if (crossent_capi__get(capi, #name, CROSSENT_CAPI_SIG_##name, &fn_) < 0)  \
            goto done;                                                             \
        loaded.name = (crossent_##name##_t)fn_;                                    \
    } while (0)
    CROSSENT_CAPI__LOAD(logsumexp_f64);
    CROSSENT_CAPI__LOAD(logsumexp_f32);
    CROSSENT_CAPI__LOAD(log_softmax_f64);
    CROSSENT_CAPI__LOAD(log_softmax_f32);
    CROSSENT_CAPI__LOAD(softmax_f64);
    CROSSENT_CAPI__LOAD(softmax_f32);
    CROSSENT_CAPI__LOAD(log_expit_f64);
    CROSSENT_CAPI__LOAD(log_expit_f32);
    CROSSENT_CAPI__LOAD(norm_logpdf_f64);
    CROSSENT_CAPI__LOAD(norm_logpdf_f32);
    CROSSENT_CAPI__LOAD(cross_entropy_f64);
    CROSSENT_CAPI__LOAD(cross_entropy_f32);
    CROSSENT_CAPI__LOAD(bce_with_logits_f64);
    CROSSENT_CAPI__LOAD(bce_with_logits_f32);
    CROSSENT_CAPI__LOAD(gaussian_nll_f64);
    CROSSENT_CAPI__LOAD(gaussian_nll_f32);
    CROSSENT_CAPI__LOAD(gaussian_nll_log_var_f64);
    CROSSENT_CAPI__LOAD(gaussian_nll_log_var_f32);
    CROSSENT_CAPI__LOAD(gaussian_nll_loss_f64);
    CROSSENT_CAPI__LOAD(gaussian_nll_loss_f32);
    CROSSENT_CAPI__LOAD(mse_loss_f64);
    CROSSENT_CAPI__LOAD(mse_loss_f32);
    CROSSENT_CAPI__LOAD(poisson_nll_loss_f64);
    CROSSENT_CAPI__LOAD(poisson_nll_loss_f32);
#undef CROSSENT_CAPI__LOAD
    *api = loaded;
    status = 0;
done:
    Py_DECREF(capi);
    return status;
}

#endif /* CROSSENT_CAPI_H */
