"""The C API: a plain C extension built against the installed crossent through
``crossent_capi.h`` (from ``crossent.get_include()`` only), and the header checked
against the capsules of ``crossent.kernels.__pyx_capi__`` so that it cannot fall
behind the kernels.

Works from an installed wheel: nothing here reads the source tree.
"""
import ctypes
import os
import re
import textwrap

import numpy as np
import pytest

import crossent
from _helpers import build_extension
import crossent.kernels
from crossent import reference

HEADER = "crossent_capi.h"
MODULE = "crossent_capi_user"


def capsule_signatures():
    """{name: C signature} of every capsule, read with PyCapsule_GetName."""
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype = ctypes.c_char_p
    get_name.argtypes = [ctypes.py_object]
    return {name: get_name(cap).decode() for name, cap in crossent.kernels.__pyx_capi__.items()}


def function_pointer_type(signature):
    """'double (double const *, Py_ssize_t)' -> 'double (*)(double const *, Py_ssize_t)'."""
    ret, args = signature.split(" (", 1)
    return f"{ret} (*)({args}"


def read_header():
    path = os.path.join(crossent.get_include(), HEADER)
    with open(path) as f:
        return f.read()


# ---- the downstream C extension ------------------------------------------------------
#
# One wrapper per kernel, written once per dtype by a macro (T = element type, S = suffix).
# Arrays travel as integer addresses (numpy's arr.ctypes.data), 0 standing for NULL, so
# the extension needs no NumPy headers.

EXTENSION_C = textwrap.dedent(
    r"""
    #define PY_SSIZE_T_CLEAN
    #include <Python.h>
    #include "crossent_capi.h"

    #if CROSSENT_CAPI_VERSION < 1
    #error "crossent_capi.h too old"
    #endif

    static crossent_capi cx;

    /* O& converter: a Python int address -> pointer (0 -> NULL). */
    static int to_ptr(PyObject *o, void *p)
    {
        *(void **)p = PyLong_AsVoidPtr(o);
        return !PyErr_Occurred();
    }

    #define WRAPPERS(T, S, F)                                                          \
    static PyObject *logsumexp_##S(PyObject *self, PyObject *args)                     \
    {                                                                                  \
        T *x; Py_ssize_t n, s; T r;                                                    \
        if (!PyArg_ParseTuple(args, "O&nn", to_ptr, &x, &n, &s)) return NULL;          \
        Py_BEGIN_ALLOW_THREADS                                                         \
        r = cx.logsumexp_##S(x, n, s);                                                 \
        Py_END_ALLOW_THREADS                                                           \
        return PyFloat_FromDouble(r);                                                  \
    }                                                                                  \
    static PyObject *row_##S(PyObject *args, crossent_softmax_##S##_t fn)              \
    {                                                                                  \
        T *x, *o; Py_ssize_t n, s, os;                                                 \
        if (!PyArg_ParseTuple(args, "O&nnO&n", to_ptr, &x, &n, &s, to_ptr, &o, &os))   \
            return NULL;                                                               \
        fn(x, n, s, o, os);                                                            \
        Py_RETURN_NONE;                                                                \
    }                                                                                  \
    static PyObject *log_softmax_##S(PyObject *self, PyObject *args)                   \
    { return row_##S(args, cx.log_softmax_##S); }                                      \
    static PyObject *softmax_##S(PyObject *self, PyObject *args)                       \
    { return row_##S(args, cx.softmax_##S); }                                          \
    static PyObject *log_expit_##S(PyObject *self, PyObject *args)                     \
    { return row_##S(args, cx.log_expit_##S); }                                        \
    static PyObject *norm_logpdf_##S(PyObject *self, PyObject *args)                   \
    {                                                                                  \
        T *x, *o, loc, scale; Py_ssize_t n, s, os;                                     \
        if (!PyArg_ParseTuple(args, "O&nn" F F "O&n", to_ptr, &x, &n, &s, &loc, &scale,\
                              to_ptr, &o, &os)) return NULL;                           \
        cx.norm_logpdf_##S(x, n, s, loc, scale, o, os);                                \
        Py_RETURN_NONE;                                                                \
    }                                                                                  \
    static PyObject *cross_entropy_##S(PyObject *self, PyObject *args)                 \
    {                                                                                  \
        T *x, *g, scale; Py_ssize_t n, s, label, gs;                                   \
        if (!PyArg_ParseTuple(args, "O&nnnO&n" F, to_ptr, &x, &n, &s, &label,          \
                              to_ptr, &g, &gs, &scale)) return NULL;                   \
        return PyFloat_FromDouble(cx.cross_entropy_##S(x, n, s, label, g, gs, scale)); \
    }                                                                                  \
    static PyObject *bce_with_logits_##S(PyObject *self, PyObject *args)               \
    {                                                                                  \
        T *x, *t, *w, *pw, *o, *g, scale; Py_ssize_t n, s, ts, ws, pws, os, gs;        \
        if (!PyArg_ParseTuple(args, "O&nnO&nO&nO&nO&nO&n" F, to_ptr, &x, &n, &s,       \
                              to_ptr, &t, &ts, to_ptr, &w, &ws, to_ptr, &pw, &pws,     \
                              to_ptr, &o, &os, to_ptr, &g, &gs, &scale)) return NULL;  \
        return PyFloat_FromDouble(                                                     \
            cx.bce_with_logits_##S(x, n, s, t, ts, w, ws, pw, pws, o, os, g, gs, scale));\
    }                                                                                  \
    static PyObject *gauss_##S(PyObject *args, crossent_gaussian_nll_##S##_t fn)       \
    {                                                                                  \
        T *x, *t, *v, *o, *gi, *gv, scale; Py_ssize_t n, s, ts, vs, os, gis, gvs;      \
        if (!PyArg_ParseTuple(args, "O&nnO&nO&nO&nO&nO&n" F, to_ptr, &x, &n, &s,       \
                              to_ptr, &t, &ts, to_ptr, &v, &vs, to_ptr, &o, &os,       \
                              to_ptr, &gi, &gis, to_ptr, &gv, &gvs, &scale))           \
            return NULL;                                                               \
        return PyFloat_FromDouble(fn(x, n, s, t, ts, v, vs, o, os, gi, gis, gv, gvs,   \
                                     scale));                                          \
    }                                                                                  \
    static PyObject *gaussian_nll_##S(PyObject *self, PyObject *args)                  \
    { return gauss_##S(args, cx.gaussian_nll_##S); }                                   \
    static PyObject *gaussian_nll_log_var_##S(PyObject *self, PyObject *args)          \
    { return gauss_##S(args, cx.gaussian_nll_log_var_##S); }                           \
    static PyObject *gaussian_nll_loss_##S(PyObject *self, PyObject *args)             \
    {                                                                                  \
        T *x, *t, *v, *o, *gi, *gv, eps, scale; int full;                              \
        Py_ssize_t n, s, ts, vs, os, gis, gvs;                                         \
        if (!PyArg_ParseTuple(args, "O&nnO&nO&np" F "O&nO&nO&n" F, to_ptr, &x, &n, &s, \
                              to_ptr, &t, &ts, to_ptr, &v, &vs, &full, &eps,           \
                              to_ptr, &o, &os, to_ptr, &gi, &gis, to_ptr, &gv, &gvs,   \
                              &scale)) return NULL;                                    \
        return PyFloat_FromDouble(cx.gaussian_nll_loss_##S(                            \
            x, n, s, t, ts, v, vs, full, eps, o, os, gi, gis, gv, gvs, scale));        \
    }                                                                                  \
    static PyObject *mse_loss_##S(PyObject *self, PyObject *args)                      \
    {                                                                                  \
        T *x, *t, *o, *g, scale; Py_ssize_t n, s, ts, os, gs;                          \
        if (!PyArg_ParseTuple(args, "O&nnO&nO&nO&n" F, to_ptr, &x, &n, &s,             \
                              to_ptr, &t, &ts, to_ptr, &o, &os, to_ptr, &g, &gs,       \
                              &scale)) return NULL;                                    \
        return PyFloat_FromDouble(cx.mse_loss_##S(x, n, s, t, ts, o, os, g, gs, scale));\
    }                                                                                  \
    static PyObject *poisson_nll_loss_##S(PyObject *self, PyObject *args)              \
    {                                                                                  \
        T *x, *t, *o, *g, eps, scale; int log_input, full; Py_ssize_t n, s, ts, os, gs;\
        if (!PyArg_ParseTuple(args, "O&nnO&npp" F "O&nO&n" F, to_ptr, &x, &n, &s,      \
                              to_ptr, &t, &ts, &log_input, &full, &eps,                \
                              to_ptr, &o, &os, to_ptr, &g, &gs, &scale)) return NULL;  \
        return PyFloat_FromDouble(cx.poisson_nll_loss_##S(                             \
            x, n, s, t, ts, log_input, full, eps, o, os, g, gs, scale));               \
    }

    WRAPPERS(double, f64, "d")
    WRAPPERS(float, f32, "f")

    /* Fill a fresh table again (with whatever crossent.kernels holds now). */
    static PyObject *reimport(PyObject *self, PyObject *unused)
    {
        crossent_capi again;
        if (crossent_capi_import(&again) < 0) return NULL;
        Py_RETURN_NONE;
    }

    #define ENTRY(name) {#name, name, METH_VARARGS, NULL}
    #define BOTH(name) ENTRY(name##_f64), ENTRY(name##_f32)
    static PyMethodDef methods[] = {
        BOTH(logsumexp), BOTH(log_softmax), BOTH(softmax), BOTH(log_expit),
        BOTH(norm_logpdf), BOTH(cross_entropy), BOTH(bce_with_logits), BOTH(gaussian_nll),
        BOTH(gaussian_nll_log_var), BOTH(gaussian_nll_loss), BOTH(mse_loss),
        BOTH(poisson_nll_loss),
        {"reimport", reimport, METH_NOARGS, NULL},
        {NULL, NULL, 0, NULL},
    };

    static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "MODULE", NULL, -1, methods};

    PyMODINIT_FUNC PyInit_MODULE(void)
    {
        PyObject *m;
        if (crossent_capi_import(&cx) < 0) return NULL;
        m = PyModule_Create(&moduledef);
        if (m != NULL && PyModule_AddIntConstant(m, "CAPI_VERSION", CROSSENT_CAPI_VERSION) < 0) {
            Py_DECREF(m);
            return NULL;
        }
        return m;
    }
    """
).replace("MODULE", MODULE)

SETUP_PY = textwrap.dedent(
    """
    import sys
    from setuptools import setup, Extension
    include = sys.argv.pop()
    setup(
        ext_modules=[Extension("MODULE", ["MODULE.c"], include_dirs=[include])],
        script_args=["build_ext", "--inplace"],
    )
    """
).replace("MODULE", MODULE)


def signature_checks(signatures):
    """C11 static assertions that each typedef is the type its capsule's name spells.

    Generated from the capsules at test time, so a typedef that drifts from the
    signature string it is checked against fails to compile.
    """
    lines = ["#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L"]
    for name, sig in sorted(signatures.items()):
        lines.append(
            f"_Static_assert(_Generic((crossent_{name}_t)0, {function_pointer_type(sig)}: 1, "
            f'default: 0), "crossent_{name}_t is not {sig}");'
        )
    lines.append("#endif")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def ext(tmp_path_factory):
    """Build the C extension in a temporary folder against crossent.get_include()."""
    folder = tmp_path_factory.mktemp("capi")
    source = EXTENSION_C.replace(
        "static crossent_capi cx;", signature_checks(capsule_signatures()) + "static crossent_capi cx;"
    )
    return build_extension(folder, MODULE, {f"{MODULE}.c": source, "setup.py": SETUP_PY},
                           [crossent.get_include()])


def addr(a):
    """The address of an array's first element, for the extension (None -> NULL)."""
    return 0 if a is None else a.ctypes.data


def stride(a):
    """An array's (1-D) stride in elements, as the kernels count it."""
    return a.strides[0] // a.itemsize


# ---- the header against the capsules ----------------------------------------------------

def test_header_ships_in_get_include():
    assert os.path.isfile(os.path.join(crossent.get_include(), HEADER))


def test_header_covers_every_capsule():
    """Every capsule has its signature string, typedef and struct member in the header."""
    text = read_header()
    sigs = {}
    for m in re.finditer(r"#define CROSSENT_CAPI_SIG_(\w+)((?:[^\n]*\\\n)*[^\n]*)", text):
        sigs[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
    typedefs = set(re.findall(r"\(\*crossent_(\w+)_t\)\s*\(", text))
    struct = re.search(r"typedef struct crossent_capi \{(.*?)\} crossent_capi;", text, re.S)
    assert struct, "no struct crossent_capi"
    members = dict((m, t) for t, m in re.findall(r"crossent_(\w+)_t\s+(\w+);", struct.group(1)))
    loaded = set(re.findall(r"CROSSENT_CAPI__LOAD\((\w+)\);", text))

    capsules = capsule_signatures()
    assert len(capsules) >= 24
    assert sigs == capsules
    assert typedefs == set(capsules)
    assert members == {name: name for name in capsules}
    assert loaded == set(capsules)


def test_header_version_macro():
    m = re.search(r"#define CROSSENT_CAPI_VERSION (\d+)", read_header())
    assert m and int(m.group(1)) >= 1


# ---- the extension: every kernel through the struct ------------------------------------

def test_import_fills_the_table(ext):
    assert ext.CAPI_VERSION >= 1
    ext.reimport()


def test_logsumexp(ext, rng):
    x = rng.standard_normal(1001) * 30
    view = x[::-3]
    got = ext.logsumexp_f64(addr(view), view.size, stride(view))
    assert got == pytest.approx(reference.logsumexp(view), rel=1e-15)
    dominant = np.array([0.0, -40.0])
    assert ext.logsumexp_f64(addr(dominant), 2, 1) == reference.logsumexp(dominant)
    assert ext.logsumexp_f64(addr(dominant), 0, 1) == -np.inf
    xf = x.astype(np.float32)
    want = reference.logsumexp(xf)
    assert abs(ext.logsumexp_f32(addr(xf), xf.size, 1) - want) <= 2 * np.spacing(np.float32(abs(want)))


@pytest.mark.parametrize("kind", ["log_softmax", "softmax", "log_expit"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_kernels(ext, rng, kind, dtype):
    x = (rng.standard_normal(700) * 20).astype(dtype)
    view = x[::-2]
    out = np.full(view.size * 3, np.nan, dtype)
    sfx = "f64" if dtype == np.float64 else "f32"
    getattr(ext, f"{kind}_{sfx}")(addr(view), view.size, stride(view), addr(out), 3)
    want = getattr(reference, kind)(view)
    rtol = 1e-14 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(out[::3], want, rtol=rtol, atol=1e-300)
    assert np.isnan(out[1::3]).all()  # out_stride respected: nothing written between


def test_log_softmax_in_place(ext, rng):
    x = rng.standard_normal(300).astype(np.float32) * 5
    want = reference.log_softmax(x)
    ext.log_softmax_f32(addr(x), x.size, 1, addr(x), 1)
    np.testing.assert_allclose(x, want, rtol=2e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_norm_logpdf(ext, rng, dtype):
    x = (rng.standard_normal(500) * 50).astype(dtype)
    out = np.empty_like(x)
    sfx = "f64" if dtype == np.float64 else "f32"
    getattr(ext, f"norm_logpdf_{sfx}")(addr(x), x.size, 1, 1.5, 3.0, addr(out), 1)
    want = reference.norm_logpdf(x, dtype(1.5), dtype(3.0))
    np.testing.assert_allclose(out, want, rtol=1e-14 if dtype == np.float64 else 2e-6)


def test_cross_entropy_f64_with_grad(ext, rng):
    x = rng.standard_normal((20, 97)) * 8
    x[3] = -60.0
    x[3, 10] = 0.0  # dominant label: relative accuracy
    y = rng.integers(0, 97, 20)
    y[3] = 10
    want, want_g = reference.cross_entropy(x, y, reduction="none", return_grad=True)
    for i in range(20):
        grad = np.empty(97)
        got = ext.cross_entropy_f64(addr(x[i]), 97, 1, int(y[i]), addr(grad), 1, 0.5)
        assert got == pytest.approx(want[i], rel=1e-14, abs=1e-14)
        np.testing.assert_allclose(grad, 0.5 * want_g[i], rtol=1e-13, atol=1e-16)
    assert ext.cross_entropy_f64(addr(x[3]), 97, 1, 10, 0, 1, 1.0) == pytest.approx(96 * np.exp(-60.0), rel=1e-14)
    assert np.isnan(ext.cross_entropy_f64(addr(x[0]), 97, 1, 97, 0, 1, 1.0))  # no validation


def test_cross_entropy_f32_strided_column(ext, rng):
    x = (rng.standard_normal((300, 6)) * 5).astype(np.float32)
    for j in range(6):
        col = x[:, j]
        want = reference.cross_entropy(col, np.int64(j), reduction="none")
        got = ext.cross_entropy_f32(addr(col), 300, stride(col), j, 0, 1, 1.0)
        assert abs(got - want) <= 2 * np.spacing(np.float32(max(abs(want), np.abs(col).max())))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_with_logits(ext, rng, dtype):
    x = (rng.standard_normal(800) * 30).astype(dtype)
    t = rng.uniform(size=800).astype(dtype)
    w = rng.uniform(size=800).astype(dtype)
    pw = np.array([1.7], dtype)
    out, grad = np.empty_like(x), np.empty_like(x)
    sfx = "f64" if dtype == np.float64 else "f32"
    total = getattr(ext, f"bce_with_logits_{sfx}")(
        addr(x), 800, 1, addr(t), 1, addr(w), 1, addr(pw), 0, addr(out), 1, addr(grad), 1, 1.0)
    want, want_g = reference.binary_cross_entropy_with_logits(
        x, t, weight=w, pos_weight=pw, reduction="none", return_grad=True)
    rtol = 1e-14 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(out, want, rtol=rtol, atol=1e-300)
    # the gradient w((1 - t) sigmoid(x) - p t sigmoid(-x)) may cancel: API.md bounds its
    # error by 4 ulp of the terms' magnitude (at most w (1 + p)), not of the difference
    terms = float(np.max(w * (1 + pw[0])))
    np.testing.assert_allclose(grad, want_g, rtol=rtol, atol=4 * np.finfo(dtype).eps * terms)
    assert total == pytest.approx(np.sum(want, dtype=np.float64), rel=1e-12 if dtype == np.float64 else 1e-6)
    # NULL weight and pos_weight are ones, NULL out and grad are not written
    plain = getattr(ext, f"bce_with_logits_{sfx}")(addr(x), 800, 1, addr(t), 1, 0, 0, 0, 0, 0, 1, 0, 1, 1.0)
    want_plain = reference.binary_cross_entropy_with_logits(x, t, reduction="sum")
    assert plain == pytest.approx(float(want_plain), rel=1e-12 if dtype == np.float64 else 1e-6)


@pytest.mark.parametrize("log_var", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gaussian_nll(ext, rng, dtype, log_var):
    mu = (rng.standard_normal(600) * 3).astype(dtype)
    y = (rng.standard_normal(600) * 3).astype(dtype)
    param = (rng.standard_normal(600) * 2).astype(dtype)
    if not log_var:
        param = np.exp(param).astype(dtype)
    out, gi, gp = np.empty_like(mu), np.empty_like(mu), np.empty_like(mu)
    sfx = "f64" if dtype == np.float64 else "f32"
    name = ("gaussian_nll_log_var_" if log_var else "gaussian_nll_") + sfx
    total = getattr(ext, name)(addr(mu), 600, 1, addr(y), 1, addr(param), 1, addr(out), 1,
                               addr(gi), 1, addr(gp), 1, 1.0)
    kw = {"log_var": param} if log_var else {"var": param}
    want, want_gi, want_gp = reference.gaussian_nll(mu, y, reduction="none", return_grad=True, **kw)
    rtol = 1e-13 if dtype == np.float64 else 5e-6
    atol = 1e-13 if dtype == np.float64 else 5e-6
    np.testing.assert_allclose(out, want, rtol=rtol, atol=atol)
    np.testing.assert_allclose(gi, want_gi, rtol=rtol, atol=atol)
    np.testing.assert_allclose(gp, want_gp, rtol=rtol, atol=atol)
    assert total == pytest.approx(np.sum(want, dtype=np.float64), rel=1e-6)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gaussian_nll_loss(ext, rng, dtype, full):
    mu = (rng.standard_normal(500) * 2).astype(dtype)
    y = (rng.standard_normal(500) * 2).astype(dtype)
    var = np.array([0.7], dtype)  # stride 0: one variance for all
    out, gi, gv = np.empty_like(mu), np.empty_like(mu), np.empty(500, dtype)
    sfx = "f64" if dtype == np.float64 else "f32"
    total = getattr(ext, f"gaussian_nll_loss_{sfx}")(
        addr(mu), 500, 1, addr(y), 1, addr(var), 0, full, 1e-6, addr(out), 1,
        addr(gi), 1, addr(gv), 1, 1.0)
    want, want_gi, want_gv = reference.gaussian_nll_loss(
        mu, y, np.full(500, var[0]), full=full, reduction="none", return_grad=True)
    rtol = 1e-13 if dtype == np.float64 else 5e-6
    np.testing.assert_allclose(out, want, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gi, want_gi, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gv, want_gv, rtol=rtol, atol=rtol)
    assert total == pytest.approx(np.sum(want, dtype=np.float64), rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mse_loss(ext, rng, dtype):
    x = (rng.standard_normal(900) * 10).astype(dtype)
    t = (rng.standard_normal(900) * 10).astype(dtype)
    out, grad = np.empty_like(x), np.empty_like(x)
    sfx = "f64" if dtype == np.float64 else "f32"
    total = getattr(ext, f"mse_loss_{sfx}")(addr(x), 900, 1, addr(t), 1, addr(out), 1, addr(grad), 1, 0.25)
    want, want_g = reference.mse_loss(x, t, reduction="none", return_grad=True)
    rtol = 1e-15 if dtype == np.float64 else 2e-7
    np.testing.assert_allclose(out, want, rtol=rtol)
    np.testing.assert_allclose(grad, 0.25 * want_g, rtol=rtol)
    assert total == pytest.approx(np.sum(want, dtype=np.float64), rel=1e-6)


@pytest.mark.parametrize("log_input, full", [(True, False), (False, True)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_poisson_nll_loss(ext, rng, dtype, log_input, full):
    x = rng.uniform(0.1, 3.0, 400).astype(dtype)
    t = rng.poisson(2.0, 400).astype(dtype)
    out, grad = np.empty_like(x), np.empty_like(x)
    sfx = "f64" if dtype == np.float64 else "f32"
    total = getattr(ext, f"poisson_nll_loss_{sfx}")(
        addr(x), 400, 1, addr(t), 1, log_input, full, 1e-8, addr(out), 1, addr(grad), 1, 1.0)
    want, want_g = reference.poisson_nll_loss(
        x, t, log_input=log_input, full=full, reduction="none", return_grad=True)
    rtol = 1e-13 if dtype == np.float64 else 5e-6
    np.testing.assert_allclose(out, want, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(grad, want_g, rtol=rtol, atol=rtol)
    assert total == pytest.approx(np.sum(want, dtype=np.float64), rel=1e-6)


# ---- the import refuses what does not match --------------------------------------------

def test_import_refuses_a_changed_signature(ext, monkeypatch):
    """A capsule whose name (signature) differs from the header's is a TypeError at import."""
    capi = dict(crossent.kernels.__pyx_capi__)
    capi["logsumexp_f64"] = capi["logsumexp_f32"]  # a float kernel where a double one is due
    monkeypatch.setattr(crossent.kernels, "__pyx_capi__", capi)
    with pytest.raises(TypeError, match=r"logsumexp_f64 has the signature 'float \(float const \*"):
        ext.reimport()


def test_import_refuses_a_missing_function(ext, monkeypatch):
    capi = dict(crossent.kernels.__pyx_capi__)
    del capi["poisson_nll_loss_f32"]
    monkeypatch.setattr(crossent.kernels, "__pyx_capi__", capi)
    with pytest.raises(ImportError, match="poisson_nll_loss_f32"):
        ext.reimport()


def test_import_after_refusal_works_again(ext):
    ext.reimport()


# ---- without a compiler: the capsule through scipy.LowLevelCallable and ctypes ---------

def test_low_level_callable_calls_the_kernel(rng):
    """LowLevelCallable.from_cython carries a capsule whose pointer is the working kernel."""
    scipy = pytest.importorskip("scipy")
    cb = scipy.LowLevelCallable.from_cython(crossent.kernels, "logsumexp_f64")
    assert cb.signature == capsule_signatures()["logsumexp_f64"]
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    address = get_pointer(cb.function, cb.signature.encode())
    c_double_p = ctypes.POINTER(ctypes.c_double)
    lse = ctypes.CFUNCTYPE(ctypes.c_double, c_double_p, ctypes.c_ssize_t, ctypes.c_ssize_t)(address)
    x = rng.standard_normal(257) * 40
    assert lse(x.ctypes.data_as(c_double_p), x.size, 1) == pytest.approx(reference.logsumexp(x), rel=1e-15)
    pair = np.array([0.0, -40.0])
    assert lse(pair.ctypes.data_as(c_double_p), 2, 1) == pytest.approx(4.248354255291589e-18, rel=1e-15)
