"""``python -m crossent``: the self-check passes, covers every public function, and fails
when a function is wrong or has no check; the timing table has one row per family.

The command runs once in a subprocess (``--quick``: a short timing); the failure paths
run in-process with the checker imported as a module and a crossent function
monkeypatched.
"""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import crossent
import crossent.__main__ as cli

PUBLIC = [
    name for name in crossent.__all__
    if callable(getattr(crossent, name)) and not isinstance(getattr(crossent, name), type)
    and name not in ("get_include", "show_config")
]

TIMING_ROWS = ("logsumexp", "log_softmax", "cross_entropy", "cross_entropy",
               "BCE with logits", "gaussian_nll_loss", "mse_loss")


@pytest.fixture(scope="module")
def quick_run():
    src = os.path.dirname(os.path.dirname(os.path.abspath(crossent.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "crossent", "--quick"], capture_output=True,
                          text=True, env=env, timeout=600)


def _failed(results):
    return [name for name, ok in results if not ok]


def _scaled(value, factor):
    """``value`` (an output or a tuple of outputs) with its first output times ``factor``."""
    def one(v):
        a = np.asarray(v)
        r = (a * a.dtype.type(factor)).astype(a.dtype)
        return r if isinstance(v, np.ndarray) else r[()]
    if isinstance(value, tuple):
        return (one(value[0]),) + value[1:]
    return one(value)


def test_public_list_is_the_expected_one():
    # guards the test itself: deriving PUBLIC must not drop the losses
    assert {"logsumexp", "cross_entropy", "gaussian_nll", "poisson_nll_loss"} <= set(PUBLIC)
    assert cli._public_functions() == PUBLIC


def test_quick_run_exits_zero(quick_run):
    assert quick_run.returncode == 0, quick_run.stdout + quick_run.stderr
    assert "FAILED" not in quick_run.stdout and "MISSING" not in quick_run.stdout
    m = re.search(r"self-check: (\d+) of (\d+) checks agree", quick_run.stdout)
    assert m and m.group(1) == m.group(2) and int(m.group(2)) > 500, quick_run.stdout


@pytest.mark.parametrize("name", PUBLIC)
def test_quick_run_covers_every_public_function(quick_run, name):
    m = re.search(rf"^\s+{name}\s+(\d+) of\s+(\d+)\s*$", quick_run.stdout, re.M)
    assert m, f"{name} missing from the self-check output:\n{quick_run.stdout}"
    assert m.group(1) == m.group(2) and int(m.group(2)) >= 4


def test_quick_run_prints_the_timing_table(quick_run):
    out = quick_run.stdout
    assert "median times (ms) of interleaved calls" in out
    table = out[out.index("median times"):].splitlines()[2:]
    assert len(table) == len(TIMING_ROWS), out
    for row, label in zip(table, TIMING_ROWS):
        assert row.startswith(label), (row, label)
        assert re.search(r"\(\s*[\d.]+x\)", row), row  # a ratio to crossent
    assert "+ grad" in table[3] and "+ grad" not in table[2]


def test_no_timing_option(capsys):
    assert cli.main(["--no-timing"]) == 0
    out = capsys.readouterr().out
    assert "self-check:" in out and "median times" not in out


def test_checks_pass_in_process_in_both_dtypes():
    results = cli._checks(np.random.default_rng(1))  # another seed than main's
    assert not _failed(results)
    for name in PUBLIC:
        mine = [n for n, _ in results if n.split(" ", 1)[0] == name]
        assert any("float64" in n for n in mine) and any("float32" in n for n in mine), name


@pytest.mark.parametrize("name", PUBLIC)
def test_a_wrong_function_fails_its_checks(monkeypatch, name):
    orig = getattr(crossent, name)
    monkeypatch.setattr(crossent, name, lambda *a, **k: _scaled(orig(*a, **k), 1.001))
    failed = _failed(cli._checks(np.random.default_rng(2026), [name]))
    assert failed, f"a 0.1% error in {name} went unnoticed"
    assert all(f.split(" ", 1)[0] == name for f in failed)
    assert any("float64" in f for f in failed) and any("float32" in f for f in failed)


@pytest.mark.parametrize("name, which", [
    ("cross_entropy", 1), ("nll_loss", 1), ("binary_cross_entropy_with_logits", 1), ("kl_div", 1),
    ("mse_loss", 1), ("poisson_nll_loss", 1), ("gaussian_nll_loss", 1), ("gaussian_nll_loss", 2),
    ("gaussian_nll", 1), ("gaussian_nll", 2),
])
def test_a_wrong_gradient_fails(monkeypatch, name, which):
    orig = getattr(crossent, name)

    def wrong(*a, **k):
        out = orig(*a, **k)
        if not isinstance(out, tuple) or len(out) <= which:
            return out
        g = np.asarray(out[which])
        bad = (g * g.dtype.type(1.001)).astype(g.dtype)
        return out[:which] + (bad if isinstance(out[which], np.ndarray) else bad[()],) + out[which + 1:]

    monkeypatch.setattr(crossent, name, wrong)
    failed = _failed(cli._checks(np.random.default_rng(2026), [name]))
    assert failed and all(f.endswith(" grad") for f in failed), failed


def test_a_small_error_in_float64_fails(monkeypatch):
    orig = crossent.cross_entropy
    monkeypatch.setattr(crossent, "cross_entropy", lambda *a, **k: _scaled(orig(*a, **k), 1 + 1e-9))
    failed = _failed(cli._checks(np.random.default_rng(2026), ["cross_entropy"]))
    assert any("float64" in f for f in failed)


def test_a_wrong_dtype_or_shape_fails(monkeypatch):
    orig = crossent.mse_loss
    monkeypatch.setattr(crossent, "mse_loss",
                        lambda *a, **k: np.asarray(orig(*a, **k), dtype=np.float64))
    assert any("float32" in f for f in _failed(cli._checks(np.random.default_rng(0), ["mse_loss"])))
    monkeypatch.setattr(crossent, "mse_loss", lambda *a, **k: np.asarray(orig(*a, **k))[..., None])
    assert _failed(cli._checks(np.random.default_rng(0), ["mse_loss"]))


def test_a_raising_function_fails_without_crashing(monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("sabotaged")

    monkeypatch.setattr(crossent, "kl_div", boom)
    results = cli._checks(np.random.default_rng(0))
    failed = _failed(results)
    assert failed and all(f.startswith("kl_div ") and "sabotaged" in f for f in failed)
    assert any(n.startswith("gaussian_nll ") for n, ok in results if ok)  # the others still ran


def test_main_reports_a_failure(monkeypatch, capsys):
    orig = crossent.poisson_nll_loss
    monkeypatch.setattr(crossent, "poisson_nll_loss", lambda *a, **k: _scaled(orig(*a, **k), 1.01))
    assert cli.main(["--no-timing"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^  FAILED: poisson_nll_loss float64 .*reduction=mean", out, re.M)


def test_a_new_public_function_without_a_check_is_missing(monkeypatch, capsys):
    monkeypatch.setattr(crossent, "fake_loss", lambda input, target: 0.0, raising=False)
    monkeypatch.setattr(crossent, "__all__", crossent.__all__ + ["fake_loss"])
    results = cli._checks(np.random.default_rng(0))
    assert ("MISSING check: fake_loss", False) in results
    assert cli.main(["--no-timing"]) == 1
    assert re.search(r"^\s*MISSING check: fake_loss$", capsys.readouterr().out, re.M)


def test_a_removed_check_is_missing(monkeypatch):
    monkeypatch.delitem(cli._CHECKERS, "gaussian_nll")
    failed = _failed(cli._checks(np.random.default_rng(0)))
    assert failed == ["MISSING check: gaussian_nll"]


def test_a_public_name_that_is_not_defined_fails(monkeypatch):
    monkeypatch.setattr(crossent, "__all__", crossent.__all__ + ["logsumexp2"])
    monkeypatch.setitem(cli._CHECKERS, "logsumexp2", cli._check_logsumexp)
    assert "logsumexp2 not found in crossent" in _failed(cli._checks(np.random.default_rng(0)))
