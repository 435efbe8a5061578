"""A downstream extension built against the installed crossent: cimport API and C headers."""
import os
import textwrap

import numpy as np
import pytest

import crossent
from _helpers import build_extension
from crossent import reference

DOWNSTREAM_PYX = textwrap.dedent(
    """
    # cython: language_level=3, boundscheck=False, wraparound=False
    from crossent cimport kernels
    import numpy as np

    def lse_rows_f64(const double[:, :] x):
        cdef Py_ssize_t i, n = x.shape[1]
        out = np.empty(x.shape[0])
        cdef double[:] o = out
        with nogil:
            for i in range(x.shape[0]):
                o[i] = kernels.logsumexp_f64(&x[i, 0], n, x.strides[1] // 8)
        return out

    def lse_col_f32(const float[:, :] x, Py_ssize_t j):
        cdef float r
        with nogil:
            r = kernels.logsumexp_f32(&x[0, j], x.shape[0], x.strides[0] // 4)
        return r

    def log_softmax_f64(const double[:] x):
        out = np.empty(x.shape[0])
        cdef double[:] o = out
        with nogil:
            kernels.log_softmax_f64(&x[0], x.shape[0], x.strides[0] // 8, &o[0], 1)
        return out

    def log_softmax_f32_inplace(float[:] x):
        with nogil:
            kernels.log_softmax_f32(&x[0], x.shape[0], 1, &x[0], 1)

    def softmax_f64(const double[:] x):
        out = np.empty(x.shape[0])
        cdef double[:] o = out
        with nogil:
            kernels.softmax_f64(&x[0], x.shape[0], x.strides[0] // 8, &o[0], 1)
        return out

    def log_expit_f64(const double[:] x):
        out = np.empty(x.shape[0])
        cdef double[:] o = out
        with nogil:
            kernels.log_expit_f64(&x[0], x.shape[0], x.strides[0] // 8, &o[0], 1)
        return out

    def norm_logpdf_f32(const float[:] x, float loc, float scale):
        out = np.empty(x.shape[0], dtype=np.float32)
        cdef float[:] o = out
        with nogil:
            kernels.norm_logpdf_f32(&x[0], x.shape[0], 1, loc, scale, &o[0], 1)
        return out
    """
)

# the cross-entropy family's kernels (issue 3)
DOWNSTREAM_PYX += textwrap.dedent(
    """

    def cross_entropy_rows_f64(const double[:, :] x, const long long[:] y, double scale):
        cdef Py_ssize_t i, n = x.shape[1]
        loss = np.empty(x.shape[0])
        grad = np.empty((x.shape[0], x.shape[1]))
        cdef double[:] lo = loss
        cdef double[:, :] g = grad
        with nogil:
            for i in range(x.shape[0]):
                lo[i] = kernels.cross_entropy_f64(&x[i, 0], n, x.strides[1] // 8, y[i],
                                                  &g[i, 0], 1, scale)
        return loss, grad

    def cross_entropy_col_f32(const float[:, :] x, Py_ssize_t j, Py_ssize_t label):
        cdef float r
        with nogil:
            r = kernels.cross_entropy_f32(&x[0, j], x.shape[0], x.strides[0] // 4, label,
                                          NULL, 1, 1.0)
        return r

    def bce_f64(const double[:] x, const double[:] t, const double[:] w, double pw):
        out = np.empty(x.shape[0])
        grad = np.empty(x.shape[0])
        cdef double[:] o = out
        cdef double[:] g = grad
        cdef double s
        with nogil:
            s = kernels.bce_with_logits_f64(&x[0], x.shape[0], x.strides[0] // 8,
                                            &t[0], t.strides[0] // 8, &w[0], w.strides[0] // 8,
                                            &pw, 0, &o[0], 1, &g[0], 1, 1.0)
        return s, out, grad

    def bce_sum_f32(const float[:] x, const float[:] t):
        cdef double s
        with nogil:
            s = kernels.bce_with_logits_f32(&x[0], x.shape[0], x.strides[0] // 4,
                                            &t[0], t.strides[0] // 4, NULL, 0, NULL, 0,
                                            NULL, 1, NULL, 1, 1.0)
        return s
    """
)

SETUP_PY = textwrap.dedent(
    """
    import sys
    from setuptools import setup, Extension
    from Cython.Build import cythonize
    import numpy
    setup(
        ext_modules=cythonize(
            [Extension("downstream", ["downstream.pyx"], include_dirs=[numpy.get_include()])],
            include_path=[sys.argv.pop()],
            quiet=True,
        ),
        script_args=["build_ext", "--inplace"],
    )
    """
)


@pytest.fixture(scope="module")
def downstream(tmp_path_factory):
    """Build the extension in a temporary folder; Cython finds kernels.pxd in the package."""
    pytest.importorskip("Cython")
    folder = tmp_path_factory.mktemp("downstream")
    package_parent = os.path.dirname(os.path.dirname(crossent.__file__))
    return build_extension(
        folder, "downstream", {"downstream.pyx": DOWNSTREAM_PYX, "setup.py": SETUP_PY},
        [package_parent])


def test_kernels_pxd_ships_with_the_package():
    folder = os.path.dirname(crossent.__file__)
    assert os.path.isfile(os.path.join(folder, "kernels.pxd"))


def test_downstream_logsumexp_rows(downstream, rng):
    x = rng.standard_normal((50, 333)) * 30
    x[3] = [0.0, -40.0] + [-np.inf] * 331
    np.testing.assert_allclose(downstream.lse_rows_f64(x), reference.logsumexp(x, axis=1), rtol=1e-15)
    assert downstream.lse_rows_f64(x)[3] == reference.logsumexp([0.0, -40.0])


def test_downstream_strided_f32_column(downstream, rng):
    x = rng.standard_normal((300, 7)).astype(np.float32) * 10
    for j in range(7):
        want = reference.logsumexp(x[:, j])
        assert abs(downstream.lse_col_f32(x, j) - want) <= 2 * np.spacing(np.float32(abs(want)) + 1)


def test_downstream_log_softmax_softmax(downstream, rng):
    x = rng.standard_normal(1000) * 20
    np.testing.assert_allclose(downstream.log_softmax_f64(x[::-1]), reference.log_softmax(x[::-1]),
                               rtol=1e-14)
    np.testing.assert_allclose(downstream.softmax_f64(x), reference.softmax(x), rtol=1e-13, atol=1e-300)
    dominant = downstream.log_softmax_f64(np.array([0.0, -40.0]))
    assert dominant[0] == pytest.approx(-4.248354255291589e-18, rel=1e-15)
    y = (rng.standard_normal(100) * 5).astype(np.float32)
    want = reference.log_softmax(y)
    downstream.log_softmax_f32_inplace(y)
    np.testing.assert_allclose(y, want, rtol=2e-6)


def test_downstream_elementwise(downstream, rng):
    x = rng.standard_normal(500) * 50
    np.testing.assert_allclose(downstream.log_expit_f64(x), reference.log_expit(x), rtol=1e-15)
    xf = x.astype(np.float32)
    np.testing.assert_allclose(downstream.norm_logpdf_f32(xf, 1.5, 3.0),
                               reference.norm_logpdf(xf, np.float32(1.5), np.float32(3.0)), rtol=2e-6)


def test_low_level_callable_from_cython():
    scipy = pytest.importorskip("scipy")
    import crossent.kernels

    cb = scipy.LowLevelCallable.from_cython(crossent.kernels, "logsumexp_f64")
    assert cb.signature.startswith("double (double const *, Py_ssize_t, Py_ssize_t)")


def test_capi_names_and_signatures_are_pinned():
    """Changing these is an API break (see kernels.pxd)."""
    import crossent.kernels

    capi = crossent.kernels.__pyx_capi__
    sig = {name: capi[name].__repr__().split('"')[1] for name in capi}
    want = {
        "logsumexp_f64": "double (double const *, Py_ssize_t, Py_ssize_t)",
        "logsumexp_f32": "float (float const *, Py_ssize_t, Py_ssize_t)",
        "log_softmax_f64": "void (double const *, Py_ssize_t, Py_ssize_t, double *, Py_ssize_t)",
        "log_softmax_f32": "void (float const *, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t)",
        "softmax_f64": "void (double const *, Py_ssize_t, Py_ssize_t, double *, Py_ssize_t)",
        "softmax_f32": "void (float const *, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t)",
        "log_expit_f64": "void (double const *, Py_ssize_t, Py_ssize_t, double *, Py_ssize_t)",
        "log_expit_f32": "void (float const *, Py_ssize_t, Py_ssize_t, float *, Py_ssize_t)",
        "norm_logpdf_f64": "void (double const *, Py_ssize_t, Py_ssize_t, double, double, double *, Py_ssize_t)",
        "norm_logpdf_f32": "void (float const *, Py_ssize_t, Py_ssize_t, float, float, float *, Py_ssize_t)",
    }
    for name, s in want.items():
        assert sig.get(name) == s, name


def test_get_include_has_the_headers():
    folder = crossent.get_include()
    for header in ("crossent.h", "cx_math.inc", "cx_lse.inc"):
        assert os.path.isfile(os.path.join(folder, header)), header


# ---- the cross-entropy family (issue 3) -------------------------------------------

def test_downstream_cross_entropy_row_with_grad(downstream, rng):
    x = rng.standard_normal((40, 97)) * 8
    y = rng.integers(0, 97, 40).astype(np.int64)
    x[5] = -60.0
    x[5, 3] = 0.0  # dominant label (index 93 of the reversed row): relative accuracy
    y[5] = 93
    loss, grad = downstream.cross_entropy_rows_f64(x[:, ::-1], y, 0.5)
    want, want_g = reference.cross_entropy(x[:, ::-1], y, reduction="none", return_grad=True)
    np.testing.assert_allclose(loss, want, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(grad, 0.5 * want_g, rtol=1e-13, atol=1e-16)
    assert loss[5] == pytest.approx(96 * np.exp(-60.0), rel=1e-14)
    assert grad[5, 93] == pytest.approx(-0.5 * 96 * np.exp(-60.0), rel=1e-14)


def test_downstream_cross_entropy_bad_label_is_nan(downstream, rng):
    x = rng.standard_normal((3, 5))
    loss, grad = downstream.cross_entropy_rows_f64(x, np.array([0, 5, -1], np.int64), 1.0)
    assert np.isfinite(loss[0]) and np.isnan(loss[1]) and np.isnan(loss[2])
    assert np.isnan(grad[1:]).all() and np.isfinite(grad[0]).all()


def test_downstream_cross_entropy_strided_f32(downstream, rng):
    x = (rng.standard_normal((300, 6)) * 5).astype(np.float32)
    for j in range(6):
        want = reference.cross_entropy(x[:, j], np.int64(j), reduction="none")
        got = downstream.cross_entropy_col_f32(x, j, j)
        assert abs(got - want) <= 2 * np.spacing(np.float32(max(abs(want), np.abs(x[:, j]).max())))


def test_downstream_bce(downstream, rng):
    x = rng.standard_normal(1000) * 30
    t = rng.uniform(size=1000)
    w = rng.uniform(size=1000)
    s, out, grad = downstream.bce_f64(x[::-1], t, w, 1.7)
    want, want_g = reference.binary_cross_entropy_with_logits(
        x[::-1], t, weight=w, pos_weight=1.7, reduction="none", return_grad=True)
    np.testing.assert_allclose(out, want, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(grad, want_g, rtol=1e-14, atol=1e-300)
    assert s == pytest.approx(want.sum(), rel=1e-13)
    xf = np.array([40.0, -40.0, 0.0], np.float32)
    tf = np.zeros(3, np.float32)
    assert downstream.bce_sum_f32(xf, tf) == pytest.approx(40.0 + 4.248354255291589e-18 + np.log(2.0), rel=1e-7)


def test_capi_cross_entropy_family_signatures_are_pinned():
    import crossent.kernels

    capi = crossent.kernels.__pyx_capi__
    sig = {name: capi[name].__repr__().split('"')[1] for name in capi}
    ce = "{t} ({t} const *, Py_ssize_t, Py_ssize_t, Py_ssize_t, {t} *, Py_ssize_t, {t})"
    bce = ("double ({t} const *, Py_ssize_t, Py_ssize_t, {t} const *, Py_ssize_t, {t} const *, "
           "Py_ssize_t, {t} const *, Py_ssize_t, {t} *, Py_ssize_t, {t} *, Py_ssize_t, {t})")
    for t, sfx in (("double", "f64"), ("float", "f32")):
        assert sig.get("cross_entropy_" + sfx) == ce.format(t=t)
        assert sig.get("bce_with_logits_" + sfx) == bce.format(t=t)
