"""The figure of docs/gaussian.md: the Gaussian family of losses on one data set.

Left: for a synthetic regression y = 2 x + noise and the one-parameter model
mean = theta * x, the MSE, the Gaussian NLL with a fixed sigma and the profiled
Gaussian NLL as functions of theta.  They are affine (the fixed-sigma NLL) or
monotone (the profiled NLL) functions of the MSE, so they share their minimiser.
Right: a heteroscedastic fit, mean = a + b x and log variance = c + d x, learned by
gradient descent on crossent.gaussian_nll(..., log_var=..., return_grad=True).

Usage: python docs/gaussian_plot.py [output.png]   (default docs/_static/gaussian_family.png)
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import crossent  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def data(n=400, seed=7):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 3.0, n))
    sigma = 0.15 + 0.35 * x  # the noise grows with x
    y = 2.0 * x + sigma * rng.standard_normal(n)
    return x, y, sigma


def loss_curves(x, y, thetas, sigma_fixed):
    mse = np.array([crossent.mse_loss(t * x, y) for t in thetas])
    fixed = np.array([crossent.gaussian_nll(t * x, y, std=sigma_fixed) for t in thetas])
    profiled = np.array([crossent.gaussian_nll(t * x, y) for t in thetas])
    return mse, fixed, profiled


def heteroscedastic_fit(x, y, steps=600, lr=0.05):
    """mean = a + b x, log variance = c + d x, by gradient descent on the exact NLL."""
    a, b, c, d = 0.0, 1.0, 0.0, 0.0
    history = []
    for _ in range(steps):
        mean, log_var = a + b * x, c + d * x
        loss, g_mean, g_log_var = crossent.gaussian_nll(mean, y, log_var=log_var, return_grad=True)
        history.append(float(loss))
        a -= lr * g_mean.sum()  # d mean / d a = 1, d mean / d b = x (chain rule by hand)
        b -= lr * (g_mean * x).sum()
        c -= lr * g_log_var.sum()
        d -= lr * (g_log_var * x).sum()
    return (a, b, c, d), np.array(history)


def main(out=None):
    out = out or os.path.join(HERE, "_static", "gaussian_family.png")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    x, y, sigma = data()
    thetas = np.linspace(1.4, 2.6, 241)
    sigma_fixed = 0.6
    mse, fixed, profiled = loss_curves(x, y, thetas, sigma_fixed)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 4.3))
    ax.plot(thetas, mse, color="C0", label="MSE")
    ax.set_xlabel(r"model parameter $\theta$ (mean $=\theta x$)")
    ax.set_ylabel("MSE", color="C0")
    ax2 = ax.twinx()
    ax2.plot(thetas, fixed, color="C1", label=rf"Gaussian NLL, fixed $\sigma={sigma_fixed}$")
    ax2.plot(thetas, profiled, color="C2", label=r"Gaussian NLL, $\sigma$ profiled out")
    ax2.set_ylabel("NLL (nats per point)")
    best = thetas[np.argmin(mse)]
    for curve, color in ((mse, "C0"), (fixed, "C1"), (profiled, "C2")):
        ax.axvline(thetas[np.argmin(curve)], color=color, lw=1, ls=":")
    lines = ax.get_lines()[:1] + ax2.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="upper center", fontsize=8)
    ax.set_title(rf"one minimiser: $\hat\theta = {best:.3f}$ for all three")

    (a, b, c, d), history = heteroscedastic_fit(x, y)
    xs = np.linspace(0, 3, 200)
    mean, sd = a + b * xs, np.exp(0.5 * (c + d * xs))
    bx.scatter(x, y, s=6, color="0.55", label="data")
    bx.plot(xs, mean, color="C3", label="fitted mean")
    bx.fill_between(xs, mean - 2 * sd, mean + 2 * sd, color="C3", alpha=0.18,
                    label=r"fitted $\pm 2\sigma(x)$ (learned log-variance)")
    bx.plot(xs, 2 * xs + 2 * (0.15 + 0.35 * xs), color="k", lw=0.8, ls="--", label=r"true $\pm 2\sigma(x)$")
    bx.plot(xs, 2 * xs - 2 * (0.15 + 0.35 * xs), color="k", lw=0.8, ls="--")
    bx.set_xlabel("x")
    bx.set_ylabel("y")
    bx.set_title(f"heteroscedastic fit: NLL {history[0]:.2f} → {history[-1]:.3f} nats in {len(history)} steps")
    bx.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else None))
