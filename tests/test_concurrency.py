"""Concurrency beyond tests/test_threads.py: every kernel family under many Python
threads, nested OpenMP regions from a downstream extension, fork() after the OpenMP
pool has started, and the GIL handshake for the loss families.

Bounded by iteration counts, never by a clock; every wait that could hang has a
generous limit whose expiry fails the test instead of hanging the run.
"""
import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest

import crossent
from crossent import reference

from _helpers import F32, build_extension, gil_handshake, inputs_unchanged, same_bits

N_PY_THREADS = 16
CALLS_PER_THREAD = 12
NT_CYCLE = (1, 2, 3, None)
JOIN_LIMIT_S = 900.0  # a deadlock fails the test after this long; normal runs take seconds


def _shared_inputs():
    """Read-only inputs shared by all threads, each large enough (>= 32768 elements)
    for the kernels to use an OpenMP team when asked for more than one thread."""
    rng = np.random.default_rng(1234)
    x64 = rng.normal(size=(240, 500)) * 12
    x32 = x64.astype(F32)
    labels = rng.integers(0, 500, size=240)
    labels[::17] = -100  # ignored rows
    img = rng.normal(size=(4, 7, 48, 40)) * 3  # (N, C, H, W): the class axis is strided
    img_labels = rng.integers(0, 7, size=(4, 48, 40)).astype(np.int32)
    probs = reference.softmax(rng.normal(size=(240, 500)), axis=1)
    t01 = rng.uniform(size=(240, 500))
    cw = rng.uniform(0.5, 2.0, size=500)
    pw = rng.uniform(0.5, 2.0, size=500)
    var_col = rng.uniform(0.1, 3.0, size=(240, 1))
    log_var = rng.normal(size=500)
    counts = rng.poisson(3.0, size=(240, 500)).astype(np.float64)
    v = rng.normal(size=150_000) * 4
    b = rng.uniform(-0.5, 1.0, size=500)
    arrays = dict(x64=x64, x32=x32, labels=labels, img=img, img_labels=img_labels,
                  probs=probs, t01=t01, cw=cw, pw=pw, var_col=var_col, log_var=log_var,
                  counts=counts, v=v, b=b)
    for arr in arrays.values():
        arr.flags.writeable = False
    return arrays


def _mixed_tasks(a):
    """(name, callable(n_threads)) over every kernel family, gradients included."""
    c = crossent
    return [
        ("logsumexp-rows", lambda nt: c.logsumexp(a["x64"], axis=1, n_threads=nt)),
        ("logsumexp-cols-f32", lambda nt: c.logsumexp(a["x32"], axis=0, n_threads=nt)),
        ("logsumexp-long", lambda nt: c.logsumexp(a["v"], n_threads=nt)),
        ("logsumexp-b-sign", lambda nt: c.logsumexp(a["x64"], axis=1, b=a["b"], return_sign=True,
                                                    n_threads=nt)),
        ("softmax", lambda nt: c.softmax(a["x32"], axis=1, n_threads=nt)),
        ("log_softmax", lambda nt: c.log_softmax(a["x64"], axis=0, n_threads=nt)),
        ("log_expit", lambda nt: c.log_expit(a["x64"].T, n_threads=nt)),
        ("norm_logpdf", lambda nt: c.norm_logpdf(a["x32"], 0.5, 2.0, n_threads=nt)),
        ("cross_entropy-grad", lambda nt: c.cross_entropy(a["x64"], a["labels"], a["cw"],
                                                          return_grad=True, n_threads=nt)),
        ("cross_entropy-smooth-f32", lambda nt: c.cross_entropy(
            a["x32"], a["labels"], label_smoothing=0.1, reduction="sum", return_grad=True,
            n_threads=nt)),
        ("cross_entropy-probs", lambda nt: c.cross_entropy(a["x64"], a["probs"], return_grad=True,
                                                           n_threads=nt)),
        ("cross_entropy-nchw", lambda nt: c.cross_entropy(a["img"], a["img_labels"],
                                                          reduction="none", return_grad=True,
                                                          n_threads=nt)),
        ("nll_loss", lambda nt: c.nll_loss(a["x64"], a["labels"], return_grad=True, n_threads=nt)),
        ("bce", lambda nt: c.binary_cross_entropy_with_logits(
            a["x64"], a["t01"], pos_weight=a["pw"], return_grad=True, n_threads=nt)),
        ("kl_div", lambda nt: c.kl_div(a["x64"], a["probs"], reduction="batchmean",
                                       return_grad=True, n_threads=nt)),
        ("mse_loss", lambda nt: c.mse_loss(a["x32"], a["t01"], return_grad=True, n_threads=nt)),
        ("gaussian_nll_loss", lambda nt: c.gaussian_nll_loss(
            a["x64"], a["t01"], a["var_col"], return_grad=True, n_threads=nt)),
        ("poisson_nll_loss", lambda nt: c.poisson_nll_loss(a["x64"] / 10, a["counts"],
                                                           return_grad=True, n_threads=nt)),
        ("gaussian_nll-log_var", lambda nt: c.gaussian_nll(
            a["x64"], a["t01"], log_var=a["log_var"], return_grad=True, n_threads=nt)),
        ("gaussian_nll-profiled", lambda nt: c.gaussian_nll(a["x32"], a["t01"], return_grad=True,
                                                            n_threads=nt)),
    ]


def _run_threads(target, n, limit=JOIN_LIMIT_S):
    """Run target(i) in n daemon threads; fail (not hang) if one does not finish."""
    errors = []

    def wrapped(i):
        try:
            target(i)
        except BaseException as exc:  # reported by the main thread
            errors.append((i, repr(exc)))

    threads = [threading.Thread(target=wrapped, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(limit)
    alive = [i for i, t in enumerate(threads) if t.is_alive()]
    assert not alive, f"threads {alive} still running after {limit:.0f} s: deadlock"
    assert not errors, f"exceptions in threads: {errors[:5]}"


def test_stress_mixed_kernels_many_threads():
    """16 Python threads, every family, n_threads cycling over 1, 2, 3, None:
    each result bitwise equal to the serial one computed up front."""
    arrays = _shared_inputs()
    tasks = _mixed_tasks(arrays)
    expected = [call(1) for _, call in tasks]
    failures = []

    def worker(tid):
        for it in range(CALLS_PER_THREAD):
            k = (tid * 5 + it * 3) % len(tasks)
            nt = NT_CYCLE[(tid + it) % len(NT_CYCLE)]
            if not same_bits(tasks[k][1](nt), expected[k]):
                failures.append((tasks[k][0], nt, tid, it))

    with inputs_unchanged(*arrays.values()):
        _run_threads(worker, N_PY_THREADS)
    assert not failures, f"concurrent results differ from serial ones: {failures[:10]}"
    # every task ran at least once (so the loop above covers every family)
    ran = {(tid * 5 + it * 3) % len(tasks) for tid in range(N_PY_THREADS)
           for it in range(CALLS_PER_THREAD)}
    assert ran == set(range(len(tasks)))


def test_stress_shared_out_buffers_per_thread():
    """Each thread owns its out= buffers while all read one input: no cross-talk."""
    x = np.random.default_rng(5).normal(size=(400, 300)) * 9
    x.flags.writeable = False
    want = {
        "softmax": crossent.softmax(x, axis=1, n_threads=1),
        "log_softmax": crossent.log_softmax(x, axis=0, n_threads=1),
        "log_expit": crossent.log_expit(x, n_threads=1),
        "logsumexp": crossent.logsumexp(x, axis=1, n_threads=1),
    }
    failures = []

    def worker(tid):
        outs = {k: np.full_like(v, np.nan) for k, v in want.items()}
        for it in range(8):
            nt = NT_CYCLE[(tid + it) % len(NT_CYCLE)]
            crossent.softmax(x, axis=1, out=outs["softmax"], n_threads=nt)
            crossent.log_softmax(x, axis=0, out=outs["log_softmax"], n_threads=nt)
            crossent.log_expit(x, out=outs["log_expit"], n_threads=nt)
            crossent.logsumexp(x, axis=1, out=outs["logsumexp"], n_threads=nt)
            for k in want:
                if not same_bits(outs[k], want[k]):
                    failures.append((k, tid, it, nt))
                outs[k].fill(np.nan)

    with inputs_unchanged(x):
        _run_threads(worker, N_PY_THREADS)
    assert not failures, failures[:10]


# ----------------------------------------------------------------- nested OpenMP

NESTED_PYX = textwrap.dedent(
    """
    # cython: language_level=3, boundscheck=False, wraparound=False
    from cython.parallel cimport prange
    from crossent cimport kernels
    import numpy as np
    import crossent

    def rows_serial(const double[:, :] x):
        cdef Py_ssize_t i
        out = np.empty(x.shape[0])
        cdef double[:] o = out
        for i in range(x.shape[0]):
            o[i] = kernels.logsumexp_f64(&x[i, 0], x.shape[1], x.strides[1] // 8)
        return out

    def rows_cimport_in_prange(const double[:, :] x):
        # (a) the cimported row kernel called from the threads of a parallel region
        cdef Py_ssize_t i
        out = np.empty(x.shape[0])
        cdef double[:] o = out
        with nogil:
            for i in prange(x.shape[0], num_threads=4, schedule="static", chunksize=1):
                o[i] = kernels.logsumexp_f64(&x[i, 0], x.shape[1], x.strides[1] // 8)
        return out

    def rows_python_in_prange(x, inner_threads):
        # (b) each thread takes the GIL and calls the Python API, which opens a
        # parallel region of its own (nested inside this one)
        cdef Py_ssize_t i, n = x.shape[0]
        out = np.empty(n)
        with nogil:
            for i in prange(n, num_threads=4, schedule="static", chunksize=1):
                with gil:
                    out[i] = crossent.logsumexp(x[i], n_threads=inner_threads)
        return out
    """
)

NESTED_SETUP = textwrap.dedent(
    """
    import sys
    from setuptools import setup, Extension
    from setuptools.command.build_ext import build_ext
    from Cython.Build import cythonize
    import numpy

    OPENMP = sys.argv.pop() == "1"

    class BuildExt(build_ext):
        def build_extensions(self):
            kind = self.compiler.compiler_type
            if not OPENMP:
                cflags, lflags = [], []
            elif kind == "msvc":
                cflags, lflags = ["/openmp"], []
            elif sys.platform == "darwin":
                cflags, lflags = ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
            else:
                cflags, lflags = ["-fopenmp"], ["-fopenmp"]
            for ext in self.extensions:
                ext.extra_compile_args += cflags
                ext.extra_link_args += lflags
            super().build_extensions()

    setup(
        ext_modules=cythonize(
            [Extension("nested_omp", ["nested_omp.pyx"], include_dirs=[numpy.get_include()])],
            include_path=[sys.argv.pop()],
            quiet=True,
        ),
        cmdclass={"build_ext": BuildExt},
        script_args=["build_ext", "--inplace"],
    )
    """
)


@pytest.fixture(scope="module")
def nested_ext(tmp_path_factory):
    """A downstream extension with OpenMP regions that call crossent (built once)."""
    pytest.importorskip("Cython")
    from crossent._common import _config

    folder = tmp_path_factory.mktemp("nested_omp")
    package_parent = os.path.dirname(os.path.dirname(crossent.__file__))
    use_omp = "1" if _config()["openmp"] else "0"
    nested_omp = build_extension(
        folder, "nested_omp", {"nested_omp.pyx": NESTED_PYX, "setup.py": NESTED_SETUP},
        [package_parent, use_omp])
    return folder, nested_omp


def _nested_data():
    # rows of 40,000 > the serial threshold: the inner call asks for a team of its own
    x = np.random.default_rng(77).normal(size=(12, 40_000)) * 20
    x[3, :5] = 700.0  # a row whose exponentials overflow without the max shift
    return x


def test_nested_cimported_kernel_in_prange(nested_ext):
    _, mod = nested_ext
    x = _nested_data()
    want = mod.rows_serial(x)
    got = _in_thread(lambda: mod.rows_cimport_in_prange(x))
    assert same_bits(got, want)
    np.testing.assert_allclose(got, reference.logsumexp(x, axis=1), rtol=1e-14)


@pytest.mark.parametrize("inner_threads", [2, None])
def test_nested_python_api_in_prange(nested_ext, inner_threads):
    _, mod = nested_ext
    x = _nested_data()
    want = np.array([crossent.logsumexp(row, n_threads=1) for row in x])
    got = _in_thread(lambda: mod.rows_python_in_prange(x, inner_threads))
    assert same_bits(got, want)
    np.testing.assert_allclose(got, reference.logsumexp(x, axis=1), rtol=1e-14)


def test_nested_regions_active(nested_ext):
    """The same with nested parallelism switched on (OMP_MAX_ACTIVE_LEVELS=2): the inner
    calls really start teams inside the outer team; in a fresh process so that the
    setting takes effect at the runtime's start."""
    folder, _ = nested_ext
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        sys.path.insert(0, sys.argv[1])
        import crossent, nested_omp
        x = np.random.default_rng(77).normal(size=(12, 40_000)) * 20
        want = np.array([crossent.logsumexp(row, n_threads=1) for row in x])
        for _ in range(3):
            a = nested_omp.rows_python_in_prange(x, 2)
            b = nested_omp.rows_cimport_in_prange(x)
            assert a.tobytes() == want.tobytes(), (a, want)
            assert b.tobytes() == nested_omp.rows_serial(x).tobytes()
        print("nested ok")
        """
    )
    env = dict(os.environ, OMP_MAX_ACTIVE_LEVELS="2", OMP_NUM_THREADS="4,2")
    try:
        proc = subprocess.run([sys.executable, "-c", script, str(folder)], env=env,
                              capture_output=True, text=True, timeout=JOIN_LIMIT_S)
    except subprocess.TimeoutExpired:
        pytest.fail("nested parallel regions did not finish: deadlock")
    assert proc.returncode == 0 and "nested ok" in proc.stdout, proc.stdout + proc.stderr


def _in_thread(fn):
    """fn() in a daemon thread, so that a deadlock fails the test instead of hanging it."""
    box = []
    _run_threads(lambda _: box.append(fn()), 1)
    return box[0]


# ------------------------------------------------------------------------ fork

def _fork_cases():
    """(name, callable(n_threads)) reaching every parallel loop of the extension."""
    rng = np.random.default_rng(99)
    x = rng.normal(size=(300, 400)) * 8
    v = rng.normal(size=400_000) * 3
    labels = rng.integers(0, 400, size=300)
    img = rng.normal(size=(2, 5, 80, 90))
    img_labels = rng.integers(0, 5, size=(2, 80, 90))
    t = rng.uniform(size=x.shape)
    var = rng.uniform(0.5, 2.0, size=(300, 1))
    c = crossent
    return [
        ("logsumexp-long", lambda nt: c.logsumexp(v, n_threads=nt)),
        ("logsumexp-rows", lambda nt: c.logsumexp(x, axis=1, n_threads=nt)),
        ("logsumexp-cols", lambda nt: c.logsumexp(x, axis=0, n_threads=nt)),
        ("logsumexp-b", lambda nt: c.logsumexp(x, axis=1, b=t, n_threads=nt)),
        ("log_softmax-long", lambda nt: c.log_softmax(v, n_threads=nt)[::997]),
        ("softmax-rows", lambda nt: c.softmax(x, axis=1, n_threads=nt)[::7]),
        ("log_expit", lambda nt: c.log_expit(v, n_threads=nt)[::997]),
        ("norm_logpdf", lambda nt: c.norm_logpdf(v, 0.5, 2.0, n_threads=nt)[::997]),
        ("cross_entropy-rows", lambda nt: c.cross_entropy(x, labels, return_grad=True,
                                                          n_threads=nt)[0]),
        ("cross_entropy-nchw", lambda nt: c.cross_entropy(img, img_labels, n_threads=nt)),
        ("nll_loss", lambda nt: c.nll_loss(x, labels, n_threads=nt)),
        ("bce", lambda nt: c.binary_cross_entropy_with_logits(x, t, n_threads=nt)),
        ("kl_div", lambda nt: c.kl_div(x, t, n_threads=nt)),
        ("mse_loss", lambda nt: c.mse_loss(x, t, n_threads=nt)),
        ("gaussian_nll_loss", lambda nt: c.gaussian_nll_loss(x, t, var, return_grad=True,
                                                             n_threads=nt)[2]),
        ("gaussian_nll", lambda nt: c.gaussian_nll(x, t, n_threads=nt)),
    ]


def _fork_child(conn, nts):
    # runs in the forked child: every case for every n_threads, results sent back
    try:
        results = {}
        for name, call in _fork_cases():
            for nt in nts:
                results[(name, nt)] = np.asarray(call(nt))
        conn.send(("ok", results))
    except BaseException as exc:
        conn.send(("error", repr(exc)))
    finally:
        conn.close()


def _run_forked(nts, limit=JOIN_LIMIT_S):
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    with warnings.catch_warnings():
        # Python >= 3.12 warns about fork() in a process with threads (the OpenMP
        # pool's): that is the very situation under test
        warnings.simplefilter("ignore", DeprecationWarning)
        proc = ctx.Process(target=_fork_child, args=(send, nts))
        proc.start()
    send.close()
    try:
        if not recv.poll(limit):
            pytest.fail(f"the forked child gave no result within {limit:.0f} s: it hangs "
                        "(OpenMP thread pool after fork)")
        status, payload = recv.recv()
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join()
        recv.close()
    assert status == "ok", payload
    return payload


@pytest.mark.skipif(not hasattr(os, "fork") or "fork" not in multiprocessing.get_all_start_methods(),
                    reason="no fork() on this platform")
def test_fork_after_openmp_pool_started():
    """The parent starts the OpenMP pool (n_threads=2 over a large array), then a forked
    child calls every kernel family with n_threads None and 2: it must return, with the
    serial results."""
    cases = _fork_cases()
    expected = {name: np.asarray(call(1)) for name, call in cases}
    big = np.random.default_rng(0).normal(size=2_000_000)
    crossent.logsumexp(big, n_threads=2)   # the pool is now running in the parent
    crossent.cross_entropy(big.reshape(-1, 100), np.zeros(20_000, dtype=np.int64), n_threads=2)
    crossent.gaussian_nll(big, 0.0, n_threads=2)
    results = _run_forked((None, 2))
    bad = [key for key, got in results.items() if not same_bits(got, expected[key[0]])]
    assert not bad, f"results in the forked child differ from serial ones: {bad}"
    assert len(results) == 2 * len(cases)
    # and the parent keeps its pool: still the same results with threads
    for name, call in cases[:3]:
        assert same_bits(np.asarray(call(2)), expected[name])


# ------------------------------------------------------------------- GIL handshake

MAX_KERNEL_CALLS = 1000


def _gil_cases():
    """Loss-family calls of ~1M elements (tests/test_threads.py covers the primitives)."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=(1000, 1000))
    labels = rng.integers(0, 1000, size=1000)
    t = rng.uniform(size=x.shape)
    var = rng.uniform(0.5, 2.0, size=x.shape)
    c = crossent
    return {
        "cross_entropy": lambda nt: c.cross_entropy(x, labels, n_threads=nt),
        "cross_entropy-grad": lambda nt: c.cross_entropy(x, labels, return_grad=True, n_threads=nt),
        "cross_entropy-probs": lambda nt: c.cross_entropy(x, t, n_threads=nt),
        "nll_loss": lambda nt: c.nll_loss(x.T, labels, axis=0, n_threads=nt),
        "bce": lambda nt: c.binary_cross_entropy_with_logits(x, t, n_threads=nt),
        "kl_div": lambda nt: c.kl_div(x, t, n_threads=nt),
        "mse_loss": lambda nt: c.mse_loss(x, t, n_threads=nt),
        "gaussian_nll_loss": lambda nt: c.gaussian_nll_loss(x, t, var, n_threads=nt),
        "poisson_nll_loss": lambda nt: c.poisson_nll_loss(x, t, n_threads=nt),
        "gaussian_nll": lambda nt: c.gaussian_nll(x, t, var, n_threads=nt),
        "gaussian_nll-profiled": lambda nt: c.gaussian_nll(x, t, n_threads=nt),
    }


@pytest.mark.skipif(hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled(),
                    reason="no GIL in this interpreter")
@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("case", list(_gil_cases()))
def test_gil_released_during_loss_kernels(case, n_threads):
    """Handshake (as tests/test_threads.py): with a huge switch interval the other
    Python thread can run only when the kernel thread gives the GIL up itself; it must
    get to run long before MAX_KERNEL_CALLS calls."""
    call = _gil_cases()[case]
    call(n_threads)  # warm up
    calls = gil_handshake(call, n_threads, MAX_KERNEL_CALLS)
    assert calls < MAX_KERNEL_CALLS, (
        f"{case}: the other Python thread ran only after {calls} kernel calls: "
        "the GIL is not released while the kernel runs")
