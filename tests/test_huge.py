"""Inputs of more than 2**31 elements, and class indices near the integer limits.

The huge inputs are broadcast views (``np.broadcast_to``: every element at one address,
zero strides), so they cost no memory; the kernels must walk them by strides (a copy
would take 17 GB), count and index with ``Py_ssize_t`` (no 32-bit wrap-around past
2**31 elements), and give the closed-form result: ``logsumexp`` of n equal values is
``x + log(n)``, the cross-entropy of identical rows is that of one row, the Gaussian
NLL of constant arrays is one element's.

Each group of calls runs in a child process whose address space is capped (Linux) a
few GB above what it uses at start, so that a path that copied would fail there with
``MemoryError`` instead of exhausting the machine; the child also reports the peak of
NumPy's allocations (``tracemalloc``), which must stay far below one copy.
"""
import json
import math
import subprocess
import sys
import textwrap
import tracemalloc

import mpmath
import numpy as np
import pytest

import crossent

from _helpers import assert_close_ulps, mp_logsumexp_row

BIG = 2**31 + 5              # elements of the 1-D broadcasts
ROWS, C = 2**24 + 3, 128     # rows x classes: 2**31 + 384 elements
LABEL = 7
NO_COPY_BYTES = 1 << 28      # 256 MiB: far below one copy of any huge input (>= 8 GiB)
CHILD_LIMIT_S = 600          # a hang fails the test instead of blocking the run

CHILD_PRELUDE = textwrap.dedent(
    """
    import json, resource, sys, tracemalloc
    import numpy as np
    import crossent

    # start the OpenMP pool (thread stacks) before capping the address space
    crossent.logsumexp(np.ones(100_000), n_threads=2)
    if sys.platform.startswith("linux"):
        with open("/proc/self/status") as f:
            vm = [int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize")][0]
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = vm + (3 << 30)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))

    def row(dtype):
        return (np.linspace(-3.0, 5.0, 128) ** 2 / 4).astype(dtype)

    results = {}

    def run(name, fn):
        tracemalloc.start()
        try:
            r = fn()
        except MemoryError as exc:
            results[name] = {"error": "MemoryError: " + str(exc)}
            return
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        a = np.asarray(r)
        vals = a.ravel() if a.size <= 1024 else np.unique(a)
        results[name] = {"peak": peak, "shape": list(a.shape), "dtype": str(a.dtype),
                         "values": [float(v).hex() for v in vals.astype(np.float64)]}
    """
)


def _run_child(body):
    """Run the calls of `body` in a capped child; {name: result record}."""
    code = CHILD_PRELUDE + textwrap.dedent(body) + "\nprint(json.dumps(results))\n"
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=CHILD_LIMIT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the huge-input calls did not finish within {CHILD_LIMIT_S} s")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, rec in results.items():
        assert "error" not in rec, f"{name}: {rec['error']} (the input was copied?)"
        assert rec["peak"] < NO_COPY_BYTES, (
            f"{name}: {rec['peak'] / 2**20:.0f} MiB allocated: the broadcast input was copied")
    return results


def _values(rec):
    return np.array([float.fromhex(v) for v in rec["values"]])


def _row(dtype):
    # as row() in the child
    return (np.linspace(-3.0, 5.0, 128) ** 2 / 4).astype(dtype)


def _mp_log(n):
    with mpmath.workdps(50):
        return mpmath.log(n)


# ---------------------------------------------------------------------- logsumexp

def test_logsumexp_huge():
    res = _run_child(
        f"""
        run("full-f64", lambda: crossent.logsumexp(np.broadcast_to(np.float64(-0.75), ({BIG},))))
        rows64 = np.broadcast_to(row(np.float64), ({ROWS}, {C}))
        run("axis1", lambda: crossent.logsumexp(rows64, axis=1))
        run("axis0-f32", lambda: crossent.logsumexp(np.broadcast_to(row(np.float32), ({ROWS}, {C})),
                                                    axis=0))
        run("full-2d", lambda: crossent.logsumexp(rows64))
        run("full-2d-b", lambda: crossent.logsumexp(rows64, b=np.linspace(0.5, 1.5, {C})))
        # integers are converted once per distinct element, not into a 17 GB copy
        run("int-input", lambda: crossent.logsumexp(np.broadcast_to(np.int64(2), ({ROWS}, {C}))))
        """
    )
    log_big = _mp_log(BIG)
    with mpmath.workdps(50):
        exact = float(mpmath.mpf(-0.75) + log_big)
    assert res["full-f64"]["dtype"] == "float64"
    assert_close_ulps(_values(res["full-f64"]), [exact], np.float64, 2, what="full-f64")
    with mpmath.workdps(50):
        exact = float(mpmath.mpf(2) + mpmath.log(ROWS * C))
    assert_close_ulps(_values(res["int-input"]), [exact], np.float64, 2, what="int-input")

    # every row is the same row: one distinct value, logsumexp of the row
    rec = res["axis1"]
    assert rec["shape"] == [ROWS] and len(rec["values"]) == 1
    lse_row = mp_logsumexp_row(_row(np.float64))
    assert_close_ulps(_values(rec), [float(lse_row)], np.float64, 2, what="axis=1")

    # every column holds ROWS copies of one value: x_j + log(ROWS)
    rec = res["axis0-f32"]
    assert rec["shape"] == [C] and rec["dtype"] == "float32"
    with mpmath.workdps(50):
        exact = [float(mpmath.mpf(float(v)) + mpmath.log(ROWS)) for v in _row(np.float32)]
    assert_close_ulps(_values(rec), exact, np.float32, 2, scale=np.abs(exact), what="axis=0")

    # all of it: logsumexp of the row + log(ROWS); with weights b: the weighted row's
    with mpmath.workdps(50):
        exact = float(lse_row + mpmath.log(ROWS))
        b = np.linspace(0.5, 1.5, C)
        exact_b = float(mpmath.log(sum(mpmath.mpf(float(bi)) * mpmath.exp(mpmath.mpf(float(xi)))
                                       for bi, xi in zip(b, _row(np.float64))))
                        + mpmath.log(ROWS))
    assert_close_ulps(_values(res["full-2d"]), [exact], np.float64, 2, what="full 2-D")
    assert_close_ulps(_values(res["full-2d-b"]), [exact_b], np.float64, 2, what="full 2-D, b")


# ------------------------------------------------------------------ cross-entropy

def _mp_ce_row(row, label):
    with mpmath.workdps(50):
        return mp_logsumexp_row(row) - mpmath.mpf(float(row[label]))


def test_cross_entropy_huge():
    res = _run_child(
        f"""
        x = np.broadcast_to(row(np.float64), ({ROWS}, {C}))
        y = np.broadcast_to(np.int64({LABEL}), ({ROWS},))
        run("mean-f64", lambda: crossent.cross_entropy(x, y))
        x32 = np.broadcast_to(row(np.float32), ({ROWS}, {C}))
        y32 = np.broadcast_to(np.uint32({LABEL}), ({ROWS},))
        run("sum-f32", lambda: crossent.cross_entropy(x32, y32, reduction="sum"))
        run("nll-sum", lambda: crossent.nll_loss(x, y32, reduction="sum"))
        # a class index past 2**31 (the class axis itself has 2**31 + 10 entries)
        wide = np.broadcast_to(np.float64(0.25), (1, 2**31 + 10))
        run("wide-row", lambda: crossent.cross_entropy(wide, np.array([2**31 + 3])))
        run("wide-row-nll", lambda: crossent.nll_loss(wide, np.array([2**31 + 3])))
        """
    )
    rec = res["mean-f64"]
    assert rec["dtype"] == "float64" and rec["shape"] == []
    # a mean over ROWS terms: 2 ulp plus the pairwise sum's log2(ROWS)
    assert_close_ulps(_values(rec), [float(_mp_ce_row(_row(np.float64), LABEL))], np.float64,
                      2 + math.log2(ROWS), scale=float(mp_logsumexp_row(_row(np.float64))),
                      what="mean")
    rec = res["sum-f32"]
    assert rec["dtype"] == "float32" and rec["shape"] == []
    assert_close_ulps(_values(rec), [float(_mp_ce_row(_row(np.float32), LABEL) * ROWS)],
                      np.float32, 2 + math.log2(ROWS), what="sum")
    with mpmath.workdps(50):
        exact = -mpmath.mpf(float(_row(np.float64)[LABEL])) * ROWS
    assert_close_ulps(_values(res["nll-sum"]), [float(exact)], np.float64, 2 + math.log2(ROWS),
                      what="nll_loss sum")
    assert_close_ulps(_values(res["wide-row"]), [float(_mp_log(2**31 + 10))], np.float64, 2,
                      what="2**31 classes")
    assert _values(res["wide-row-nll"])[0] == -0.25


# ------------------------------------------------------------------ Gaussian NLL

def test_gaussian_nll_loss_huge():
    res = _run_child(
        f"""
        x = np.broadcast_to(np.float64(1.5), ({BIG},))
        t = np.broadcast_to(np.float64(0.25), ({BIG},))
        v = np.broadcast_to(np.float64(2.0), ({BIG},))
        run("mean-var-array", lambda: crossent.gaussian_nll_loss(x, t, v))
        x32 = np.broadcast_to(np.float32(1.5), ({ROWS}, {C}))
        t32 = np.broadcast_to(np.float32(0.25), ({ROWS}, {C}))
        v32 = np.broadcast_to(np.float32(2.0), ({ROWS},))
        run("sum-full-f32-var-rows", lambda: crossent.gaussian_nll_loss(
            x32, t32, v32, full=True, reduction="sum"))
        """
    )
    with mpmath.workdps(50):
        r2 = (mpmath.mpf(1.5) - mpmath.mpf(0.25)) ** 2
        elem = (mpmath.log(2) + r2 / 2) / 2
        full = elem + mpmath.log(2 * mpmath.pi) / 2
    assert_close_ulps(_values(res["mean-var-array"]), [float(elem)], np.float64,
                      2 + math.log2(BIG), what="mean")
    rec = res["sum-full-f32-var-rows"]
    assert rec["dtype"] == "float32"
    assert_close_ulps(_values(rec), [float(full * ROWS * C)], np.float32, 2 + math.log2(ROWS * C),
                      what="sum f32, full")


# ------------------------------------------------------- no copies of broadcasts

def _broadcast_calls():
    """Reductions and losses over broadcast operands (2**22 elements): none may copy."""
    m, c = 2**15, 128
    rng = np.random.default_rng(3)
    row = rng.normal(size=c)
    x = np.broadcast_to(row, (m, c))
    t = np.broadcast_to(rng.uniform(size=c), (m, c))
    v = np.broadcast_to(np.float64(1.5), (m, c))
    lab = np.broadcast_to(np.int64(3), (m,))
    cr = crossent
    return {
        "logsumexp-full": lambda: cr.logsumexp(x),
        "logsumexp-axis0": lambda: cr.logsumexp(x, axis=0),
        "logsumexp-tuple": lambda: cr.logsumexp(np.broadcast_to(row, (4, m // 4, c)), axis=(0, 2)),
        "logsumexp-b": lambda: cr.logsumexp(x, b=t),
        "logsumexp-b-axis0": lambda: cr.logsumexp(x, b=t, axis=0, return_sign=True),
        "logsumexp-int": lambda: cr.logsumexp(np.broadcast_to(np.arange(c), (m, c)), axis=1),
        "cross_entropy": lambda: cr.cross_entropy(x, lab),
        "cross_entropy-int-logits": lambda: cr.cross_entropy(np.broadcast_to(np.arange(c), (m, c)), lab),
        "cross_entropy-probs": lambda: cr.cross_entropy(x, t, reduction="sum"),
        "cross_entropy-weight-smooth": lambda: cr.cross_entropy(x, lab, np.ones(c), label_smoothing=0.1),
        "nll_loss": lambda: cr.nll_loss(x, lab),
        "bce": lambda: cr.binary_cross_entropy_with_logits(x, t, weight=v, pos_weight=row),
        "kl_div": lambda: cr.kl_div(x, t),
        "mse_loss": lambda: cr.mse_loss(x, t),
        "gaussian_nll_loss": lambda: cr.gaussian_nll_loss(x, t, v),
        "poisson_nll_loss": lambda: cr.poisson_nll_loss(x, t, reduction="sum"),
        "gaussian_nll-var": lambda: cr.gaussian_nll(x, t, v),
        "gaussian_nll-log_var": lambda: cr.gaussian_nll(x, t, log_var=v),
        "gaussian_nll-std": lambda: cr.gaussian_nll(x, t, std=1.5),
        "gaussian_nll-profiled": lambda: cr.gaussian_nll(x, t),
    }, x.size * 8


@pytest.mark.parametrize("case", list(_broadcast_calls()[0]))
def test_broadcast_inputs_are_not_copied(case):
    calls, copy_bytes = _broadcast_calls()
    call = calls[case]
    want = call()  # first call outside the measurement (lazy initialisations)
    tracemalloc.start()
    try:
        got = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < copy_bytes // 16, f"{case}: {peak} bytes allocated (one copy: {copy_bytes})"
    assert np.array_equal(np.asarray(got), np.asarray(want))


def test_broadcast_reductions_exact():
    """Reduced dims along which a broadcast does not move (stride 0) are walked once and
    counted: the closed forms, to 2 ulp, also with weights and signs."""
    rng = np.random.default_rng(3)
    row = rng.normal(size=128)
    w = rng.uniform(0.1, 1.0, size=128)
    m = 2**15
    x = np.broadcast_to(row, (m, 128))
    with mpmath.workdps(50):
        terms = [mpmath.exp(mpmath.mpf(float(v))) for v in row]
        lse_row = mpmath.log(sum(terms))
        lse_w = mpmath.log(sum(mpmath.mpf(float(b)) * t for b, t in zip(w, terms)))
        cases = [
            (crossent.logsumexp(x), lse_row + mpmath.log(m)),
            (crossent.logsumexp(x.astype(np.float32)), lse_row + mpmath.log(m)),
            (crossent.logsumexp(x, b=np.broadcast_to(w, x.shape)), lse_w + mpmath.log(m)),
            (crossent.logsumexp(x, b=w, axis=(1, 0)), lse_w + mpmath.log(m)),
        ]
        got, sign = crossent.logsumexp(x, b=np.broadcast_to(-w, x.shape), return_sign=True)
        assert sign == -1.0
        cases.append((got, lse_w + mpmath.log(m)))
        got = crossent.logsumexp(np.broadcast_to(row, (4, 2**13, 128)), axis=(0, 2))
        assert got.shape == (2**13,) and np.unique(got).size == 1
        cases.append((got[0], lse_row + mpmath.log(4)))
    for i, (got, exact) in enumerate(cases):
        dt = np.asarray(got).dtype
        assert_close_ulps(np.asarray([got]), [float(exact)], dt, 2, what=f"case {i}")
    # special values keep SciPy's meaning when repeated
    for v, want in ((np.inf, np.inf), (np.nan, np.nan)):
        r = row.copy()
        r[5] = v
        assert_close_ulps([crossent.logsumexp(np.broadcast_to(r, (m, 128)))], [want], np.float64, 0)
    assert crossent.logsumexp(np.broadcast_to(np.full(128, -np.inf), (m, 128))) == -np.inf


# ------------------------------------------------------------ labels at the limits

@pytest.mark.parametrize("func", [crossent.cross_entropy, crossent.nll_loss])
@pytest.mark.parametrize("dtype, value", [
    (np.int64, 2**31), (np.int64, 2**32 + 1),  # 2**32 + 1 wraps to the valid 1 in 32 bits
    (np.int64, 2**63 - 1), (np.int64, -2**63), (np.int32, 2**31 - 1), (np.int32, -2**31),
    (np.uint32, 2**32 - 1), (np.uint64, 2**63), (np.uint64, 2**64 - 1), (np.uint64, 2**32 + 2),
])
def test_labels_near_integer_limits_are_refused(func, dtype, value):
    x = np.zeros((3, 10))
    y = np.array([0, 1, value], dtype=dtype)
    with pytest.raises(crossent.LabelError, match=str(value)):
        func(x, y)
    with pytest.raises(crossent.LabelError):
        func(x, y, return_grad=True, reduction="none")


def test_ignore_index_at_the_int64_limits():
    x = np.random.default_rng(4).normal(size=(3, 10))
    want = float(crossent.cross_entropy(x[:2], np.array([4, 9])))
    y = np.array([4, 9, 2**63 - 1], dtype=np.int64)
    assert float(crossent.cross_entropy(x, y, ignore_index=2**63 - 1)) == want
    y = np.array([4, 9, -2**63], dtype=np.int64)
    assert float(crossent.cross_entropy(x, y, ignore_index=-2**63)) == want
    # an ignore_index outside int64 matches no label: the label is out of range
    y = np.array([4, 9, 2**64 - 1], dtype=np.uint64)
    with pytest.raises(crossent.LabelError, match="18446744073709551615"):
        crossent.cross_entropy(x, y, ignore_index=2**64 - 1)
    with pytest.raises(crossent.LabelError):
        crossent.nll_loss(x, y, ignore_index=2**70)
