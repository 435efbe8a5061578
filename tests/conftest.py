"""pytest configuration of the crossent test suite.

- puts this folder on ``sys.path`` so that every test module can ``import _helpers``
  whatever pytest's import mode;
- hypothesis profiles: no deadline (tests never time code), bounded example counts so
  that the whole suite runs in a few minutes on a 2-core machine. The default profile
  is derandomised and reads no example database, so ``python -m pytest tests`` draws
  the same examples on every clone (with the pinned hypothesis version of
  requirements/test.txt). ``CROSSENT_HYPOTHESIS_PROFILE=random`` draws new examples,
  ``=thorough`` many more (tools/fuzz_long.sh); a failure found that way becomes a
  named regression test;
- a seeded ``rng`` fixture, different per test but reproducible.
"""
import os
import sys
import zlib

import numpy as np
import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - hypothesis is a test requirement
    settings = None

if settings is not None:
    _common = dict(
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )
    settings.register_profile("default", max_examples=40, derandomize=True, database=None,
                              **_common)
    settings.register_profile("random", max_examples=40, **_common)
    settings.register_profile("thorough", max_examples=1000, **_common)
    settings.load_profile(os.environ.get("CROSSENT_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def rng(request):
    """A NumPy generator seeded from the test's id: reproducible, different per test."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


def pytest_terminal_summary(terminalreporter):
    """Print the max ulp errors measured by test_accuracy.py, if it ran."""
    table = None
    for mod in list(sys.modules.values()):
        path = getattr(mod, "__file__", None) or ""
        if os.path.basename(path) == "test_accuracy.py" and hasattr(mod, "ULP_TABLE"):
            table = mod.ULP_TABLE
            break
    if not table:
        return
    tr = terminalreporter
    tr.section("crossent max ulp error vs mpmath (API.md bound: 2)")
    for (func, case, dtype), ulps in sorted(table.items()):
        tr.write_line(f"{func:12s} {case:16s} {dtype:8s} {ulps:8.3g}")
    tr.write_line("(peers side by side: python tests/test_accuracy.py)")
