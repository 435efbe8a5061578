"""csrc's own vectorisable exp / log1p / log, measured in ulps against mpmath over
their whole domain, for every ISA level this machine runs (baseline, AVX2, AVX-512)."""
import mpmath
import numpy as np
import pytest

from crossent._dispatch import _elementary

mpmath.mp.dps = 40
ISAS = [0, 1, 2]
BOUND = 1.0  # ulp (issue: our exp and log1p are <= 1 ulp before they are used)


def _ulps(got, func, xs):
    """Max error in ulps of the exact value (normal results only)."""
    worst = 0.0
    for g, v in zip(got, xs):
        exact = func(mpmath.mpf(float(v)))
        if exact == 0 or not (2.3e-308 < abs(exact) < 1.7e308):
            continue
        worst = max(worst, float(abs(mpmath.mpf(float(g)) - exact) / np.spacing(abs(float(exact)))))
    return worst


def _sample(rng, lo, hi, n, log=False):
    if log:
        return 10 ** rng.uniform(lo, hi, n)
    return rng.uniform(lo, hi, n)


DOMAINS = {
    "exp": (mpmath.exp, lambda r: np.concatenate([_sample(r, -708, 709.7, 3000), _sample(r, -1, 1, 1000),
                                                   _sample(r, -1e-12, 1e-12, 200)])),
    "exp_neg": (mpmath.exp, lambda r: -np.concatenate([_sample(r, 0, 708, 3000), _sample(r, -16, 0, 500, log=True)])),
    "log1p": (mpmath.log1p, lambda r: np.concatenate([_sample(r, -300, 300, 1500, log=True), _sample(r, -1, 1, 2000),
                                                      _sample(r, -20, 1, 1000, log=True)])),
    "log": (mpmath.log, lambda r: np.concatenate([_sample(r, -307, 308, 2000, log=True), _sample(r, 0.5, 2, 1500)])),
}


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", sorted(DOMAINS))
def test_elementary_accuracy(name, isa):
    func, sample = DOMAINS[name]
    xs = np.ascontiguousarray(sample(np.random.default_rng(7)))
    got = _elementary(name, xs, isa)
    if got is None:
        pytest.skip("this CPU does not run that ISA level")  # only on CPUs without AVX2/AVX-512
    assert _ulps(got, func, xs) <= BOUND


def test_exp_lo_is_enough_for_float32():
    xs = np.random.default_rng(3).uniform(-700, 700, 3000)
    got = _elementary("exp_lo", xs, 0)
    exact = np.array([float(mpmath.exp(mpmath.mpf(float(v)))) for v in xs])
    assert np.max(np.abs(got / exact - 1)) < 3e-10


@pytest.mark.parametrize("isa", ISAS)
def test_special_values(isa):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 710.0, -746.0, -745.0, 1e-320])
    exp = _elementary("exp", x, isa)
    if exp is None:
        pytest.skip("this CPU does not run that ISA level")
    assert exp[0] == np.inf and exp[1] == 0.0 and np.isnan(exp[2]) and exp[3] == 1.0 and exp[4] == 1.0
    assert exp[5] == np.inf and exp[6] == 0.0 and exp[7] == 5e-324 and exp[8] == 1.0
    l1p = _elementary("log1p", np.array([np.inf, -1.0, -2.0, np.nan, 0.0, -0.0, 1e-300]), isa)
    assert l1p[0] == np.inf and l1p[1] == -np.inf and np.isnan(l1p[2]) and np.isnan(l1p[3])
    assert l1p[4] == 0.0 and np.signbit(l1p[5]) and l1p[6] == 1e-300
    lg = _elementary("log", np.array([np.inf, 0.0, -1.0, np.nan, 1.0, 5e-324]), isa)
    assert lg[0] == np.inf and lg[1] == -np.inf and np.isnan(lg[2]) and np.isnan(lg[3]) and lg[4] == 0.0
    assert lg[5] == pytest.approx(np.log(5e-324), rel=1e-15)


def test_baseline_and_dispatched_paths_agree(rng=np.random.default_rng(11)):
    """Within the accuracy bound (the last ulp may differ: FMA)."""
    xs = rng.uniform(-700, 700, 5000)
    base = _elementary("exp", xs, 0)
    for isa in (1, 2):
        other = _elementary("exp", xs, isa)
        if other is not None:
            np.testing.assert_allclose(other, base, rtol=3e-16, atol=0)


def test_simd_env_forces_baseline_and_agrees():
    """CROSSENT_SIMD=baseline: show_config names it, and results agree with the
    dispatched path within the accuracy bound."""
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np, crossent, crossent._common as c;"
        "x = np.random.default_rng(1).standard_normal((300, 700)) * 30;"
        "print(c._config()['simd']);"
        "print(repr(crossent.logsumexp(x, axis=1).tolist()))"
    )
    env = dict(os.environ, CROSSENT_SIMD="baseline")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    simd, values = out.stdout.splitlines()
    assert simd == "baseline"
    import crossent

    x = np.random.default_rng(1).standard_normal((300, 700)) * 30
    np.testing.assert_allclose(np.array(eval(values)), crossent.logsumexp(x, axis=1), rtol=4e-16)
