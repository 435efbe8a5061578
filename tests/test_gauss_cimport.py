"""The Gaussian / Poisson family's cimport kernels, from a downstream extension built
against the installed crossent (``from crossent cimport kernels``)."""
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

    def gauss_f64(const double[:] x, const double[:] t, const double[:] v, bint log_var,
                  double scale):
        cdef Py_ssize_t n = x.shape[0]
        out = np.empty(n)
        gx = np.empty(n)
        gv = np.empty(n)
        cdef double[:] o = out
        cdef double[:] a = gx
        cdef double[:] b = gv
        cdef double s
        with nogil:
            if log_var:
                s = kernels.gaussian_nll_log_var_f64(&x[0], n, x.strides[0] // 8, &t[0],
                                                     t.strides[0] // 8, &v[0], v.strides[0] // 8,
                                                     &o[0], 1, &a[0], 1, &b[0], 1, scale)
            else:
                s = kernels.gaussian_nll_f64(&x[0], n, x.strides[0] // 8, &t[0], t.strides[0] // 8,
                                             &v[0], v.strides[0] // 8, &o[0], 1, &a[0], 1,
                                             &b[0], 1, scale)
        return s, out, gx, gv

    def gauss_sum_one_var_f32(const float[:] x, const float[:] t, float var):
        cdef double s
        with nogil:
            s = kernels.gaussian_nll_f32(&x[0], x.shape[0], x.strides[0] // 4, &t[0],
                                         t.strides[0] // 4, &var, 0, NULL, 1, NULL, 1, NULL, 1, 1.0)
        return s

    def torch_gauss_f32(const float[:] x, const float[:] t, const float[:] v, bint full, float eps):
        cdef Py_ssize_t n = x.shape[0]
        out = np.empty(n, dtype=np.float32)
        gv = np.empty(n, dtype=np.float32)
        cdef float[:] o = out
        cdef float[:] b = gv
        cdef double s
        with nogil:
            s = kernels.gaussian_nll_loss_f32(&x[0], n, 1, &t[0], 1, &v[0], 1, full, eps,
                                              &o[0], 1, NULL, 1, &b[0], 1, 1.0)
        return s, out, gv

    def mse_f64(const double[:] x, const double[:] t, double scale):
        cdef Py_ssize_t n = x.shape[0]
        grad = np.empty(n)
        cdef double[:] g = grad
        cdef double s
        with nogil:
            s = kernels.mse_loss_f64(&x[0], n, x.strides[0] // 8, &t[0], t.strides[0] // 8,
                                     NULL, 1, &g[0], 1, scale)
        return s, grad

    def poisson_f32(const float[:] x, const float[:] t, bint log_input, bint full):
        cdef Py_ssize_t n = x.shape[0]
        out = np.empty(n, dtype=np.float32)
        cdef float[:] o = out
        cdef double s
        with nogil:
            s = kernels.poisson_nll_loss_f32(&x[0], n, 1, &t[0], 1, log_input, full, 1e-8,
                                             &o[0], 1, NULL, 1, 1.0)
        return s, out
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
            [Extension("downstream_gauss", ["downstream_gauss.pyx"],
                       include_dirs=[numpy.get_include()])],
            include_path=[sys.argv.pop()],
            quiet=True,
        ),
        script_args=["build_ext", "--inplace"],
    )
    """
)


@pytest.fixture(scope="module")
def downstream(tmp_path_factory):
    pytest.importorskip("Cython")
    folder = tmp_path_factory.mktemp("downstream_gauss")
    package_parent = os.path.dirname(os.path.dirname(crossent.__file__))
    return build_extension(
        folder, "downstream_gauss",
        {"downstream_gauss.pyx": DOWNSTREAM_PYX, "setup.py": SETUP_PY}, [package_parent])


def test_gaussian_nll_kernels(downstream, rng):
    x = rng.standard_normal(5000) * 3
    t = rng.standard_normal(5000)
    v = rng.random(5000) + 0.01
    v[:3] = [0.0, 1e-310, 1e300]
    for log_var in (False, True):
        with np.errstate(divide="ignore"):
            p = np.log(v) if log_var else v
        kw = {"log_var" if log_var else "var": p}
        s, out, gx, gv = downstream.gauss_f64(x, t, p, log_var, 0.5)
        want, wgx, wgv = reference.gaussian_nll(x, t, reduction="none", return_grad=True, **kw)
        np.testing.assert_allclose(out, want, rtol=1e-15, atol=1e-15)  # two accurate results: a few ulps
        np.testing.assert_allclose(gx, 0.5 * wgx, rtol=1e-15)
        # (the reference's 1/(2v) - r**2/(2v**2) is inf - inf at v = 1e-310: crossent gives -inf)
        ok = ~np.isnan(wgv)
        np.testing.assert_allclose(gv[ok], 0.5 * wgv[ok], rtol=1e-12, atol=1e-300)
        assert gv[1] == -np.inf
        # the sum is the pairwise sum of the elements (the one of crossent's Python API)
        fin = np.isfinite(want)
        s2, *_ = downstream.gauss_f64(x[fin], t[fin], p[fin], log_var, 1.0)
        assert s2 == crossent.gaussian_nll(x[fin], t[fin], reduction="sum", **{k: q[fin] for k, q in kw.items()})
        # strided inputs
        s3, out3, _, _ = downstream.gauss_f64(x[::-2], t[::-2], p[::-2], log_var, 1.0)
        np.testing.assert_array_equal(out3, out[::-2])
    # a negative variance gives NaN (no validation in the kernels)
    assert np.isnan(downstream.gauss_f64(np.zeros(1), np.zeros(1), -np.ones(1), False, 1.0)[1][0])


def test_one_variance_and_float32(downstream, rng):
    x = rng.standard_normal(3000).astype(np.float32)
    t = rng.standard_normal(3000).astype(np.float32)
    s = downstream.gauss_sum_one_var_f32(x, t, np.float32(0.7))
    want = float(np.sum(reference.gaussian_nll(x, t, var=np.float32(0.7), reduction="none").astype(np.float64)))
    assert abs(s - want) <= 1e-6 * abs(want)  # the sum in double of float32-accurate terms
    v = (rng.random(3000) + 1e-8).astype(np.float32)
    s, out, gv = downstream.torch_gauss_f32(x, t, v, True, 1e-6)
    wl, _, wv = reference.gaussian_nll_loss(x, t, v, full=True, reduction="none", return_grad=True)
    np.testing.assert_allclose(out, wl, rtol=2e-7, atol=2e-7)
    np.testing.assert_allclose(gv, wv, rtol=2e-6, atol=1e-6)


def test_mse_and_poisson_kernels(downstream, rng):
    x = rng.standard_normal(4097) * 1e150
    t = rng.standard_normal(4097) * 1e150
    s, grad = downstream.mse_f64(x, t, 1.0 / x.size)
    loss, g = crossent.mse_loss(x, t, reduction="sum", return_grad=True)
    assert s == float(loss)
    np.testing.assert_allclose(grad, g / x.size, rtol=1e-15)
    xf = rng.standard_normal(2000).astype(np.float32)
    c = rng.poisson(3.0, 2000).astype(np.float32)
    for log_input in (True, False):
        xin = xf if log_input else np.abs(xf)
        s, out = downstream.poisson_f32(xin, c, log_input, True)
        want = reference.poisson_nll_loss(xin, c, log_input=log_input, full=True, reduction="none")
        np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-5)


def test_capi_names():
    import crossent.kernels as k

    for name in ("gaussian_nll", "gaussian_nll_log_var", "gaussian_nll_loss", "mse_loss", "poisson_nll_loss"):
        for ts in ("f32", "f64"):
            assert f"{name}_{ts}" in k.__pyx_capi__
