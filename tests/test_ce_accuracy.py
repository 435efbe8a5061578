"""Accuracy of the cross-entropy family against mpmath (50 digits), in ulps of the
result dtype (API.md "Accuracy"):

* per-row cross-entropy: <= 2 ulp at max(|exact|, R), R = the largest |x| of the row
  and |logsumexp|; a dominant label keeps *relative* accuracy (the true 4.25e-18 is
  not 0): checked here at <= 4 ulp of |exact| itself;
* gradients: <= 4 ulp at max(|exact|, the largest gradient magnitude of the row);
* binary cross-entropy with logits, KL divergence: <= 2 ulp at max(|exact|, the
  largest term added), gradients <= 4 ulp at the largest gradient term.

Both kernel paths of the class-axis losses are measured: the row kernel (classes
contiguous) and the across-rows kernel (the class axis strided, or short rows).
"""
import mpmath
import numpy as np
import pytest

import crossent

from _helpers import F32, F64, MP_DPS, dd_from_mp, mp_lse_parts, ulp_errors

LOSS_ULPS = 2
DOMINANT_ULPS = 4
GRAD_ULPS = 4


def _mp(v):
    return mpmath.mpf(float(v))


class ExactRow:
    """mpmath softmax of one row, computed once; the loss and gradient of any label."""

    def __init__(self, row):
        row = np.asarray(row, dtype=np.float64)
        self.row = row
        m, self.L = mp_lse_parts(row)
        with mpmath.workdps(MP_DPS):
            self.m = _mp(m)
            self.lse = self.m + self.L
            e = [mpmath.exp(_mp(v) - self.m) for v in row.tolist()]
            s = mpmath.fsum(e)
            self.p = [ei / s for ei in e]
            self.total = mpmath.fsum(self.p)

    def loss(self, label, weight=1.0):
        with mpmath.workdps(MP_DPS):
            return _mp(weight) * ((self.m - _mp(self.row[label])) + self.L)

    def grad(self, label, weight=1.0):
        with mpmath.workdps(MP_DPS):
            g = list(self.p)
            g[label] = -(self.total - self.p[label])  # p_y - 1 = -(sum of the others)
            return [_mp(weight) * gi for gi in g]


def exact_row(row, label, weight=1.0):
    """(loss, grad, lse) of one row as mpf: w (lse - x_y) and w (softmax - onehot)."""
    ex = ExactRow(row)
    return ex.loss(label, weight), ex.grad(label, weight), ex.lse


def _rows(dtype, rng):
    """Adversarial rows (values exactly representable in dtype) with their labels."""
    big = 1e4 if dtype == F32 else 1e6
    rows = {
        "dominant": np.array([0.0, -40.0, -50.0, -60.0, -45.5]),
        "dominant-far": np.array([0.0, -15.0, -17.25] + [-80.0] * 37),
        "huge-offset": big + np.array([0.0, -0.5, -3.0, -10.0, -1.25]),
        "wide-range": np.array([80.0, -80.0, 0.0, 75.0, -3.0, 79.5]),
        "ties": np.array([5.0, 5.0, 5.0, 1.0, -2.0]),
        "all-equal": np.full(33, 3.0),
        "tiny-diffs": np.array([1e-7, 0.0, -1e-7, 2e-7]),
        "ascending": np.linspace(-30.0, 30.0, 3001),
        "random": rng.standard_normal(2500) * 20,
        "long": rng.standard_normal(20000) * 5,
        "with-minus-inf": np.array([1.0, -np.inf, 0.5, -np.inf, -1.0] * 8),
    }
    out = {}
    for name, row in rows.items():
        row = row.astype(dtype)
        finite = np.where(np.isfinite(row), row, -np.inf)
        labels = sorted({int(np.argmax(finite)), int(np.argmin(np.where(np.isfinite(row), row, np.inf))),
                         int(rng.integers(0, row.size))})
        labels = [y for y in labels if np.isfinite(row[y])]
        out[name] = (row, labels)
    return out


def _call_path(row, label, path, weight=None):
    """Loss and gradient of one row through the chosen kernel path."""
    C = row.size
    w = None if weight is None else np.full(C, weight, dtype=row.dtype)
    if path == "rows":
        x = np.stack([row, row[::-1]])  # 2 rows, classes contiguous
        t = np.array([label, C - 1 - label])
        if C < 32:  # short rows go across; a single 1-D row uses the row kernel
            loss, grad = crossent.cross_entropy(row, np.int64(label), w, reduction="none",
                                                return_grad=True)
            return float(loss), grad
        loss, grad = crossent.cross_entropy(x, t, w, reduction="none", return_grad=True)
        return float(loss[0]), grad[0]
    # across rows: the row as a column of a (C, 3) array, class axis 0 (strided)
    x = np.stack([row, row, row], axis=1)
    t = np.array([label, label, label])
    loss, grad = crossent.cross_entropy(x, t, w, reduction="none", axis=0, return_grad=True)
    return float(loss[1]), grad[:, 1]


@pytest.mark.parametrize("path", ["rows", "across"])
@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
def test_cross_entropy_row_accuracy(dtype, path, rng):
    worst = {}
    failures = []
    for name, (row, labels) in _rows(dtype, rng).items():
        exact = ExactRow(row)
        lse = exact.lse
        for label in labels:
            for weight in (None, 2.5):
                loss, grad = _call_path(row, label, path, weight)
                ex_loss = exact.loss(label, 1.0 if weight is None else weight)
                ex_g = exact.grad(label, 1.0 if weight is None else weight)
                R = max(float(np.max(np.abs(row[np.isfinite(row)]))), abs(float(lse)))
                R *= 1.0 if weight is None else weight
                hi, lo = dd_from_mp([ex_loss])
                err = float(ulp_errors(np.asarray([loss], dtype), (hi, lo), dtype, scale=R)[0])
                worst[name] = max(worst.get(name, 0.0), err)
                if err > LOSS_ULPS:
                    failures.append(f"{name} y={label} w={weight}: loss {err:.2f} ulp")
                if label == int(np.argmax(row)) and float(ex_loss) != 0:
                    rel = float(ulp_errors(np.asarray([loss], dtype), (hi, lo), dtype)[0])
                    if rel > DOMINANT_ULPS:
                        failures.append(f"{name} y={label}: dominant loss {rel:.2f} ulp relative "
                                        f"(got {loss!r}, exact {float(ex_loss)!r})")
                ghi, glo = dd_from_mp(ex_g)
                gscale = float(np.max(np.abs(ghi)))
                gerr = float(np.max(ulp_errors(grad, (ghi, glo), dtype, scale=gscale)))
                if gerr > GRAD_ULPS:
                    failures.append(f"{name} y={label} w={weight}: grad {gerr:.2f} ulp")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
def test_dominant_gradient_is_relative(dtype):
    """The largest gradient of [0, -40, -50] is 4.25e-18: it must not come out 0."""
    row = np.array([0.0, -40.0, -50.0], dtype)
    for path in ("rows", "across"):
        _, grad = _call_path(row, 0, path)
        _, ex_g, _ = exact_row(row, 0)
        hi, lo = dd_from_mp(ex_g)
        err = ulp_errors(grad, (hi, lo), dtype)  # relative to each entry itself
        assert np.all(err <= GRAD_ULPS), (path, grad, hi)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
def test_probability_target_accuracy(dtype, rng):
    """One-hot on the dominant class keeps relative accuracy; soft targets within 2 ulp
    at (sum of |target|) * R."""
    row = np.array([0.0, -40.0, -50.0, -60.0, -45.5] * 8, dtype)
    C = row.size
    onehot = np.zeros(C, dtype)
    onehot[0] = 1.0
    soft = rng.dirichlet(np.ones(C)).astype(dtype)
    for t, name in ((onehot, "onehot"), (soft, "soft")):
        for path in ("rows", "across"):
            if path == "rows":
                loss, grad = crossent.cross_entropy(np.stack([row, row]), np.stack([t, t]),
                                                    reduction="none", return_grad=True)
            else:
                loss, grad = crossent.cross_entropy(np.stack([row] * 3, 1), np.stack([t] * 3, 1),
                                                    axis=0, reduction="none", return_grad=True)
                grad = grad.T
            m, L = mp_lse_parts(row)
            with mpmath.workdps(MP_DPS):
                mm = _mp(m)
                logp = [(_mp(v) - mm) - L for v in row.tolist()]
                ex = -mpmath.fsum(_mp(ti) * lp for ti, lp in zip(t.tolist(), logp))
                W = mpmath.fsum(_mp(ti) for ti in t.tolist())
                ex_g = [mpmath.exp(lp) * W - _mp(ti) for lp, ti in zip(logp, t.tolist())]
            hi, lo = dd_from_mp([ex])
            R = float(np.sum(np.abs(t))) * max(float(np.max(np.abs(row))), abs(float(m + L)))
            scale = 0.0 if name == "onehot" else R
            limit = DOMINANT_ULPS if name == "onehot" else LOSS_ULPS
            err = float(ulp_errors(loss[:1], (hi, lo), dtype, scale=scale)[0])
            assert err <= limit, (name, path, loss[0], float(ex), err)
            ghi, glo = dd_from_mp(ex_g)
            gerr = float(np.max(ulp_errors(grad[0], (ghi, glo), dtype,
                                           scale=float(np.max(np.abs(ghi))))))
            assert gerr <= GRAD_ULPS, (name, path, gerr)


def _mp_softplus(z):
    return mpmath.log1p(mpmath.exp(z))


def _mp_sigmoid(z):
    return 1 / (1 + mpmath.exp(-z))


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
def test_bce_accuracy(dtype):
    xs = [0.0, 1e-12, -1e-12, 0.5, -0.5, 1.0, -3.0, 17.0, -20.0, 40.0, -40.0, 85.0, 90.0,
          -100.0, 300.0, -700.0, 709.0, 745.0, 1e4, -1e4]
    if dtype == F32:
        xs = [v for v in xs if abs(v) < 3e38]
    ts = [0.0, 1.0, 0.5, 0.25, 1e-3]
    pws = [1.0, 2.5]
    X, T, P = (np.array(v, dtype).ravel() for v in np.meshgrid(xs, ts, pws, indexing="ij"))
    W = np.linspace(0.5, 1.5, X.size).astype(dtype)
    loss, grad = crossent.binary_cross_entropy_with_logits(X, T, weight=W, pos_weight=P,
                                                           reduction="none", return_grad=True)
    ex, sc, exg, scg = [], [], [], []
    with mpmath.workdps(MP_DPS):
        for x, t, p, w in zip(X.tolist(), T.tolist(), P.tolist(), W.tolist()):
            x, t, p, w = map(_mp, (x, t, p, w))
            a = w * p * t * _mp_softplus(-x)
            b = w * (1 - t) * _mp_softplus(x)
            ex.append(a + b)
            sc.append(float(max(abs(a), abs(b))))
            ga = w * (1 - t) * _mp_sigmoid(x)
            gb = w * p * t * _mp_sigmoid(-x)
            exg.append(ga - gb)
            scg.append(float(max(abs(ga), abs(gb))))
    hi, lo = dd_from_mp(ex)
    err = ulp_errors(loss, (hi, lo), dtype, scale=np.array(sc))
    bad = np.argmax(err)
    assert err[bad] <= LOSS_ULPS, (X[bad], T[bad], P[bad], loss[bad], hi[bad], err[bad])
    hi, lo = dd_from_mp(exg)
    err = ulp_errors(grad, (hi, lo), dtype, scale=np.array(scg))
    bad = np.argmax(err)
    assert err[bad] <= GRAD_ULPS, (X[bad], T[bad], P[bad], grad[bad], hi[bad], err[bad])


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_accuracy(dtype, log_target, rng):
    x = np.concatenate([rng.standard_normal(200) * 5, [0.0, -1e-9, 50.0, -80.0]]).astype(dtype)
    t = np.concatenate([rng.uniform(0, 1, 150), rng.uniform(1e-30, 1e-3, 50), [1.0, 0.5, 1e-20, 0.3]])
    t = (np.log(t) if log_target else t).astype(dtype)
    loss = crossent.kl_div(x, t, reduction="none", log_target=log_target)
    ex, sc = [], []
    with mpmath.workdps(MP_DPS):
        for xv, tv in zip(x.tolist(), t.tolist()):
            xv, tv = _mp(xv), _mp(tv)
            if log_target:
                a, b = mpmath.exp(tv) * tv, mpmath.exp(tv) * xv
            else:
                a, b = tv * mpmath.log(tv), tv * xv
            ex.append(a - b)
            sc.append(float(max(abs(a), abs(b))))
    hi, lo = dd_from_mp(ex)
    err = ulp_errors(loss, (hi, lo), dtype, scale=np.array(sc))
    assert err.max() <= LOSS_ULPS, (x[np.argmax(err)], t[np.argmax(err)], err.max())
