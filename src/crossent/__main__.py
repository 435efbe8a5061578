"""``python -m crossent``: a self-check and a short side-by-side timing.

The self-check compares every public function with ``crossent.reference`` (the
NumPy statement of each formula) on random and hard inputs; the timing table
puts crossent beside the NumPy reference, and SciPy / PyTorch when they are
installed, on this machine (medians of interleaved calls).  Under a minute.
"""
import argparse
import sys
import time

import numpy as np

import crossent
from crossent import reference


def _close(got, want, rtol, atol=0.0):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    same_special = np.array_equal(np.isnan(got), np.isnan(want)) and np.array_equal(
        got[np.isinf(got)], want[np.isinf(want)]
    )
    finite = np.isfinite(want)
    return same_special and np.allclose(got[finite], want[finite], rtol=rtol, atol=atol)


def _checks(rng):
    """(name, ok) for each check of the public API against the reference."""
    out = []
    for dtype, rtol in ((np.float64, 1e-13), (np.float32, 3e-6)):
        tag = np.dtype(dtype).name
        x = (rng.standard_normal((64, 300)) * 20).astype(dtype)
        hard = np.array([[0.0, -40.0, -1e3, -np.inf], [700, -700, 3, 3], [1, 1, 1, 1]], dtype)
        for fname in ("logsumexp", "softmax", "log_softmax"):
            f, g = getattr(crossent, fname), getattr(reference, fname)
            for arr, axis in ((x, 1), (x, 0), (x.T, 1), (hard, 1), (x, None)):
                ok = _close(f(arr, axis=axis), g(arr, axis=axis), rtol, atol=1e-300)
                out.append((f"{fname} {tag} axis={axis}", ok))
        v = (rng.standard_normal(1000) * 50).astype(dtype)
        out.append((f"log_expit {tag}", _close(crossent.log_expit(v), reference.log_expit(v), rtol)))
        out.append((f"norm_logpdf {tag}",
                    _close(crossent.norm_logpdf(v, 1.5, 3.0), reference.norm_logpdf(v, 1.5, 3.0), rtol)))
    out.append(("logsumexp([0, -40]) keeps 4.25e-18",
                float(crossent.logsumexp([0.0, -40.0])) == float(reference.logsumexp([0.0, -40.0]))))
    x = rng.standard_normal((300, 1000))
    out.append(("same bits for n_threads 1 and 2",
                np.array_equal(crossent.logsumexp(x, axis=1, n_threads=1),
                               crossent.logsumexp(x, axis=1, n_threads=2))))
    return out


def _median_times(funcs, repeat):
    """Median seconds of each callable, calls interleaved round-robin."""
    times = {name: [] for name in funcs}
    for f in funcs.values():
        f()
    for _ in range(repeat):
        for name, f in funcs.items():
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(ts)) for name, ts in times.items()}


def _peers():
    peers = {}
    try:
        import scipy.special as sps

        peers["scipy"] = sps
    except ImportError:
        pass
    try:
        import torch

        torch.set_num_threads(2)
        peers["torch"] = torch
    except ImportError:
        pass
    return peers


def _cases(rng, peers):
    """(label, {library: callable}) for the timing table."""
    sps, torch = peers.get("scipy"), peers.get("torch")
    cases = []
    specs = [
        ("logsumexp f64 (1e6,) ", rng.standard_normal(10**6), None),
        ("logsumexp f32 (512, 8000) axis 1", rng.standard_normal((512, 8000), dtype=np.float32), 1),
        ("logsumexp f64 (1e5, 10) axis 1", rng.standard_normal((10**5, 10)), 1),
        ("logsumexp f64 (1000, 1000) axis 0", rng.standard_normal((1000, 1000)), 0),
    ]
    for label, x, axis in specs:
        funcs = {
            "crossent": lambda x=x, a=axis: crossent.logsumexp(x, axis=a),
            "numpy reference": lambda x=x, a=axis: reference.logsumexp(x, axis=a),
        }
        if sps is not None:
            funcs["scipy"] = lambda x=x, a=axis: sps.logsumexp(x, axis=a)
        if torch is not None:
            t = torch.from_numpy(x)
            dims = tuple(range(x.ndim)) if axis is None else axis
            funcs["torch"] = lambda t=t, d=dims: torch.logsumexp(t, dim=d)
        cases.append((label, funcs))
    x = rng.standard_normal((512, 8000), dtype=np.float32)
    funcs = {
        "crossent": lambda: crossent.log_softmax(x, axis=1),
        "numpy reference": lambda: reference.log_softmax(x, axis=1),
    }
    if sps is not None:
        funcs["scipy"] = lambda: sps.log_softmax(x, axis=1)
    if torch is not None:
        tx = torch.from_numpy(x)
        funcs["torch"] = lambda: torch.log_softmax(tx, dim=1)
    cases.append(("log_softmax f32 (512, 8000) axis 1", funcs))
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m crossent", description=__doc__.splitlines()[0])
    parser.add_argument("--no-timing", action="store_true", help="only the self-check")
    parser.add_argument("--repeat", type=int, default=15, help="timed calls per library and case")
    args = parser.parse_args(argv)

    crossent.show_config()
    rng = np.random.default_rng(2026)
    results = _checks(rng)
    failed = [name for name, ok in results if not ok]
    print(f"\nself-check: {len(results) - len(failed)} of {len(results)} checks agree with crossent.reference")
    for name in failed:
        print(f"  FAILED: {name}")
    if not args.no_timing:
        peers = _peers()
        print("\nmedian times (ms) of interleaved calls; ratio = library / crossent")
        libs = ["crossent", "numpy reference"] + [p for p in ("scipy", "torch") if p in peers]
        print(f"{'case':36s}" + "".join(f"{lib:>22s}" for lib in libs))
        for label, funcs in _cases(rng, peers):
            med = _median_times(funcs, args.repeat)
            base = med["crossent"]
            cells = [f"{med['crossent'] * 1e3:10.3f}".rjust(22)]
            for lib in libs[1:]:
                cells.append(f"{med[lib] * 1e3:10.3f} ({med[lib] / base:5.1f}x)".rjust(22))
            print(f"{label:36s}" + "".join(cells))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
