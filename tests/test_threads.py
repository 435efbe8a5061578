"""Threads: bitwise determinism across ``n_threads``, concurrent Python threads, and the
GIL released while a kernel runs (API.md "Common conventions").

Nothing here measures durations: the GIL test is a handshake bounded by an iteration
count, the stress test by a fixed number of calls.
"""
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import pytest

import crossent

from _helpers import F32, gil_handshake, inputs_unchanged, same_bits

THREAD_COUNTS = (2, 3, 7)

# (id, shape, axis): every kernel path — a long row (chunked), wide rows, many short rows
# (reduced axis short: vectorised across rows), axis 0 of a C array (strided reduced
# axis), a middle axis of a 4-D array, collapsible and non-collapsible tuple axes.
SHAPES = [
    ("long-1d", (1_200_003,), 0),
    ("wide-rows", (4096, 3000), 1),
    ("many-short-rows", (200_000, 10), 1),
    ("axis0", (1000, 1000), 0),
    ("4d-axis1", (8, 21, 64, 64), 1),
    ("4d-tuple-trailing", (8, 21, 64, 64), (2, 3)),
    ("4d-tuple-split", (8, 21, 64, 64), (0, 2)),
]


@lru_cache(maxsize=1)
def _data(shape, dtype_name):
    rng = np.random.default_rng(zlib.crc32(repr((shape, dtype_name)).encode()))
    x = rng.normal(size=shape) * 15.0 + rng.uniform(-50, 50, size=shape[-1:])
    return x.astype(dtype_name)


def _calls(x, axis, first_of_shape):
    """(label, callable(n_threads)) for every primitive on ``x``."""
    calls = [
        ("logsumexp", lambda nt: crossent.logsumexp(x, axis=axis, n_threads=nt)),
        ("logsumexp-keepdims", lambda nt: crossent.logsumexp(x, axis=axis, keepdims=True, n_threads=nt)),
        ("logsumexp-full", lambda nt: crossent.logsumexp(x, n_threads=nt)),
        ("softmax", lambda nt: crossent.softmax(x, axis=axis, n_threads=nt)),
        ("log_softmax", lambda nt: crossent.log_softmax(x, axis=axis, n_threads=nt)),
    ]
    if first_of_shape:
        b = np.abs(np.sin(np.arange(x.shape[-1], dtype=x.dtype))) - 0.25
        loc = np.linspace(-1, 1, x.shape[-1]).astype(x.dtype)
        calls += [
            ("logsumexp-signed-b", lambda nt: crossent.logsumexp(x, axis=axis, b=b, return_sign=True, n_threads=nt)),
            ("log_expit", lambda nt: crossent.log_expit(x, n_threads=nt)),
            ("norm_logpdf", lambda nt: crossent.norm_logpdf(x, 0.3, 1.7, n_threads=nt)),
            ("norm_logpdf-broadcast", lambda nt: crossent.norm_logpdf(x, loc, 2.5, n_threads=nt)),
            ("log_softmax-full", lambda nt: crossent.log_softmax(x, n_threads=nt)),
        ]
    return calls


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case, shape, axis", SHAPES, ids=[s[0] for s in SHAPES])
def test_bitwise_identical_across_n_threads(case, shape, axis, dtype):
    x = _data(shape, dtype)
    first_of_shape = case in ("long-1d", "wide-rows", "many-short-rows", "axis0", "4d-axis1")
    failures = []
    with inputs_unchanged(x):
        for label, call in _calls(x, axis, first_of_shape):
            serial = call(1)
            assert np.asarray(serial if not isinstance(serial, tuple) else serial[0]).dtype == dtype
            for nt in THREAD_COUNTS + (None,):
                if not same_bits(call(nt), serial):
                    failures.append(f"{label} n_threads={nt}")
            del serial
    assert not failures, f"{case} {dtype}: results differ from n_threads=1 for {failures}"


def test_bitwise_identical_with_out_and_views():
    """out= and strided/negative-stride inputs keep bitwise determinism too."""
    base = _data((1000, 1000), "float64")
    x = base[::-1, ::3]
    failures = []
    for name in ("softmax", "log_softmax"):
        fn = getattr(crossent, name)
        for axis in (0, 1):
            serial = fn(x, axis=axis, n_threads=1)
            for nt in THREAD_COUNTS:
                out = np.empty_like(serial)
                fn(x, axis=axis, out=out, n_threads=nt)
                if not same_bits(out, serial):
                    failures.append(f"{name} axis={axis} n_threads={nt}")
    serial = crossent.logsumexp(x, axis=0, n_threads=1)
    for nt in THREAD_COUNTS:
        out = np.empty_like(serial)
        crossent.logsumexp(x, axis=0, out=out, n_threads=nt)
        if not same_bits(out, serial):
            failures.append(f"logsumexp axis=0 out= n_threads={nt}")
    assert not failures, failures


def test_threadpoolctl_limits_keep_results():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    x = _data((4096, 3000), "float32")[:1024]
    want = crossent.log_softmax(x, axis=1, n_threads=1)
    for limit in (1, 2, 5):
        with threadpoolctl.threadpool_limits(limits=limit):
            got = crossent.log_softmax(x, axis=1)
        assert same_bits(got, want), f"threadpool_limits({limit}) changed the result"


# ------------------------------------------------------------------ concurrency

N_PY_THREADS = 8
CALLS_PER_THREAD = 24


def _concurrent_tasks():
    rng = np.random.default_rng(2024)
    x64 = rng.normal(size=(300, 700)) * 20
    x32 = x64.astype(F32)
    v = rng.normal(size=200_000) * 5
    b = rng.uniform(-0.5, 1.0, size=(700,))
    for arr in (x64, x32, v, b):
        arr.flags.writeable = False  # shared between threads, read-only
    tasks = [
        (crossent.logsumexp, (x64,), dict(axis=1)),
        (crossent.logsumexp, (x32,), dict(axis=0)),
        (crossent.logsumexp, (v,), {}),
        (crossent.logsumexp, (x64,), dict(axis=1, b=b, return_sign=True)),
        (crossent.softmax, (x64,), dict(axis=1)),
        (crossent.softmax, (x32[::-1, ::2],), dict(axis=0)),
        (crossent.log_softmax, (x32,), dict(axis=1)),
        (crossent.log_softmax, (v,), {}),
        (crossent.log_expit, (x64.T,), {}),
        (crossent.norm_logpdf, (x32, 0.5, 3.0), {}),
    ]
    return tasks, (x64, x32, v, b)


def test_concurrent_python_threads():
    tasks, shared = _concurrent_tasks()
    expected = [fn(*args, n_threads=1, **kw) for fn, args, kw in tasks]

    def worker(tid):
        bad = []
        for it in range(CALLS_PER_THREAD):
            k = (tid * 7 + it) % len(tasks)
            fn, args, kw = tasks[k]
            nt = (1, 2, None, 3)[(tid + it) % 4]
            want = expected[k]
            if it % 3 == 0 and not isinstance(want, tuple):
                out = np.empty_like(np.asarray(want))
                res = fn(*args, n_threads=nt, out=out, **kw)
                ok = same_bits(out, want) and same_bits(np.asarray(res), np.asarray(want))
            else:
                ok = same_bits(fn(*args, n_threads=nt, **kw), want)
            if not ok:
                bad.append((tid, it, fn.__name__, kw, nt))
        return bad

    with inputs_unchanged(*shared):
        with ThreadPoolExecutor(max_workers=N_PY_THREADS) as ex:
            results = list(ex.map(worker, range(N_PY_THREADS)))
    failures = [f for r in results for f in r]
    assert not failures, f"concurrent results differ from serial ones: {failures[:10]}"


# ------------------------------------------------------------------ GIL

MAX_KERNEL_CALLS = 2000


def _gil_cases():
    x = np.random.default_rng(7).normal(size=1_000_000) * 10
    out = np.empty_like(x)
    m = x.reshape(1000, 1000)
    return {
        "logsumexp": lambda nt: crossent.logsumexp(x, n_threads=nt),
        "logsumexp-rows": lambda nt: crossent.logsumexp(m, axis=1, n_threads=nt),
        "softmax": lambda nt: crossent.softmax(x, out=out, n_threads=nt),
        "log_softmax": lambda nt: crossent.log_softmax(m, axis=0, n_threads=nt),
        "log_expit": lambda nt: crossent.log_expit(x, out=out, n_threads=nt),
        "norm_logpdf": lambda nt: crossent.norm_logpdf(x, 1.0, 2.0, out=out, n_threads=nt),
    }


@pytest.mark.skipif(hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled(),
                    reason="no GIL in this interpreter")
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("case", list(_gil_cases()))
def test_gil_released_during_kernel(case, n_threads):
    """Handshake: a Python thread that can only run if the GIL is free gets to run while
    the kernel thread is in a loop of kernel calls.

    With a huge switch interval the interpreter never takes the GIL away from the kernel
    thread; the other thread can get it only when the kernel thread gives it up itself,
    i.e. inside a kernel call. If the kernels held the GIL, the other thread would run
    only after all MAX_KERNEL_CALLS calls; with the GIL released it runs during the first
    call(s) and the loop stops early. Bounded by the iteration count, not by a clock.
    """
    call = _gil_cases()[case]
    call(n_threads)  # warm up: first-call initialisation (imports, OpenMP pool) done here
    calls = gil_handshake(call, n_threads, MAX_KERNEL_CALLS)
    assert calls < MAX_KERNEL_CALLS, (
        f"{case}: the other Python thread ran only after {calls} kernel calls: "
        "the GIL is not released while the kernel runs"
    )
