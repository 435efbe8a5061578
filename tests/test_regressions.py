"""Named regression tests: each bug found as a user would meet it, in the form it was
reported.  The class of each (every function x every array argument x layout) is
covered by tests/test_layouts.py; these pin the original reports."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.special

import crossent
from crossent import reference


def _field(values, pad="<i4"):
    """`values` (1-D float64) as field 'a' of a packed structured array: byte stride
    8 + itemsize(pad), not a multiple of the item size."""
    s = np.zeros(len(values), [("a", "<f8"), ("b", pad)])
    s["a"] = values
    s["b"] = np.arange(len(values)) + 7
    return s


def _odd_size1(row):
    """A (1, n) float64 array that NumPy flags C-contiguous although its size-1 dim
    has an odd byte stride: shape (1, n), strides (8 n + 4, 8)."""
    n = len(row)
    x = np.zeros(1, [("v", "<f8", (n,)), ("k", "<i4")])["v"]
    x[...] = [row]
    assert x.shape == (1, n) and x.strides == (8 * n + 4, 8) and x.flags.c_contiguous
    return x


ROW = [2.0, 0.5, -1.0, 0.3, 1.2]


def test_log_expit_odd_byte_stride():
    s = _field(np.linspace(-3.0, 3.0, 5))
    np.testing.assert_array_equal(crossent.log_expit(s["a"]),
                                  crossent.log_expit(np.ascontiguousarray(s["a"])))
    np.testing.assert_allclose(crossent.log_expit(s["a"]), reference.log_expit(s["a"]),
                               rtol=1e-15)


def test_log_expit_out_odd_byte_stride_lands_in_place():
    x = np.linspace(-3.0, 3.0, 5)
    s = _field(np.zeros(5))
    neighbours = s["b"].copy()
    res = crossent.log_expit(x, out=s["a"])
    assert res is s["a"] or np.shares_memory(res, s)
    np.testing.assert_array_equal(s["a"], crossent.log_expit(x))
    np.testing.assert_array_equal(s["b"], neighbours)  # the neighbouring field is intact


def test_norm_logpdf_odd_byte_strides_every_argument():
    x = np.linspace(-2.0, 2.0, 5)
    loc = np.linspace(0.1, 0.5, 5)
    scale = np.linspace(0.5, 2.5, 5)
    want = crossent.norm_logpdf(x, loc, scale)
    np.testing.assert_allclose(want, reference.norm_logpdf(x, loc, scale), rtol=1e-15)
    for i in range(3):
        args = [x, loc, scale]
        args[i] = _field(args[i])["a"]
        np.testing.assert_array_equal(crossent.norm_logpdf(*args), want)
    s = _field(np.zeros(5))
    crossent.norm_logpdf(x, loc, scale, out=s["a"])
    np.testing.assert_array_equal(s["a"], want)
    np.testing.assert_array_equal(s["b"], np.arange(5) + 7)


def test_misaligned_pointer_input_and_out():
    buf = bytearray(8 * 6 + 1)
    x = np.ndarray((6,), np.float64, buffer=buf, offset=1)
    assert not x.flags.aligned
    x[...] = np.linspace(-3.0, 3.0, 6)
    want = crossent.log_expit(np.array(x))
    np.testing.assert_array_equal(crossent.log_expit(x), want)
    np.testing.assert_array_equal(crossent.logsumexp(x), crossent.logsumexp(np.array(x)))
    out = np.ndarray((6,), np.float64, buffer=bytearray(8 * 6 + 3), offset=3)
    assert crossent.log_expit(np.array(x), out=out) is out
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("call", [
    "crossent.logsumexp(x, axis=1)",
    "crossent.softmax(x, axis=1)",
    "crossent.log_softmax(x, axis=1)",
    "crossent.logsumexp(x, axis=1, b=x)",
    "crossent.logsumexp(x, axis=1, b=np.ones(5))",
    "crossent.softmax(x, axis=1, out=x)",
    "crossent.log_softmax(x, axis=1, out=x)",
])
def test_no_segfault_size1_dim_with_odd_stride(call):
    """logsumexp / softmax / log_softmax crashed (unbounded recursion through the copy
    fallback) on a C-contiguous-flagged array whose size-1 dim has an odd stride; run
    in a child so that a crash fails this test instead of killing the run."""
    code = textwrap.dedent(f"""
        import numpy as np, crossent
        x = np.zeros(1, [('v', '<f8', (5,)), ('k', '<i4')])['v']
        x[...] = [{ROW}]
        c = np.ascontiguousarray(x).copy()
        got = {call}
        want = {call.replace('(x', '(c').replace('b=x', 'b=c').replace('out=x', 'out=c')}
        got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
        assert got.shape == want.shape, (got.shape, want.shape)
        assert np.allclose(got, want, rtol=1e-14, atol=0), (got, want)
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"


def test_class_losses_size1_dim_with_odd_stride():
    x = _odd_size1(ROW)
    c = np.array(x)
    assert float(crossent.cross_entropy(x, [3])) == pytest.approx(2.3444451137701066, rel=1e-15)
    for fn, args in [
        (crossent.cross_entropy, (np.array([3]),)),
        (crossent.nll_loss, (np.array([1]),)),
    ]:
        for rg in (False, True):
            got = fn(x, *args, return_grad=rg)
            want = fn(c, *args, return_grad=rg)
            for g, w in zip(np.atleast_1d(got) if not rg else got, np.atleast_1d(want) if not rg else want):
                np.testing.assert_array_equal(g, w)
    # target, weight and pos_weight in the same layout
    t = _odd_size1([0.1, 0.2, 0.3, 0.2, 0.2])
    w = _odd_size1([1.0, 2.0, 0.5, 1.5, 1.0])
    np.testing.assert_array_equal(crossent.cross_entropy(c, t), crossent.cross_entropy(c, np.array(t)))
    np.testing.assert_array_equal(crossent.kl_div(x, t), crossent.kl_div(c, np.array(t)))
    np.testing.assert_array_equal(
        crossent.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=w[0]),
        crossent.binary_cross_entropy_with_logits(c, np.array(t), weight=np.array(w),
                                                  pos_weight=np.array(w[0])))
    labels = np.zeros(1, [("y", "<i8", (1,)), ("k", "<i2")])["y"][:, 0]  # shape (1,), odd base
    labels[...] = 3
    np.testing.assert_array_equal(crossent.cross_entropy(x, labels), crossent.cross_entropy(c, [3]))
    wide = np.zeros(1, [("w", "<f8", (5,)), ("k", "<i4")])["w"][0]  # (5,), C-contiguous
    wide[...] = [1.0, 2.0, 0.5, 1.5, 1.0]
    np.testing.assert_array_equal(crossent.cross_entropy(x, [3], wide),
                                  crossent.cross_entropy(c, [3], np.array(wide)))


@pytest.mark.parametrize("source_dtype", [">f8", "<i8", "<f2"])
def test_partial_overlap_refused_before_conversion(source_dtype):
    """With an input that crossent converts first (big-endian, int64, float16), an out=
    partly overlapping the caller's input was checked against the converted copy,
    accepted, and the caller's input overwritten."""
    raw = np.zeros(64, np.uint8)
    src = np.dtype(source_dtype)
    x = raw[: 6 * src.itemsize].view(src)
    x[...] = np.arange(6)
    before = raw.copy()
    res_dtype = np.float32 if src.kind == "f" and src.itemsize == 2 else np.float64
    item = np.dtype(res_dtype).itemsize
    out = raw[item: item + 6 * item].view(res_dtype)  # shifted into x's bytes
    for call in (lambda: crossent.log_expit(x, out=out),
                 lambda: crossent.softmax(x, out=out),
                 lambda: crossent.log_softmax(x, out=out),
                 lambda: crossent.norm_logpdf(x, out=out)):
        with pytest.raises(ValueError, match="out"):
            call()
    out0 = raw[item: 2 * item].view(res_dtype).reshape(())  # a 0-d out inside x's bytes
    with pytest.raises(ValueError, match="out"):
        crossent.logsumexp(x, out=out0)
    np.testing.assert_array_equal(raw, before)


def test_softmax_of_0d_input():
    for axis in (0, -1, None):
        assert crossent.softmax(np.asarray(2.0), axis=axis) == 1.0
        assert crossent.log_softmax(np.asarray(2.0), axis=axis) == 0.0
        # the reference too (a long fuzz run found it refusing axis=0 for a 0-d input)
        assert reference.softmax(np.asarray(2.0), axis=axis) == 1.0
        assert reference.log_softmax(np.asarray(2.0), axis=axis) == 0.0
        assert scipy.special.softmax(np.asarray(2.0), axis=axis) == 1.0
    assert np.asarray(crossent.softmax(np.float32(3.0), axis=0)).dtype == np.float32
    out = np.empty(())
    assert crossent.softmax(np.asarray(-5.0), axis=0, out=out) is out and out == 1.0
    with pytest.raises(np.exceptions.AxisError):
        crossent.softmax(np.asarray(2.0), axis=1)


def test_cross_entropy_infinite_probability_target_is_inf_not_nan():
    """The term e^-709 was flushed to zero and inf * 0 gave NaN; the exact loss is +inf
    (every term t_c (logsumexp - x_c) is inf times a positive number)."""
    for dtype in (np.float64, np.float32):
        x = np.array([0.0, 709.0 if dtype == np.float64 else 88.0], dtype)
        t = np.array([np.inf, np.inf], dtype)
        assert crossent.cross_entropy(x, t) == np.inf
        # across rows (short rows, strided class axis) as well
        xs = np.tile(x, (70, 1))
        ts = np.tile(t, (70, 1))
        assert np.all(crossent.cross_entropy(xs, ts, reduction="none") == np.inf)
        assert np.all(crossent.cross_entropy(xs.T.copy(), ts.T.copy(), axis=0,
                                             reduction="none") == np.inf)
    # the other term far below any subnormal: still inf times a positive number
    x, t = np.array([0.0, 800.0]), np.array([np.inf, np.inf])
    assert crossent.cross_entropy(x, t) == np.inf == reference.cross_entropy(x, t)
    # a single finite entry: the exact factor (logsumexp - x) is 0 there, so inf * 0
    x = np.array([[0.0, -np.inf]])
    assert np.isnan(crossent.cross_entropy(x, np.array([[np.inf, 0.0]])))
    assert np.isnan(reference.cross_entropy(x, np.array([[np.inf, 0.0]])))


def test_logsumexp_python_ints_a_and_b_compute_in_float64():
    """A fuzz finding (tools/fuzz_long.sh 1500): with a and b both Python ints, the
    promoted dtype was int64 (two weak scalars), so the kernel read int64 bits as
    float64 -- logsumexp(0, b=0, return_sign=True) gave (-4503599627370496, 0) and
    without return_sign a ValueError.  Python ints alone compute in float64, as
    SciPy."""
    res, sgn = crossent.logsumexp(0, b=0, return_sign=True)
    assert res.dtype == np.float64 and res == -np.inf and sgn == 0.0
    assert crossent.logsumexp(0, b=0) == -np.inf == scipy.special.logsumexp(0, b=0)
    value = crossent.logsumexp(2, b=3)
    assert value.dtype == np.float64
    assert value == pytest.approx(2.0 + np.log(3.0), rel=1e-15)
    assert value == pytest.approx(scipy.special.logsumexp(2, b=3), rel=1e-15)
    res, sgn = crossent.logsumexp([1, 2], b=-1, return_sign=True)  # int list, int b
    assert res.dtype == np.float64 and sgn == -1.0
    assert res == pytest.approx(reference.logsumexp(np.array([1.0, 2.0]), b=-1.0,
                                                    return_sign=True)[0], rel=1e-15)
