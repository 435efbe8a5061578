"""Threads as users set them outside crossent: ``OMP_NUM_THREADS``, ``threadpoolctl``,
and PyTorch's own OpenMP threads in the same process (API.md: ``n_threads=None``
follows ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits``).

Each case runs in a fresh interpreter, so that the environment variable is read at
start-up and no other library's OpenMP runtime is already loaded.  Nothing is timed.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from crossent import reference

# Computations whose bits must not depend on the thread count: sizes above the
# kernels' serial thresholds, so that the parallel paths run.
WORKLOAD = textwrap.dedent(
    """
    import hashlib
    import numpy as np
    import crossent

    def workload_digest(**kw):
        rng = np.random.default_rng(11)
        x = rng.standard_normal((3000, 257)) * 20
        y = rng.integers(0, 257, 3000)
        v = rng.standard_normal(400_000) * 3
        results = [
            crossent.logsumexp(x, axis=1, **kw),
            crossent.logsumexp(x, axis=0, **kw),
            crossent.log_softmax(x, axis=1, **kw),
            crossent.logsumexp(v, **kw),
            *crossent.cross_entropy(x, y, label_smoothing=0.1, return_grad=True, **kw),
            *crossent.gaussian_nll(v, v[::-1], var=np.abs(v) + 0.5, return_grad=True, **kw),
        ]
        h = hashlib.sha256()
        for r in results:
            h.update(np.ascontiguousarray(r).tobytes())
        return h.hexdigest()
    """
)


def run_python(code, env_update=None, args=()):
    """Run ``code`` in a fresh interpreter; its last stdout line is JSON, returned parsed."""
    env = dict(os.environ)
    for key, value in (env_update or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stdout


def built_with_openmp():
    from crossent._common import _config

    return bool(_config()["openmp"])


def serial_digest():
    namespace = {}
    exec(WORKLOAD, namespace)
    return namespace["workload_digest"](n_threads=1)


# ---- OMP_NUM_THREADS ---------------------------------------------------------------

OMP_PROBE = WORKLOAD + textwrap.dedent(
    """
    import contextlib, io, json, re
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        crossent.show_config()
    default = int(re.search(r"default threads\\s*:\\s*(\\d+)", buf.getvalue()).group(1))
    print(json.dumps({"default": default, "digest": workload_digest()}))
    """
)


def test_default_threads_follow_omp_num_threads():
    """OMP_NUM_THREADS sets show_config()'s default, and the results do not change."""
    want_digest = serial_digest()
    for n in ("1", "3"):
        got, _ = run_python(OMP_PROBE, {"OMP_NUM_THREADS": n})
        # a serial build has one thread whatever the environment says
        assert got["default"] == (int(n) if built_with_openmp() else 1), n
        assert got["digest"] == want_digest, f"OMP_NUM_THREADS={n} changed the results"


# ---- threadpoolctl -----------------------------------------------------------------

THREADPOOLCTL_PROBE = WORKLOAD + textwrap.dedent(
    """
    import contextlib, io, json, sys
    import threadpoolctl
    from crossent._common import _config

    assert "torch" not in sys.modules and "sklearn" not in sys.modules
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        crossent.show_config()
    out = {
        "openmp": [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "openmp"],
        "show_config": buf.getvalue(),
        "before": _config()["max_threads"],
    }
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        out["limit_1"] = _config()["max_threads"]
        out["digest_1"] = workload_digest()
    with threadpoolctl.threadpool_limits(limits=3):
        out["limit_3"] = _config()["max_threads"]
        out["digest_3"] = workload_digest()
        # an explicit n_threads wins over the limit (and gives the same bits)
        out["digest_explicit"] = workload_digest(n_threads=2)
    out["after"] = _config()["max_threads"]
    print(json.dumps(out))
    """
)


def test_threadpoolctl_finds_and_limits_crossent():
    """threadpool_info lists crossent's OpenMP runtime (the only one in a process that
    imported nothing else), and threadpool_limits sets crossent's default thread count,
    restoring it on exit; results stay bitwise the serial ones."""
    pytest.importorskip("threadpoolctl")
    got, _ = run_python(THREADPOOLCTL_PROBE, {"OMP_NUM_THREADS": "2"})
    want_digest = serial_digest()
    assert got["digest_1"] == got["digest_3"] == got["digest_explicit"] == want_digest
    if not built_with_openmp():
        assert "no (serial)" in got["show_config"]
        assert got["before"] == got["limit_1"] == got["limit_3"] == got["after"] == 1
        return
    assert len(got["openmp"]) == 1, got["openmp"]
    runtime = got["openmp"][0]
    assert os.path.isfile(runtime["filepath"])
    assert runtime["filepath"] in got["show_config"]  # show_config names the same library
    assert (got["before"], got["limit_1"], got["limit_3"], got["after"]) == (2, 1, 3, 2)


# ---- PyTorch in the same process ---------------------------------------------------

TORCH_PROBE = textwrap.dedent(
    """
    import importlib, json, sys, threading
    for name in sys.argv[1:]:
        importlib.import_module(name)
    import numpy as np
    import torch
    import threadpoolctl
    import crossent
    from crossent._common import _config

    torch.set_num_threads(2)
    rng = np.random.default_rng(3)
    a = torch.from_numpy(rng.standard_normal((700, 500)))
    b = torch.from_numpy(rng.standard_normal((500, 400)))
    prod = a @ b                                   # torch's parallel matmul
    p = prod.numpy()
    labels = rng.integers(0, 400, 700)
    out = {
        "crossent_default_after_torch_set_num_threads_2": _config()["max_threads"],
        "torch_lse": torch.logsumexp(prod, dim=1).tolist(),
        "torch_ce": torch.nn.functional.cross_entropy(prod, torch.from_numpy(labels)).item(),
        "lse_2": crossent.logsumexp(p, axis=1, n_threads=2).tolist(),
        "lse_1": crossent.logsumexp(p, axis=1, n_threads=1).tolist(),
        "ce_2": float(crossent.cross_entropy(p, labels, n_threads=2)),
    }

    # Both runtimes busy at once: torch in one Python thread, crossent in another.
    errors = []
    want = crossent.log_softmax(p, axis=1, n_threads=1)
    def torch_worker():
        for _ in range(15):
            if not torch.allclose(a @ b, prod):
                errors.append("torch matmul changed")
    def crossent_worker():
        for _ in range(15):
            if not np.array_equal(crossent.log_softmax(p, axis=1, n_threads=2), want):
                errors.append("crossent log_softmax changed")
    threads = [threading.Thread(target=torch_worker), threading.Thread(target=crossent_worker)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["errors"] = errors
    out["openmp"] = [{k: i.get(k) for k in ("prefix", "filepath", "version", "num_threads")}
                     for i in threadpoolctl.threadpool_info() if i["user_api"] == "openmp"]
    print(json.dumps(out))
    """
)


@pytest.mark.parametrize("order", [("torch", "crossent"), ("crossent", "torch")],
                         ids=["torch-first", "crossent-first"])
def test_coexists_with_pytorch(order):
    """torch and crossent each run their OpenMP threads in one process, in either import
    order, concurrently too, with right results.  The OpenMP runtimes loaded are printed
    (on Linux, torch's wheel ships a libgomp.so.1; whether it is shared with crossent's
    depends on how crossent was linked)."""
    pytest.importorskip("torch")  # the probe runs it in a child process
    got, _ = run_python(TORCH_PROBE, args=order)
    print(f"\nimport order {order}: OpenMP runtimes loaded:")
    for lib in got["openmp"]:
        print(f"  {lib}")
    print(f"  crossent default threads after torch.set_num_threads(2): "
          f"{got['crossent_default_after_torch_set_num_threads_2']}")
    assert got["errors"] == []
    if built_with_openmp():
        assert got["openmp"], "no OpenMP runtime loaded"

    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((700, 500)), rng.standard_normal((500, 400))
    p = a @ b  # the matmul may round differently from torch's: compare loosely
    want = reference.logsumexp(p, axis=1)
    lse = np.array(got["lse_2"])
    assert np.array_equal(lse, np.array(got["lse_1"]))  # bitwise across n_threads
    np.testing.assert_allclose(lse, want, rtol=1e-12)
    np.testing.assert_allclose(np.array(got["torch_lse"]), lse, rtol=1e-12)
    assert got["ce_2"] == pytest.approx(got["torch_ce"], rel=1e-12)
