#!/usr/bin/env python3
"""Side-by-side timing of crossent against its peers, in one process.

    python benchmarks/bench.py                 # full run (~10 min on 2 cores)
    python benchmarks/bench.py --quick         # smaller inputs, fewer repeats (~2 min)
    python benchmarks/bench.py --cases cross_entropy --threads 2 --json out.json

Peers: crossent, crossent.reference (NumPy), SciPy, PyTorch (CPU), Numba
(parallel kernels in numba_kernels.py) and JAX (jit, CPU). Each repetition calls
every library once, round-robin (the starting library rotates), so slow drifts
of the machine hit all of them alike; medians are reported. Before timing, every
peer's result is compared with crossent's (with the NumPy reference's where
crossent lacks the function); a mismatch is flagged, not fatal.

Each case is also reported as a multiple of its LIMIT, the time a perfect
implementation would need on this machine:
    limit = max(bytes read + written / streaming bandwidth,
                exp/log evaluations / vector exp rate)
both measured at startup on this machine with the same thread count. See
README.md for the details of every column.

Process set-up (before NumPy is imported):
  * OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed: NumPy's OpenBLAS reads
    them when it loads, so if either is set the script re-executes itself
    (os.execve) without them and says so in the header.
  * OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, NUMBA_NUM_THREADS, ...
    are set to --threads, and where --threads is less than the CPUs this process
    may use, the process is pinned (sched_setaffinity) to that many CPUs — that
    is what bounds XLA, which has no thread-count flag; with --threads 1 XLA_FLAGS
    also gets --xla_cpu_multi_thread_eigen=false.
"""

import argparse
import os
import sys

UNSET_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
REEXEC_MARK = "_CROSSENT_BENCH_REMOVED_ENV"
PIN_MARK = "_CROSSENT_BENCH_PINNED"
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS",
               "NUMBA_NUM_THREADS")
LIBS = ("crossent", "reference", "scipy", "torch", "numba", "jax")
HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="1/8 of the batch size on the large cases, at most 3 repetitions")
    p.add_argument("--cases", action="append", metavar="SUBSTR",
                   help="only cases whose name contains SUBSTR (case-insensitive; "
                        "repeat the option or separate with commas for several)")
    p.add_argument("--threads", type=int, default=2, help="threads for every library (default 2)")
    p.add_argument("--repeat", type=int, default=None,
                   help="timed repetitions per library and case (default 11, --quick 3); "
                        "slow libraries get fewer, never under 5 (2 with --quick)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds of timed calls per library and case before repetitions "
                        "are cut (default 2.0, --quick 0.4)")
    p.add_argument("--libs", default=",".join(LIBS),
                   help="comma-separated subset of " + ",".join(LIBS))
    p.add_argument("--plot", default=os.path.join(HERE, "results.png"),
                   help="PNG path (default benchmarks/results.png); '' for none")
    p.add_argument("--json", default=None, help="also write all numbers to this JSON file")
    p.add_argument("--no-pin", action="store_true",
                   help="do not restrict the CPU affinity to --threads CPUs")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    a = p.parse_args(argv)
    if a.threads < 1:
        p.error("--threads must be >= 1")
    a.libs = [s.strip() for s in a.libs.split(",") if s.strip()]
    bad = [s for s in a.libs if s not in LIBS]
    if bad:
        p.error("unknown --libs %s (choose from %s)" % (bad, ",".join(LIBS)))
    if a.cases:
        a.cases = [s.strip().lower() for c in a.cases for s in c.split(",") if s.strip()]
    if a.repeat is None:
        a.repeat = 3 if a.quick else 11
    if a.budget is None:
        a.budget = 0.4 if a.quick else 2.0
    return a


def prepare_process(args):
    """Threads, affinity and the OpenBLAS variables; re-exec if those were set."""
    pinned = None
    if not args.no_pin and hasattr(os, "sched_getaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if args.threads < len(cpus):
            os.sched_setaffinity(0, cpus[:args.threads])
            pinned = cpus[:args.threads]
            os.environ[PIN_MARK] = ",".join(map(str, pinned))   # survives the re-exec
    if os.environ.get(PIN_MARK):
        pinned = [int(c) for c in os.environ[PIN_MARK].split(",")]
    for v in THREAD_VARS:
        os.environ[v] = str(args.threads)
    if args.threads == 1 and "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false").strip()
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(
        os.path.expanduser("~"), ".cache", "crossent-bench", "numba"))
    removed = [v for v in UNSET_VARS if v in os.environ]
    if removed:
        env = dict(os.environ)
        env[REEXEC_MARK] = ",".join("%s=%s" % (v, env.pop(v)) for v in removed)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)
    return pinned


if __name__ == "__main__":
    ARGS = parse_args()
    PINNED = prepare_process(ARGS)

# --- only now the numerical libraries -------------------------------------------------
import gc                       # noqa: E402
import json                     # noqa: E402
import math                     # noqa: E402
import platform                 # noqa: E402
import threading                # noqa: E402
import time                     # noqa: E402
import zlib                     # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import numpy as np              # noqa: E402

NOTES = []      # printed under the table


def note(msg):
    NOTES.append(msg)
    print("note: " + msg, file=sys.stderr)


# ===================================================================== cases (the data table)
F32, F64 = np.float32, np.float64


@dataclass
class Case:
    """One benchmark. ``op`` names an adapter family in OPS; ``shape`` is the input shape
    (``quick_shape`` for --quick, default: first dimension / 8 when the input has over a
    million elements); ``calls`` > 1 times that many calls per sample (call overhead)."""
    name: str
    op: str
    shape: tuple
    dtype: type
    issue: int
    axis: object = None
    grad: bool = False
    calls: int = 1
    quick_shape: tuple = None
    params: dict = field(default_factory=dict)


CASES = [
    # ---- issue 2: logsumexp / log_softmax
    Case("logsumexp f64 (1e7,)", "logsumexp", (10_000_000,), F64, 2),
    Case("logsumexp f32 (4096,32000) ax1", "logsumexp", (4096, 32000), F32, 2, axis=1),
    Case("logsumexp f32 (512,32000) ax1", "logsumexp", (512, 32000), F32, 2, axis=1),
    Case("logsumexp f64 (1e6,10) ax1", "logsumexp", (1_000_000, 10), F64, 2, axis=1),
    Case("logsumexp f64 (10,1e6) ax1", "logsumexp", (10, 1_000_000), F64, 2, axis=1,
         quick_shape=(10, 125_000)),
    Case("logsumexp f64 (1000,1000) ax0", "logsumexp", (1000, 1000), F64, 2, axis=0),
    Case("log_softmax f32 (4096,32000) ax1", "log_softmax", (4096, 32000), F32, 2, axis=1),
    Case("logsumexp f64 (4,10) ax1 [call]", "logsumexp", (4, 10), F64, 2, axis=1, calls=2000),
    # ---- issue 3: cross-entropy family
    Case("cross_entropy f32 (4096,32000)", "cross_entropy", (4096, 32000), F32, 3),
    Case("cross_entropy f32 (512,32000)", "cross_entropy", (512, 32000), F32, 3),
    Case("cross_entropy f64 (1e6,10)", "cross_entropy", (1_000_000, 10), F64, 3),
    Case("cross_entropy f32 (8,21,256,256)", "cross_entropy", (8, 21, 256, 256), F32, 3,
         quick_shape=(1, 21, 256, 256)),
    Case("cross_entropy+grad f32 (4096,32000)", "cross_entropy", (4096, 32000), F32, 3, grad=True),
    Case("cross_entropy+grad f32 (512,32000)", "cross_entropy", (512, 32000), F32, 3, grad=True),
    Case("cross_entropy+grad f64 (1e6,10)", "cross_entropy", (1_000_000, 10), F64, 3, grad=True),
    Case("cross_entropy+grad f32 (8,21,256,256)", "cross_entropy", (8, 21, 256, 256), F32, 3,
         grad=True, quick_shape=(1, 21, 256, 256)),
    Case("bce_with_logits f32 (1e7,)", "bce_with_logits", (10_000_000,), F32, 3),
    Case("bce_with_logits f64 (1e7,)", "bce_with_logits", (10_000_000,), F64, 3),
    Case("bce_with_logits+grad f32 (1e7,)", "bce_with_logits", (10_000_000,), F32, 3, grad=True),
    Case("bce_with_logits+grad f64 (1e7,)", "bce_with_logits", (10_000_000,), F64, 3, grad=True),
    Case("cross_entropy f64 (4,10) [call]", "cross_entropy", (4, 10), F64, 3, calls=1000),
    # ---- issue 4: Gaussian / regression losses
    Case("gaussian_nll_loss f64 (1e7,)", "gaussian_nll_loss", (10_000_000,), F64, 4),
    Case("gaussian_nll_loss f32 (1e7,)", "gaussian_nll_loss", (10_000_000,), F32, 4),
    Case("gaussian_nll_loss+grad f64 (1e7,)", "gaussian_nll_loss", (10_000_000,), F64, 4, grad=True),
    Case("gaussian_nll_loss+grad f32 (1e7,)", "gaussian_nll_loss", (10_000_000,), F32, 4, grad=True),
    Case("mse_loss f64 (1e7,)", "mse_loss", (10_000_000,), F64, 4),
    Case("poisson_nll_loss f64 (1e7,)", "poisson_nll_loss", (10_000_000,), F64, 4),
]


def case_shape(case, quick):
    if not quick:
        return case.shape
    if case.quick_shape is not None:
        return case.quick_shape
    if math.prod(case.shape) > 1_000_000:
        return (max(1, case.shape[0] // 8),) + tuple(case.shape[1:])
    return case.shape


# ===================================================================== inputs
_INPUT_CACHE = {}
_INPUT_CACHE_BYTES = 3 << 30


def _cached(key, make):
    if key in _INPUT_CACHE:
        return _INPUT_CACHE[key]
    arr = make()
    while _INPUT_CACHE and sum(a.nbytes for a in _INPUT_CACHE.values()) + arr.nbytes > _INPUT_CACHE_BYTES:
        _INPUT_CACHE.pop(next(iter(_INPUT_CACHE)))
    _INPUT_CACHE[key] = arr
    return arr


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _normal(shape, dtype, scale=1.0, tag="x"):
    def make():
        r = _rng(tag, shape, np.dtype(dtype).str)
        a = r.standard_normal(shape, dtype=F32 if dtype == F32 else F64)
        if scale != 1.0:
            a *= scale
        return a
    return _cached((tag, shape, np.dtype(dtype).str, scale), make)


def _uniform(shape, dtype, lo, hi, tag):
    def make():
        r = _rng(tag, shape, np.dtype(dtype).str)
        return (r.random(shape, dtype=F32 if dtype == F32 else F64) * (hi - lo) + lo).astype(dtype, copy=False)
    return _cached((tag, shape, np.dtype(dtype).str, lo, hi), make)


def _labels(shape, nclass):
    return _cached(("labels", shape, nclass),
                   lambda: _rng("labels", shape, nclass).integers(0, nclass, shape, dtype=np.int64))


def make_inputs(case, shape):
    """Positional NumPy inputs of the case's crossent call."""
    if case.op in ("logsumexp", "log_softmax"):
        return (_normal(shape, case.dtype, 2.0),)
    if case.op == "cross_entropy":
        t_shape = shape[:1] + shape[2:] if len(shape) >= 2 else ()
        return (_normal(shape, case.dtype, 2.0), _labels(t_shape, shape[1] if len(shape) >= 2 else shape[0]))
    if case.op == "bce_with_logits":
        return (_normal(shape, case.dtype, 2.0), _uniform(shape, case.dtype, 0.0, 1.0, "prob"))
    if case.op == "gaussian_nll_loss":
        return (_normal(shape, case.dtype), _normal(shape, case.dtype, tag="target"),
                _uniform(shape, case.dtype, 0.05, 2.0, "var"))
    if case.op == "mse_loss":
        return (_normal(shape, case.dtype), _normal(shape, case.dtype, tag="target"))
    if case.op == "poisson_nll_loss":
        return (_normal(shape, case.dtype, 0.5), _cached(
            ("counts", shape, np.dtype(case.dtype).str),
            lambda: _rng("counts", shape).poisson(1.5, shape).astype(case.dtype)))
    raise KeyError(case.op)


def case_cost(case, inputs, shape):
    """(bytes read + written, exp/log evaluations) of an ideal single pass."""
    numel = math.prod(shape)
    isz = np.dtype(case.dtype).itemsize
    nin = sum(a.nbytes for a in inputs)
    if case.op == "logsumexp":
        out = numel // (shape[case.axis] if case.axis is not None else numel)
        return nin + out * isz, numel
    if case.op == "log_softmax":
        return nin + numel * isz, numel
    nout = numel * isz if case.grad else 0
    if case.op == "cross_entropy":
        return nin + nout, numel
    if case.op == "bce_with_logits":
        return nin + nout, 2 * numel                         # exp + log1p
    if case.op == "gaussian_nll_loss":
        return nin + 2 * nout, numel                         # log(var); grads for input and var
    if case.op == "mse_loss":
        return nin + nout, 0
    if case.op == "poisson_nll_loss":
        return nin + nout, numel
    raise KeyError(case.op)


# ===================================================================== peers
class NA(Exception):
    """The library has no such function (cell 'n/a' for crossent, '-' for a peer)."""


MODS = {}
VERSIONS = {}
THREADS = 2


def load_libs(libs, threads):
    global THREADS
    THREADS = threads
    VERSIONS["numpy"] = np.__version__
    for lib in libs:
        try:
            if lib == "crossent":
                import crossent
                MODS[lib] = crossent
                VERSIONS[lib] = getattr(crossent, "__version__", "?")
            elif lib == "reference":
                import crossent.reference as ref
                MODS[lib] = ref
            elif lib == "scipy":
                import scipy
                import scipy.special
                MODS[lib] = scipy
                VERSIONS[lib] = scipy.__version__
            elif lib == "torch":
                import torch
                import torch.nn.functional  # noqa: F401
                torch.set_num_threads(threads)
                try:
                    torch.set_num_interop_threads(1)
                except RuntimeError:
                    pass
                MODS[lib] = torch
                VERSIONS[lib] = torch.__version__
            elif lib == "numba":
                import numba
                sys.path.insert(0, HERE)
                import numba_kernels
                numba.set_num_threads(threads)
                MODS[lib] = numba_kernels
                VERSIONS[lib] = numba.__version__
            elif lib == "jax":
                import jax
                jax.config.update("jax_enable_x64", True)
                jax.config.update("jax_platforms", "cpu")
                MODS[lib] = jax
                VERSIONS[lib] = jax.__version__
        except Exception as e:  # not installed / not built: skip with a note
            note("%s skipped: %s: %s" % (lib, type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
    if "numba" in MODS:
        # compile (or load from cache) every kernel signature used, on tiny inputs
        t0 = time.perf_counter()
        nk = MODS["numba"]
        for dt in (F32, F64):
            x1 = np.ones(70000, dt)
            x2 = np.ones((3, 5), dt)
            nk.logsumexp_1d(x1)
            nk.logsumexp_rows(x2)
            nk.logsumexp_cols(x2)
            nk.log_softmax_rows(x2)
            nk.cross_entropy_rows(x2, np.zeros(3, np.int64), True)
            nk.cross_entropy_ncp(np.ones((2, 3, 5), dt), np.zeros((2, 5), np.int64), True)
            nk.bce_with_logits_1d(x1, x1, True)
            nk.gaussian_nll_1d(x1, x1, x1, 1e-6, True)
            nk.mse_1d(x1, x1, True)
            nk.poisson_nll_1d(x1, x1, True)
        import numba
        VERSIONS["numba threading layer"] = numba.threading_layer()
        note("numba kernels compiled/loaded in %.1f s (cache: %s)" % (
            time.perf_counter() - t0, os.environ.get("NUMBA_CACHE_DIR")))


# ---- result conversion --------------------------------------------------------------
def to_numpy(r):
    """Normalise a library's result to a tuple of NumPy arrays/scalars."""
    if not isinstance(r, tuple):
        r = (r,)
    out = []
    for v in r:
        if "torch" in MODS and isinstance(v, MODS["torch"].Tensor):
            v = v.detach().numpy()
        out.append(np.asarray(v))
    return tuple(out)


# ---- adapters: op -> lib -> builder(case, inputs) -> zero-argument callable -----------
def _torch_in(inputs):
    torch = MODS["torch"]
    return [torch.from_numpy(a) for a in inputs]


def _torch_call(fn, tensors, wrt=()):
    """Forward only, or forward + backward w.r.t. the tensors at positions wrt."""
    torch = MODS["torch"]
    if not wrt:
        def call():
            with torch.no_grad():
                return fn(*tensors)
        return call
    leaves = [t.detach().clone().requires_grad_() if i in wrt else t for i, t in enumerate(tensors)]

    def call_grad():
        for i in wrt:
            leaves[i].grad = None
        loss = fn(*leaves)
        loss.backward()
        return (loss.detach(),) + tuple(leaves[i].grad for i in wrt)
    return call_grad


def _jax_call(fn, inputs, wrt=()):
    """jit(fn) or jit(value_and_grad(fn, argnums=wrt)) on inputs already on the device."""
    jax = MODS["jax"]
    args = [jax.device_put(a) for a in inputs]
    for a in args:
        a.block_until_ready()
    if not wrt:
        f = jax.jit(fn)

        def call():
            return f(*args).block_until_ready()
        return call
    f = jax.jit(jax.value_and_grad(fn, argnums=tuple(wrt)))

    def call_grad():
        v, g = f(*args)
        v.block_until_ready()
        for gi in g:
            gi.block_until_ready()
        return (v,) + tuple(g)
    return call_grad


def _crossent(name):
    mod = MODS["crossent"]
    if not hasattr(mod, name):
        raise NA("crossent.%s not there yet" % name)
    return getattr(mod, name)


def _ref(name):
    mod = MODS["reference"]
    if not hasattr(mod, name):
        raise NA("crossent.reference.%s not there yet" % name)
    return getattr(mod, name)


def _scipy_na(case, inputs):
    raise NA("SciPy has no %s" % case.op)


# logsumexp ............................................................................
def _lse_crossent(case, inputs):
    f = _crossent("logsumexp")
    x, = inputs
    return lambda: f(x, axis=case.axis, n_threads=THREADS)


def _lse_ref(case, inputs):
    f = _ref("logsumexp")
    x, = inputs
    return lambda: f(x, axis=case.axis)


def _lse_scipy(case, inputs):
    from scipy.special import logsumexp
    x, = inputs
    return lambda: logsumexp(x, axis=case.axis)


def _lse_torch(case, inputs):
    torch = MODS["torch"]
    xt, = _torch_in(inputs)
    dim = case.axis if case.axis is not None else tuple(range(xt.ndim))
    return _torch_call(lambda a: torch.logsumexp(a, dim=dim), [xt])


def _lse_numba(case, inputs):
    nk = MODS["numba"]
    x, = inputs
    if case.axis is None:
        xf = x.reshape(-1)
        return lambda: x.dtype.type(nk.logsumexp_1d(xf))
    if x.ndim == 2 and case.axis in (1, -1):
        return lambda: nk.logsumexp_rows(x)
    if x.ndim == 2 and case.axis == 0:
        return lambda: nk.logsumexp_cols(x)
    raise NA("no numba kernel for this layout")


def _lse_jax(case, inputs):
    jax = MODS["jax"]
    return _jax_call(lambda a: jax.nn.logsumexp(a, axis=case.axis), inputs)


# log_softmax ..........................................................................
def _lsm_crossent(case, inputs):
    f = _crossent("log_softmax")
    x, = inputs
    return lambda: f(x, axis=case.axis, n_threads=THREADS)


def _lsm_ref(case, inputs):
    f = _ref("log_softmax")
    x, = inputs
    return lambda: f(x, axis=case.axis)


def _lsm_scipy(case, inputs):
    from scipy.special import log_softmax
    x, = inputs
    return lambda: log_softmax(x, axis=case.axis)


def _lsm_torch(case, inputs):
    torch = MODS["torch"]
    return _torch_call(lambda a: torch.log_softmax(a, dim=case.axis), _torch_in(inputs))


def _lsm_numba(case, inputs):
    nk = MODS["numba"]
    x, = inputs
    if x.ndim == 2 and case.axis in (1, -1):
        return lambda: nk.log_softmax_rows(x)
    raise NA("no numba kernel for this layout")


def _lsm_jax(case, inputs):
    jax = MODS["jax"]
    return _jax_call(lambda a: jax.nn.log_softmax(a, axis=case.axis), inputs)


# generic loss adapters ...................................................................
def _loss_crossent(name, wrt_n=1):
    def build(case, inputs):
        f = _crossent(name)
        kw = dict(case.params)
        if case.grad:
            kw["return_grad"] = True
        return lambda: f(*inputs, n_threads=THREADS, **kw)
    return build


def _loss_ref(name):
    def build(case, inputs):
        f = _ref(name)
        kw = dict(case.params)
        if case.grad:
            kw["return_grad"] = True
        return lambda: f(*inputs, **kw)
    return build


def _loss_torch(fname, wrt=(0,)):
    def build(case, inputs):
        F = MODS["torch"].nn.functional
        fn = getattr(F, fname)
        kw = dict(case.params)
        return _torch_call(lambda *a: fn(*a, **kw), _torch_in(inputs), wrt if case.grad else ())
    return build


def _loss_jax(make_fn, wrt=(0,)):
    def build(case, inputs):
        if case.params:
            raise NA("the JAX peer implements the default options only")
        return _jax_call(make_fn(case), inputs, wrt if case.grad else ())
    return build


def _ce_jax_fn(case):
    jnp = MODS["jax"].numpy
    jax = MODS["jax"]

    def f(x, t):
        lsm = jax.nn.log_softmax(x, axis=1)
        picked = jnp.take_along_axis(lsm, jnp.expand_dims(t, 1), axis=1)
        return -jnp.mean(picked)
    return f


def _ce_numba(case, inputs):
    nk = MODS["numba"]
    if case.params:
        raise NA("the Numba peer implements the default options only")
    x, t = inputs
    g = case.grad
    if x.ndim == 2:
        k = nk.cross_entropy_rows
    elif x.ndim > 2:
        x = x.reshape(x.shape[0], x.shape[1], -1)
        t = t.reshape(t.shape[0], -1)
        k = nk.cross_entropy_ncp
    else:
        raise NA("no numba kernel for 1-D input")
    shape = inputs[0].shape
    dt = inputs[0].dtype.type
    if g:
        def call_grad():
            loss, gr = k(x, t, True)
            return dt(loss), gr.reshape(shape)
        return call_grad
    return lambda: dt(k(x, t, False)[0])


def _elementwise_numba(kernel_name, extra=()):
    def build(case, inputs):
        nk = MODS["numba"]
        if case.params:
            raise NA("the Numba peer implements the default options only")
        k = getattr(nk, kernel_name)
        flat = [a.reshape(-1) for a in inputs]
        dt = inputs[0].dtype.type
        if case.grad:
            def call_grad():
                r = k(*flat, *extra, True)
                return (dt(r[0]),) + tuple(r[1:])
            return call_grad
        return lambda: dt(k(*flat, *extra, False)[0])
    return build


def _bce_jax_fn(case):
    jax = MODS["jax"]
    # softplus(x) - x*y: stable, and its derivative is sigmoid(x) - y everywhere (a
    # max(x, 0) + log1p(exp(-|x|)) form gets a wrong subgradient at x == 0 from autodiff)
    return lambda x, y: jax.numpy.mean(jax.nn.softplus(x) - x * y)


def _gauss_jax_fn(case, eps=1e-6):
    jax = MODS["jax"]
    jnp = jax.numpy

    def f(x, y, v):
        # torch: var is clamped to eps in no_grad, i.e. a straight-through gradient
        v = v + jax.lax.stop_gradient(jnp.maximum(v, eps) - v)
        d = x - y
        return jnp.mean(0.5 * (jnp.log(v) + d * d / v))
    return f


def _mse_jax_fn(case):
    jnp = MODS["jax"].numpy
    return lambda x, y: jnp.mean((x - y) ** 2)


def _poisson_jax_fn(case):
    jnp = MODS["jax"].numpy
    return lambda x, y: jnp.mean(jnp.exp(x) - y * x)


OPS = {
    "logsumexp": dict(crossent=_lse_crossent, reference=_lse_ref, scipy=_lse_scipy,
                      torch=_lse_torch, numba=_lse_numba, jax=_lse_jax),
    "log_softmax": dict(crossent=_lsm_crossent, reference=_lsm_ref, scipy=_lsm_scipy,
                        torch=_lsm_torch, numba=_lsm_numba, jax=_lsm_jax),
    "cross_entropy": dict(crossent=_loss_crossent("cross_entropy"),
                          reference=_loss_ref("cross_entropy"), scipy=_scipy_na,
                          torch=_loss_torch("cross_entropy"), numba=_ce_numba,
                          jax=_loss_jax(_ce_jax_fn)),
    "bce_with_logits": dict(crossent=_loss_crossent("binary_cross_entropy_with_logits"),
                            reference=_loss_ref("binary_cross_entropy_with_logits"),
                            scipy=_scipy_na,
                            torch=_loss_torch("binary_cross_entropy_with_logits"),
                            numba=_elementwise_numba("bce_with_logits_1d"),
                            jax=_loss_jax(_bce_jax_fn)),
    "gaussian_nll_loss": dict(crossent=_loss_crossent("gaussian_nll_loss"),
                              reference=_loss_ref("gaussian_nll_loss"), scipy=_scipy_na,
                              torch=_loss_torch("gaussian_nll_loss", wrt=(0, 2)),
                              numba=_elementwise_numba("gaussian_nll_1d", extra=(1e-6,)),
                              jax=_loss_jax(_gauss_jax_fn, wrt=(0, 2))),
    "mse_loss": dict(crossent=_loss_crossent("mse_loss"), reference=_loss_ref("mse_loss"),
                     scipy=_scipy_na, torch=_loss_torch("mse_loss"),
                     numba=_elementwise_numba("mse_1d"), jax=_loss_jax(_mse_jax_fn)),
    "poisson_nll_loss": dict(crossent=_loss_crossent("poisson_nll_loss"),
                             reference=_loss_ref("poisson_nll_loss"), scipy=_scipy_na,
                             torch=_loss_torch("poisson_nll_loss"),
                             numba=_elementwise_numba("poisson_nll_1d"),
                             jax=_loss_jax(_poisson_jax_fn)),
}


# ===================================================================== machine limits
def measure_bandwidth(threads):
    """Streaming-read bandwidth in bytes/s: best of (a) Numba prange int64 sum and
    (b) NumPy int64 sums of 1/threads of the buffer in `threads` Python threads,
    over a 512 MiB buffer, best of 10 passes (the best: other processes only slow it)."""
    n = (512 << 20) // 8
    a = np.ones(n, np.int64)          # touched: no page faults in the timed passes
    best = {}
    if "numba" in MODS:
        f = MODS["numba"].stream_sum_i64
        f(a[:1000])
        ts = []
        for _ in range(10):
            settle()
            t0 = time.perf_counter()
            f(a)
            ts.append(time.perf_counter() - t0)
        best["numba prange int64 sum"] = a.nbytes / min(ts)
    parts = np.array_split(a, threads)

    def work(p):
        np.add.reduce(p)
    ts = []
    for _ in range(10):
        settle()
        th = [threading.Thread(target=work, args=(p,)) for p in parts]
        t0 = time.perf_counter()
        for t in th:
            t.start()
        for t in th:
            t.join()
        ts.append(time.perf_counter() - t0)
    best["numpy int64 sum, %d Python thread(s)" % threads] = a.nbytes / min(ts)
    del a, parts
    how = max(best, key=best.get)
    return best[how], how, best


def measure_exp_rate(threads, dtype):
    """exp evaluations/s on in-cache data: best of (a) np.exp(buf, out=) over a 256 KiB
    buffer per thread, repeated, in `threads` Python threads (NumPy's SIMD exp; the GIL
    is released in the ufunc loop) and (b) a Numba prange loop of math.exp over the same
    buffers. Best of 15 passes of about 20 ms each (other processes only slow it)."""
    m = (256 << 10) // np.dtype(dtype).itemsize
    rng = np.random.default_rng(0)
    bufs = [((rng.standard_normal(m) * 3).astype(dtype), np.empty(m, dtype)) for _ in range(threads)]
    best = {}
    t0 = time.perf_counter()
    np.exp(bufs[0][0], out=bufs[0][1])
    reps = max(4, int(0.02 / max(time.perf_counter() - t0, 1e-6)))

    def work(b):
        x, o = b
        for _ in range(reps):
            np.exp(x, out=o)
    ts = []
    for _ in range(15):
        settle()
        th = [threading.Thread(target=work, args=(b,)) for b in bufs]
        t0 = time.perf_counter()
        for t in th:
            t.start()
        for t in th:
            t.join()
        ts.append(time.perf_counter() - t0)
    best["numpy np.exp, %d Python thread(s)" % threads] = threads * reps * m / min(ts)
    if "numba" in MODS:
        f = MODS["numba"].exp_inplace_repeat
        x = np.stack([b[0] for b in bufs])
        o = np.empty_like(x)
        f(x, o, 1)
        t0 = time.perf_counter()
        f(x, o, 4)
        nreps = max(4, int(4 * 0.02 / max(time.perf_counter() - t0, 1e-6)))
        ts = []
        for _ in range(15):
            settle()
            t0 = time.perf_counter()
            f(x, o, nreps)
            ts.append(time.perf_counter() - t0)
        best["numba prange math.exp"] = x.size * nreps / min(ts)
    how = max(best, key=best.get)
    return best[how], how, best


def measure_machine(threads):
    """{"bandwidth" | "exp f32" | "exp f64": (best value, method, {method: value})}."""
    return {"bandwidth": measure_bandwidth(threads),
            "exp f32": measure_exp_rate(threads, F32),
            "exp f64": measure_exp_rate(threads, F64)}


def probe_lines(p, when):
    bw, _, bw_all = p["bandwidth"]
    lines = ["bandwidth (%s): %.1f GB/s = best of {%s} (512 MiB streaming read)" % (
        when, bw / 1e9, ", ".join("%s: %.1f" % (k, v / 1e9) for k, v in bw_all.items()))]
    for k in ("exp f32", "exp f64"):
        v, _, allv = p[k]
        lines.append("%s rate (%s): %.2f Gexp/s = best of {%s} (in-cache 256 KiB buffers)" % (
            k, when, v / 1e9, ", ".join("%s: %.2f" % (m, x / 1e9) for m, x in allv.items())))
    return lines


# ===================================================================== correctness
def compare(ref, got, dtype):
    """(ok, max error / scale) of got against ref, tuple by tuple, elementwise with an
    absolute tolerance scaled by the largest |ref| (the API's accuracy is relative to the
    magnitude of the terms, not to each output element)."""
    rtol = 1e-3 if np.dtype(dtype) == np.float32 else 1e-7
    if len(ref) != len(got):
        return False, float("inf")
    worst = 0.0
    for a, b in zip(ref, got):
        if a.shape != b.shape:
            return False, float("inf")
        a = a.reshape(-1)
        b = b.reshape(-1)
        step = 1 << 22
        scale = 0.0
        for i in range(0, max(a.size, 1), step):
            scale = max(scale, float(np.max(np.abs(a[i:i + step]), initial=0.0)))
        scale = scale or 1.0
        for i in range(0, max(a.size, 1), step):
            aa = a[i:i + step].astype(np.float64)
            bb = b[i:i + step].astype(np.float64)
            if aa.size == 0:
                continue
            err = np.abs(aa - bb) / (np.abs(aa) + scale)
            e = float(np.max(err)) if not np.isnan(err).any() else float("inf")
            worst = max(worst, e)
    return worst <= rtol, worst


# ===================================================================== timing
def settle():
    """Let the previous library's worker threads (OpenMP spin-wait, Eigen, numba)
    go idle before the next timed call, so that they do not steal the CPUs."""
    time.sleep(0.005)


def time_call(fn, calls):
    if calls == 1:
        t0 = time.perf_counter()
        r = fn()
        t1 = time.perf_counter()
        del r
        return t1 - t0
    t0 = time.perf_counter()
    for _ in range(calls):
        r = fn()
    t1 = time.perf_counter()
    del r
    return (t1 - t0) / calls


def set_limit(res, bw, exp_rates):
    t_mem = res["bytes"] / bw
    t_exp = res["exps"] / exp_rates[np.dtype(res["dtype"]).type]
    res["limit_s"] = max(t_mem, t_exp)
    res["bound"] = "memory" if t_mem >= t_exp else "exp"


def run_case(case, libs, args):
    shape = case_shape(case, args.quick)
    inputs = make_inputs(case, shape)
    nbytes, nexp = case_cost(case, inputs, shape)
    name = case.name if tuple(shape) == tuple(case.shape) else "%s q%s" % (
        case.name, str(tuple(shape)).replace(" ", ""))
    res = dict(name=name, issue=case.issue, op=case.op, shape=list(shape),
               dtype=np.dtype(case.dtype).name, grad=case.grad, calls=case.calls,
               bytes=nbytes, exps=nexp, libs={})
    calls = {}
    results = {}
    for lib in libs:
        cell = res["libs"][lib] = {}
        if lib not in MODS:
            cell["status"] = "skip"
            continue
        try:
            fn = OPS[case.op][lib](case, inputs)
            if lib == "jax":
                fn()                       # compile
            t0 = time.perf_counter()
            r = fn()
            cell["first_s"] = time.perf_counter() - t0
            results[lib] = to_numpy(r)
            del r
            calls[lib] = fn
            cell["status"] = "ok"
        except NA as e:
            cell["status"] = "n/a"
            cell["why"] = str(e)
        except Exception as e:
            cell["status"] = "error"
            cell["why"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
            note("%s / %s raised %s" % (case.name, lib, cell["why"]))
    # correctness against crossent (or the reference where crossent has no result)
    base = "crossent" if "crossent" in results else ("reference" if "reference" in results else None)
    res["checked_against"] = base
    for lib, r in results.items():
        if lib == base:
            continue
        ok, err = compare(results[base], r, case.dtype)
        res["libs"][lib]["match"] = ok
        res["libs"][lib]["max_err"] = err
        if not ok:
            note("%s: %s differs from %s (max scaled error %.3g)" % (case.name, lib, base, err))
    del results
    gc.collect()
    # repetitions: slow libraries get fewer (never under the minimum)
    target = {}
    for lib in calls:
        est = res["libs"][lib]["first_s"] * case.calls
        # at least 5 repetitions (2 with --quick), 3 for a library slower than 0.5 s a call
        min_reps = min(args.repeat, 2 if args.quick else (3 if est > 0.5 else 5))
        target[lib] = max(min_reps, min(args.repeat, int(args.budget / max(est, 1e-9))))
    samples = {lib: [] for lib in calls}
    order = list(calls)
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for rnd in range(max(target.values(), default=0)):
            k = rnd % max(len(order), 1)
            for lib in order[k:] + order[:k]:
                if len(samples[lib]) >= target[lib]:
                    continue
                settle()
                samples[lib].append(time_call(calls[lib], case.calls))
    finally:
        if gc_was:
            gc.enable()
    for lib, s in samples.items():
        res["libs"][lib]["samples_s"] = s
        res["libs"][lib]["median_s"] = float(np.median(s))
    del calls, inputs
    gc.collect()
    return res


# ===================================================================== report
def fmt_time(t, unit):
    if unit == "us":
        return "%.2f us" % (t * 1e6) if t < 1e-4 else "%.1f us" % (t * 1e6)
    v = t * 1e3
    return "%.3f ms" % v if v < 1 else ("%.2f ms" % v if v < 100 else "%.0f ms" % v)


def cell_text(res, lib, kind):
    c = res["libs"].get(lib, {})
    st = c.get("status")
    if st is None or st == "skip":
        return "skip"
    if st == "n/a":
        return "n/a" if lib == "crossent" else "-"
    if st == "error":
        return "error"
    t = c["median_s"]
    flag = "" if c.get("match", True) else "!"
    if kind == "time":
        unit = "us" if res["calls"] > 1 else "ms"
        base = res["libs"].get("crossent", {}).get("median_s")
        ratio = " %5.2fx" % (t / base) if base and lib != "crossent" else "       "
        return fmt_time(t, unit) + ratio + flag
    return "%.2f%s" % (t / res["limit_s"], flag)


def print_report(all_res, libs, header, out=sys.stdout):
    for line in header:
        print(line, file=out)
    name_w = max([len(r["name"]) for r in all_res] + [4])
    w = 18

    def table(kind, title, extra_head, extra_cell):
        print("", file=out)
        print(title, file=out)
        head = "%-*s %s" % (name_w, "case", extra_head) + "".join("%*s" % (w, lib) for lib in libs)
        print(head, file=out)
        print("-" * len(head), file=out)
        last_issue = None
        for r in all_res:
            if r["issue"] != last_issue and last_issue is not None:
                print("", file=out)
            last_issue = r["issue"]
            print("%-*s %s" % (name_w, r["name"], extra_cell(r)) +
                  "".join("%*s" % (w, cell_text(r, lib, kind)) for lib in libs), file=out)

    table("time", "Median time per call (ratio = peer / crossent; > 1: crossent faster; "
                  "! = result differs from crossent's)",
          "%12s %6s" % ("limit", "bound"),
          lambda r: "%12s %6s" % (fmt_time(r["limit_s"], "us" if r["calls"] > 1 else "ms"),
                                  "mem" if r["bound"] == "memory" else "exp"))
    table("limit", "Multiple of the LIMIT (median / limit; 1.00 = at this machine's bandwidth "
                   "or exp throughput)", "", lambda r: "")
    if NOTES:
        print("", file=out)
        print("Notes:", file=out)
        for n in NOTES:
            print("  - " + n, file=out)


def plot(all_res, libs, path, title):
    """Horizontal grouped bars: time / limit for the bulk cases (log scale, 1 = the
    machine's bound), and microseconds per call for the call-overhead cases."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    colors = dict(crossent="#d62728", reference="#7f7f7f", scipy="#8c564b", torch="#ff7f0e",
                  numba="#2ca02c", jax="#1f77b4")
    bulk = [r for r in all_res if r["calls"] == 1]
    call = [r for r in all_res if r["calls"] > 1]
    panels = [(p, rs) for p, rs in (("bulk", bulk), ("call", call)) if rs]
    per_case = 0.12 + 0.055 * len(libs)
    heights = [max(1.2, per_case * len(rs)) for _, rs in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, sum(heights) + 1.2 * len(panels)),
                             gridspec_kw=dict(height_ratios=heights), squeeze=False)
    bh = 0.8 / max(len(libs), 1)
    for ax, (kind, rs) in zip(axes[:, 0], panels):
        for j, lib in enumerate(libs):
            ys, xs = [], []
            for i, r in enumerate(rs):
                c = r["libs"].get(lib, {})
                if "median_s" in c:
                    ys.append(i + (j - (len(libs) - 1) / 2) * bh)
                    xs.append(c["median_s"] / r["limit_s"] if kind == "bulk" else c["median_s"] * 1e6)
            ax.barh(ys, xs, height=bh, color=colors.get(lib), label=lib)
        ax.set_xscale("log")
        ax.set_yticks(range(len(rs)))
        ax.set_yticklabels([r["name"] for r in rs], fontsize=7)
        ax.set_ylim(len(rs) - 0.5, -0.5)
        ax.grid(axis="x", which="both", alpha=0.3)
        if kind == "bulk":
            ax.axvline(1.0, color="k", lw=1)
            ax.set_xlabel("median time / limit   (limit = max(bytes / bandwidth, exps / exp rate); "
                          "1 = machine bound; lower is better)", fontsize=8)
            ax.set_title(title, fontsize=9)
            ax.legend(loc="lower right", fontsize=7, ncol=2)
        else:
            ax.set_xlabel("microseconds per call (call overhead; lower is better)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ===================================================================== main
def _loadavg():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return None


def main(args, pinned):
    t_start = time.perf_counter()
    cases = [c for c in CASES if not args.cases or any(s in c.name.lower() for s in args.cases)]
    if args.list:
        for c in CASES:
            print("%-45s issue %d  shape %s%s" % (c.name, c.issue, c.shape,
                                                 "  quick %s" % (case_shape(c, True),)))
        return 0
    if not cases:
        print("no case matches %s" % args.cases, file=sys.stderr)
        return 2
    libs = list(args.libs)
    load_libs(libs, args.threads)
    try:
        import threadpoolctl
        threadpoolctl.threadpool_limits(args.threads)   # stays in force for the process
        blas = [(i.get("internal_api"), i.get("architecture"), i.get("num_threads"))
                for i in threadpoolctl.threadpool_info()]
    except ImportError:
        blas = []
        note("threadpoolctl not installed: BLAS/OpenMP pools not limited at run time")

    print("measuring bandwidth and exp rate ...", file=sys.stderr)
    probes = measure_machine(args.threads)

    removed = os.environ.get(REEXEC_MARK)
    load0 = _loadavg()
    try:
        cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
    except (OSError, IndexError):
        cpu = platform.processor()
    header = [
        "crossent benchmark  %s  (%s, usable CPUs: %d, Python %s)" % (
            time.strftime("%Y-%m-%d %H:%M"), cpu, len(os.sched_getaffinity(0)) if hasattr(
                os, "sched_getaffinity") else os.cpu_count(), platform.python_version()),
        "threads: %d for every library (n_threads=, torch.set_num_threads, numba.set_num_threads, "
        "%s=%d; %s)" % (args.threads, "/".join(v.replace("_NUM_THREADS", "") for v in THREAD_VARS[:3]),
                        args.threads, "affinity pinned to CPUs %s" % pinned if pinned else
                        "affinity not changed: XLA uses the %d usable CPUs" % len(os.sched_getaffinity(0))),
        "OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE: %s" % (
            "were set (%s): removed, the script re-executed itself without them" % removed
            if removed else "not set"),
        "BLAS/OpenMP pools: %s" % ("; ".join("%s %s x%s" % b for b in blas) or "none"),
        "XLA_FLAGS: %r" % os.environ.get("XLA_FLAGS", ""),
        "versions: " + ", ".join("%s %s" % kv for kv in VERSIONS.items()),
        "mode: %s; repeat <= %d per library (slow ones fewer), budget %.1f s per library and "
        "case; medians of round-robin interleaved calls" % (
            "QUICK (batch dims / 8)" if args.quick else "full", args.repeat, args.budget),
    ]
    for h in probe_lines(probes, "at start"):
        print(h, file=sys.stderr)
    if "crossent" in MODS and getattr(MODS["crossent"], "FAKE", False):
        header.insert(1, "*** WARNING: crossent is a NumPy stand-in (dev shim on PYTHONPATH) ***")
    for h in header:
        print(h, file=sys.stderr)

    all_res = []
    for i, case in enumerate(cases):
        t0 = time.perf_counter()
        r = run_case(case, libs, args)
        all_res.append(r)
        print("[%2d/%d] %-40s %5.1f s  (total %5.0f s)" % (
            i + 1, len(cases), case.name, time.perf_counter() - t0, time.perf_counter() - t_start),
            file=sys.stderr)
    _INPUT_CACHE.clear()
    gc.collect()
    # the probes again at the end: the limit uses the better of the two measurements
    # (the machine's capability; a busy machine only ever lowers a probe)
    print("measuring bandwidth and exp rate again ...", file=sys.stderr)
    probes_end = measure_machine(args.threads)
    best = {k: max((probes[k], probes_end[k]), key=lambda p: p[0]) for k in probes}
    header += probe_lines(best, "best of start and end") + [
        "    at start: %s; at end: %s" % tuple(
            ", ".join("%s %.2f" % (k, p[0] / 1e9) for k, p in pr.items()) for pr in (probes, probes_end))]
    bw = best["bandwidth"][0]
    e32 = best["exp f32"][0]
    e64 = best["exp f64"][0]
    for r in all_res:
        set_limit(r, bw, {F32: e32, F64: e64})

    header.append("total wall time %.0f s; load average (1 min) at start %s, at end %s%s" % (
        time.perf_counter() - t_start, load0, _loadavg(),
        "  <-- other processes were running: timings are noisy" if max(
            float(load0 or 0), float(_loadavg() or 0)) > 0.5 * args.threads + 0.5 else ""))
    print_report(all_res, libs, header)
    if args.plot:
        try:
            plot(all_res, libs, args.plot, "crossent vs peers, %d threads, %s" % (args.threads, cpu))
            print("\nplot: %s" % args.plot)
        except ImportError as e:
            print("\nno plot: %s" % e)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(header=header, notes=NOTES, threads=args.threads, quick=args.quick,
                           bandwidth_Bps=bw, exp_rate_f32=e32, exp_rate_f64=e64,
                           probes_start=probes, probes_end=probes_end,
                           versions=VERSIONS, cases=all_res), f, indent=1)
        print("json: %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS, PINNED))
