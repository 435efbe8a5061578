"""The strided-array C kernels of l1_loss, smooth_l1_loss, huber_loss and
binary_cross_entropy (crossent.kernels.__pyx_capi__), called through ctypes: the
elementwise losses, the gradients times grad_scale and the returned sum agree with the
reference; stride 0 repeats a weight; NULL outputs are not written."""
import ctypes

import numpy as np
import pytest

import crossent.kernels
from crossent import reference

_API = ctypes.pythonapi
_API.PyCapsule_GetName.restype = ctypes.c_char_p
_API.PyCapsule_GetName.argtypes = [ctypes.py_object]
_API.PyCapsule_GetPointer.restype = ctypes.c_void_p
_API.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

_C = {"f64": (ctypes.c_double, np.float64), "f32": (ctypes.c_float, np.float32)}


def _kernel(name, sfx, scalars):
    """The capsule `name_sfx` as a ctypes function: arrays and strides as the .pxd gives
    them, `scalars` the positions of the real-number parameters after the arrays."""
    cap = crossent.kernels.__pyx_capi__[f"{name}_{sfx}"]
    address = _API.PyCapsule_GetPointer(cap, _API.PyCapsule_GetName(cap))
    real, _ = _C[sfx]
    ptr = ctypes.POINTER(real)
    n = ctypes.c_ssize_t
    weighted = name != "smooth_l1_loss"
    args = [ptr, n, n, ptr, n]
    if weighted:
        args += [ptr, n]
    args += [real] * scalars
    args += [ptr, n, ptr, n, real]
    return ctypes.CFUNCTYPE(ctypes.c_double, *args)(address)


def _p(a, sfx):
    if a is None:
        return None
    return a.ctypes.data_as(ctypes.POINTER(_C[sfx][0]))


CASES = [
    ("l1_loss", 0, {}),
    ("smooth_l1_loss", 1, {"beta": 0.7}),
    ("huber_loss", 1, {"delta": 0.7}),
    ("binary_cross_entropy", 0, {}),
]


# every kernel unweighted, and weighted where it takes a weight (smooth_l1_loss has none)
PARAMS = [(*c, w) for c in CASES for w in (False, True) if not (w and c[0] == "smooth_l1_loss")]


@pytest.mark.parametrize("sfx", ["f64", "f32"])
@pytest.mark.parametrize("name, scalars, params, weighted", PARAMS,
                         ids=[f"{c[0]}-{'w' if c[3] else 'plain'}" for c in PARAMS])
def test_pointwise_kernel_matches_the_reference(name, scalars, params, weighted, sfx):
    rng = np.random.default_rng(7)
    dt = _C[sfx][1]
    n = 257
    if name == "binary_cross_entropy":
        x = rng.uniform(0, 1, n).astype(dt)
        x[:3] = [0.0, 1.0, 0.5]
        t = rng.uniform(0, 1, n).astype(dt)
    else:
        x = rng.normal(size=n).astype(dt) * 2
        t = rng.normal(size=n).astype(dt)
        t[0] = x[0]  # the kink at r == 0
    w = np.array([1.5], dt) if weighted else None
    out = np.full(2 * n, np.nan, dt)[::2]  # a strided output
    grad = np.empty(n, dt)
    f = _kernel(name, sfx, scalars)
    args = [_p(x, sfx), n, 1, _p(t, sfx), 1]
    if name != "smooth_l1_loss":
        args += [_p(w, sfx), 0]
    args += list(params.values())
    args += [_p(out, sfx), 2, _p(grad, sfx), 1, 0.5]
    total = f(*args)
    kw = dict(params)
    if weighted:
        kw["weight"] = np.full(n, 1.5, dt)
    fn = getattr(reference, name)
    want_loss = fn(x, t, reduction="none", **kw)
    _, want_grad = fn(x, t, reduction="sum", return_grad=True, **kw)
    tol = dict(rtol=1e-13, atol=1e-300) if sfx == "f64" else dict(rtol=3e-6, atol=1e-30)
    np.testing.assert_allclose(out, want_loss, **tol)
    np.testing.assert_allclose(grad, 0.5 * np.asarray(want_grad), **tol)
    np.testing.assert_allclose(total, float(np.sum(np.asarray(want_loss, np.float64))),
                               rtol=1e-12 if sfx == "f64" else 3e-6)
    # NULL outputs: only the sum
    args[-5:-1] = [None, 0, None, 0]
    assert f(*args) == total


def test_smooth_l1_beta_zero_is_l1():
    x = np.array([1.0, -2.0, 0.0])
    t = np.zeros(3)
    out = np.empty(3)
    f = _kernel("smooth_l1_loss", "f64", 1)
    total = f(_p(x, "f64"), 3, 1, _p(t, "f64"), 1, 0.0, _p(out, "f64"), 1, None, 0, 1.0)
    assert total == 3.0 and list(out) == [1.0, 2.0, 0.0]
