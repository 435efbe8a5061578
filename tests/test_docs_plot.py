"""docs/gaussian_plot.py runs (into a temporary file, no display) so docs/gaussian.md
cannot rot; and the claims the figure illustrates hold."""
import importlib.util
import os

import numpy as np
import pytest

pytest.importorskip("matplotlib")

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(HERE), "docs", "gaussian_plot.py")


def _load():
    spec = importlib.util.spec_from_file_location("gaussian_plot", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_plot_script_writes_the_figure(tmp_path):
    mod = _load()
    out = tmp_path / "sub" / "gaussian_family.png"
    assert mod.main(str(out)) == str(out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_the_figures_claims():
    mod = _load()
    x, y, _ = mod.data()
    thetas = np.linspace(1.4, 2.6, 241)
    mse, fixed, profiled = mod.loss_curves(x, y, thetas, 0.6)
    # one minimiser for the three curves
    assert np.argmin(mse) == np.argmin(fixed) == np.argmin(profiled)
    # and the fitted heteroscedastic model beats every homoscedastic one
    (a, b, c, d), history = mod.heteroscedastic_fit(x, y)
    assert history[-1] < history[0] and d > 0
    assert history[-1] < float(np.min(profiled))
