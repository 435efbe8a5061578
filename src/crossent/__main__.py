"""``python -m crossent``: a self-check and a short side-by-side timing.

The self-check compares every public function of ``crossent.__all__`` (the
functions; ``get_include`` and ``show_config`` aside) with
``crossent.reference`` (the NumPy statement of each formula), in float64 and
float32, on random and hard inputs (-inf, +inf, NaN, dominant classes, values
near overflow and underflow, zero variances):

* primitives: each axis form, ``b`` / ``return_sign`` / ``keepdims``, array
  ``loc`` / ``scale``;
* losses: each reduction, with and without ``return_grad=True`` (every gradient
  compared too); ``cross_entropy`` with class-index and probability targets,
  ``weight``, ``ignore_index``, ``label_smoothing`` and the class axis;
  ``nll_loss`` likewise; BCE ``weight`` / ``pos_weight``; ``kl_div``
  ``log_target`` and ``"batchmean"``; ``gaussian_nll_loss`` scalar, full-shape
  and reduced ``var``, ``full=True``, ``eps``; ``poisson_nll_loss``
  ``log_input`` both ways and ``full``; ``gaussian_nll`` with ``var``,
  ``log_var``, ``std`` and the profiled variance, with broadcasting;
  ``mse_loss`` / ``l1_loss`` / ``huber_loss`` ``weight``, ``smooth_l1_loss``
  ``beta`` (0 included), ``huber_loss`` ``delta``, ``binary_cross_entropy``
  with ``weight`` and inputs 0 and 1 (the clamp);
* bitwise identical results for ``n_threads`` 1 and 2.

A result agrees when it has the reference's type, shape and dtype, NaN and
+-inf at the same places, and finite values within rtol (1e-12 float64,
3e-6 float32; 1e-13 float64 for the primitives) at max(|reference|, the
magnitude of the terms the value adds up), the scale of API.md's accuracy
bound; a gradient at the largest gradient magnitude of its row (class-axis
losses; for ``cross_entropy`` at least w_y / divisor at the label, where the
reference's p_y - 1 is exact only to an ulp of 1, and the size of the terms
with smoothing or probability targets) or of its array.  A public function without a check fails the self-check
("MISSING check: name"), so that a new function cannot be forgotten.  Each
failing check is printed; the exit code is 1 if any fails.

The timing table puts crossent beside the NumPy reference, and SciPy / PyTorch
(``torch.nn.functional``, 2 threads; autograd ``backward`` for "+ grad") when
they are installed, one case per family, on this machine: medians of
interleaved calls, ratio = library / crossent.  Well under a minute;
``--quick`` runs a smaller, shorter timing and ``--no-timing`` none.
"""
import argparse
import sys
import time

import numpy as np

import crossent
from crossent import reference

# public names of crossent.__all__ that are functions but compute nothing to check
_NOT_CHECKED = ("get_include", "show_config")
_REDUCTIONS = ("none", "mean", "sum")
_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


# ---------------------------------------------------------------------------- comparing

def _close(got, want, rtol, atol=0.0):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    same_special = np.array_equal(np.isnan(got), np.isnan(want)) and np.array_equal(
        got[np.isinf(got)], want[np.isinf(want)]
    )
    finite = np.isfinite(want)
    atol = np.broadcast_to(np.asarray(atol, dtype=np.float64), want.shape)[finite]
    return same_special and np.allclose(got[finite], want[finite], rtol=rtol, atol=atol)


def _agree(got, want, rtol, scale=0.0):
    """``got`` is ``want``: array or NumPy scalar alike, same shape and dtype, NaN and inf
    at the same places, finite values within ``rtol`` at max(|want|, ``scale``)."""
    if isinstance(got, np.ndarray) != isinstance(want, np.ndarray):
        return False
    g, w = np.asarray(got), np.asarray(want)
    if g.shape != w.shape or g.dtype != w.dtype:
        return False
    with np.errstate(all="ignore"):
        scale = np.abs(np.asarray(scale, dtype=np.float64))
        scale = np.where(np.isfinite(scale), scale, 0.0)
    return _close(g, w, rtol, atol=rtol * scale + 1e-300)


def _case(label, name, args, kwargs, rtol, scales=None):
    """(label, ok): ``crossent.<name>`` and ``reference.<name>`` on the same arguments,
    every output compared (``scales``: a list, or a callable of the reference's outputs)."""
    try:
        got = getattr(crossent, name)(*args, **kwargs)
        want = getattr(reference, name)(*args, **kwargs)
        got_t = got if isinstance(got, tuple) else (got,)
        want_t = want if isinstance(want, tuple) else (want,)
        if len(got_t) != len(want_t):
            return (f"{label} ({len(got_t)} outputs, reference {len(want_t)})", False)
        if callable(scales):
            scales = scales(want_t)
        scales = list(scales or []) + [0.0] * (len(want_t) - len(scales or []))
        return (label, all(_agree(g, w, rtol, s) for g, w, s in zip(got_t, want_t, scales)))
    except Exception as exc:  # a crash is a failed check, not a crashed self-check
        return (f"{label} (raised {type(exc).__name__}: {exc})", False)


def _finite_abs(a):
    with np.errstate(all="ignore"):
        a = np.abs(np.asarray(a, dtype=np.float64))
        return np.where(np.isfinite(a), a, 0.0)


def _loss_scale(terms, reduction, batch=1):
    """Magnitude of what a reduced loss adds up, from the per-element term magnitudes."""
    t = _finite_abs(terms)
    with np.errstate(over="ignore"):  # an infinite scale is no scale (_agree)
        if reduction == "none":
            return t
        if reduction == "sum":
            return float(np.sum(t))
        if reduction == "batchmean":
            return float(np.sum(t)) / max(batch, 1)
        return float(np.max(t, initial=0.0))  # a mean is at most the largest term


def _array_scale(g, reduction=None):
    """A gradient's scale: its largest finite magnitude."""
    return float(np.max(_finite_abs(g), initial=0.0))


def _row_scale(axis):
    """A class-axis gradient's scale: the largest finite magnitude of each row."""
    def scale(g, reduction=None):
        g = _finite_abs(g)
        return np.max(g, axis=axis, keepdims=True, initial=0.0) if g.ndim else g
    return scale


def _loss_checks(name, tag, args, kwargs, rtol, terms=None, grad_scale=_array_scale,
                 reductions=_REDUCTIONS, batch=1):
    """Checks of one loss case: each reduction, loss alone and loss with gradient(s).

    ``terms``: the magnitude of the terms each element of the ``"none"`` loss adds up
    (default: |the reference's ``"none"`` loss|, for losses without cancellation inside
    an element); ``grad_scale(grad, reduction)``: the scale of each gradient."""
    if terms is None:
        try:
            terms = getattr(reference, name)(*args, **dict(kwargs, reduction="none"))
        except Exception:
            terms = 0.0
    out = []
    for red in reductions:
        ls = _loss_scale(terms, red, batch)
        kw = dict(kwargs, reduction=red)
        out.append(_case(f"{name} {tag} reduction={red}", name, args, kw, rtol, [ls]))
        out.append(_case(f"{name} {tag} reduction={red} grad", name, args, dict(kw, return_grad=True),
                         rtol, lambda want, ls=ls: [ls] + [grad_scale(g, red) for g in want[1:]]))
    return out


def _f64(a):
    return np.asarray(a, dtype=np.float64)


# ---------------------------------------------------------------------------- primitives

def _check_softmax_family(fname):
    def check(rng, dtype, tag, rtol):
        rtol = 1e-13 if dtype == np.float64 else rtol
        x = (rng.standard_normal((64, 300)) * 20).astype(dtype)
        hard = np.array([[0.0, -40.0, -1e3, -np.inf], [700, -700, 3, 3], [1, 1, 1, 1]], dtype)
        out = []
        for what, arr, axis in (("", x, 1), ("", x, 0), ("transposed ", x.T, 1), ("hard ", hard, 1),
                                ("", x, None), ("", x, (0, 1)), ("", x, -1)):
            out.append(_case(f"{fname} {tag} {what}axis={axis}", fname, (arr,), {"axis": axis}, rtol))
        return out
    return check


def _check_logsumexp(rng, dtype, tag, rtol):
    out = _check_softmax_family("logsumexp")(rng, dtype, tag, rtol)
    rtol = 1e-13 if dtype == np.float64 else rtol
    x = (rng.standard_normal((40, 50)) * 10).astype(dtype)
    b = rng.uniform(0.0, 2.0, x.shape).astype(dtype)
    b[:, ::7] = 0
    out.append(_case(f"logsumexp {tag} b>=0 axis=1", "logsumexp", (x,), {"axis": 1, "b": b}, rtol))
    out.append(_case(f"logsumexp {tag} b<0 return_sign", "logsumexp", (x,),
                     {"axis": 1, "b": -b - 0.5, "return_sign": True}, rtol))
    out.append(_case(f"logsumexp {tag} b row (50,) broadcast", "logsumexp", (x,),
                     {"axis": 0, "b": b[0]}, rtol))
    out.append(_case(f"logsumexp {tag} keepdims axis=1", "logsumexp", (x,),
                     {"axis": 1, "keepdims": True}, rtol))
    edge = np.array([[-np.inf, -np.inf], [np.inf, 0], [np.nan, 0], [1e3, 1e3]], dtype)
    out.append(_case(f"logsumexp {tag} -inf/inf/nan rows", "logsumexp", (edge,), {"axis": 1}, rtol))
    out.append(_case(f"logsumexp {tag} empty axis", "logsumexp", (np.zeros((3, 0), dtype),),
                     {"axis": 1}, rtol))
    if dtype == np.float64:
        ok = float(crossent.logsumexp([0.0, -40.0])) == float(reference.logsumexp([0.0, -40.0]))
        out.append(("logsumexp keeps [0, -40] -> 4.25e-18", ok))
        big = rng.standard_normal((300, 1000))
        out.append(("logsumexp same bits for n_threads 1 and 2",
                    np.array_equal(crossent.logsumexp(big, axis=1, n_threads=1),
                                   crossent.logsumexp(big, axis=1, n_threads=2))))
    return out


def _check_log_expit(rng, dtype, tag, rtol):
    rtol = 1e-13 if dtype == np.float64 else rtol
    v = (rng.standard_normal(1000) * 50).astype(dtype)
    hard = np.array([-np.inf, np.inf, np.nan, 0.0, -800, 800, -40, 40, -1e-30, 1e-30], dtype)
    return [_case(f"log_expit {tag}", "log_expit", (v,), {}, rtol),
            _case(f"log_expit {tag} hard", "log_expit", (hard,), {}, rtol)]


def _check_norm_logpdf(rng, dtype, tag, rtol):
    rtol = 1e-13 if dtype == np.float64 else rtol
    v = (rng.standard_normal(1000) * 50).astype(dtype)
    loc = rng.standard_normal(1000).astype(dtype)
    scale = rng.uniform(0.1, 10.0, 1000).astype(dtype)
    scale[::50] = 0.0
    scale[1::50] = -1.0  # scale <= 0 gives NaN, as SciPy
    hard = np.array([-np.inf, np.inf, np.nan, 0.0, 1e30, -1e-30], dtype)
    return [_case(f"norm_logpdf {tag}", "norm_logpdf", (v, 1.5, 3.0), {}, rtol),
            _case(f"norm_logpdf {tag} array loc/scale", "norm_logpdf", (v, loc, scale), {}, rtol),
            _case(f"norm_logpdf {tag} hard", "norm_logpdf", (hard,), {}, rtol)]


# ------------------------------------------------------------------ class-axis losses

def _hard_logits(dtype):
    """Rows of 7 logits: dominant class, +-700, ties, all -inf, +inf, NaN, large offset."""
    big = 1e4 if dtype == np.float32 else 1e6
    inf, nan = np.inf, np.nan
    return np.array([
        [0.0, -40.0, -50.0, -inf, -60.0, -45.5, -1e3],
        [700.0, -700.0, 3.0, 3.0, 0.0, 1.0, 2.0],
        [1.0] * 7,
        [-inf] * 7,
        [inf, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        [nan, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        [big, big - 0.5, big - 3.0, big - 10.0, big - 1.25, big - 0.25, big - 2.0],
    ], dtype)


def _ce_terms(x, axis):
    """Per-row magnitude of a cross-entropy: 2 max(largest |x| of the row, |logsumexp|)."""
    x = _f64(x)
    ax = 1 if axis is None and x.ndim > 1 else (0 if axis is None else axis)
    lse = _finite_abs(reference.logsumexp(x, axis=ax))
    return 2.0 * np.maximum(np.max(_finite_abs(x), axis=ax), lse)


def _ce_grad_scale(args, kw):
    """Scale of a cross-entropy gradient.  Class indices without smoothing: the row's
    largest gradient magnitude (API.md), and w_y / divisor at the label, since the
    reference's p_y - 1 is only exact to an ulp of 1 (crossent's has no cancellation).
    Otherwise 3 max(w) / divisor, the size of the terms of the gradient."""
    x, t = args[0], np.asarray(args[1])
    c = x.shape[(1 if x.ndim > 1 else 0) if kw.get("axis") is None else kw["axis"]]
    ax = ((1 if x.ndim > 1 else 0) if kw.get("axis") is None else kw["axis"]) % x.ndim
    w = np.broadcast_to(np.ones(1) if len(args) < 3 else _f64(args[2]), (c,))
    index = t.dtype.kind in "iu"
    ignore = kw.get("ignore_index", -100)

    def scale(g, reduction):
        if reduction != "mean":
            k = 1.0
        else:
            divisor = np.sum(w[t[t != ignore]]) if index else x.size // c
            k = 1.0 / divisor if divisor else 0.0
        if index and not kw.get("label_smoothing"):
            tt = np.expand_dims(t, ax)
            classes = np.arange(c).reshape([-1 if i == ax else 1 for i in range(x.ndim)])
            w_y = np.where(tt != ignore, w[np.where(tt != ignore, tt, 0)], 0.0)
            return np.maximum(_row_scale(ax)(g), (classes == tt) * w_y * k)
        return 3.0 * np.max(w) * k
    return scale


def _check_cross_entropy(rng, dtype, tag, rtol):
    n, c = 48, 7
    x = (rng.standard_normal((n, c)) * 5).astype(dtype)
    y = rng.integers(0, c, n)
    y_ign = y.copy()
    y_ign[::5] = -100
    w = rng.uniform(0.5, 2.0, c).astype(dtype)
    p = reference.softmax(rng.standard_normal((n, c)) * 2, axis=1).astype(dtype)
    x3 = (rng.standard_normal((4, c, 5)) * 5).astype(dtype)
    y3 = rng.integers(0, c, (4, 5))
    p3 = reference.softmax(rng.standard_normal((4, c, 5)), axis=1).astype(dtype)
    x3l = np.moveaxis(x3, 1, -1).copy()
    hard = _hard_logits(dtype)
    y_hard = np.array([0, 1, 2, 3, 4, 5, 6])
    p_hard = np.where(np.isneginf(hard[0]), 0.0, 1.0)  # a zero target on the -inf logit
    p_hard = np.broadcast_to(p_hard / p_hard.sum(), hard.shape).astype(dtype)
    wmax = float(np.max(w))
    cases = [
        ("index", (x, y), {}, 1.0),
        ("index weight", (x, y, w), {}, wmax),
        ("index ignored rows", (x, y_ign), {}, 1.0),
        ("index ignore_index=3", (x, y), {"ignore_index": 3}, 1.0),
        ("index label_smoothing=0.1", (x, y), {"label_smoothing": 0.1}, 1.0),
        ("index weight ignored label_smoothing=0.2", (x, y_ign, w), {"label_smoothing": 0.2}, wmax),
        ("index all ignored", (x, np.full(n, -100)), {}, 1.0),
        ("index int32 3-d", (x3, y3.astype(np.int32)), {}, 1.0),
        ("index axis=-1", (x3l, y3), {"axis": -1}, 1.0),
        ("index hard rows", (hard, y_hard), {}, 1.0),
        ("probabilities", (x, p), {}, 1.0),
        ("probabilities weight label_smoothing=0.1", (x, p, w), {"label_smoothing": 0.1}, wmax),
        ("probabilities 3-d", (x3, p3), {}, 1.0),
        ("probabilities hard rows", (hard, p_hard), {}, 1.0),
    ]
    out = []
    for what, args, kw, wscale in cases:
        out += _loss_checks("cross_entropy", f"{tag} {what}", args, kw, rtol,
                            terms=_ce_terms(args[0], kw.get("axis")) * wscale,
                            grad_scale=_ce_grad_scale(args, kw))
    if dtype == np.float64:
        big = rng.standard_normal((2000, 100))
        yb = rng.integers(0, 100, 2000)
        r1 = crossent.cross_entropy(big, yb, return_grad=True, n_threads=1)
        r2 = crossent.cross_entropy(big, yb, return_grad=True, n_threads=2)
        out.append(("cross_entropy same bits for n_threads 1 and 2",
                    all(np.array_equal(a, b) for a, b in zip(r1, r2))))
    return out


def _check_nll_loss(rng, dtype, tag, rtol):
    n, c = 48, 7
    logp = reference.log_softmax(rng.standard_normal((n, c)) * 3, axis=1).astype(dtype)
    raw = (rng.standard_normal((n, c)) * 3).astype(dtype)  # mixed signs: sums cancel
    y = rng.integers(0, c, n)
    y_ign = y.copy()
    y_ign[::4] = -100
    w = rng.uniform(0.5, 2.0, c).astype(dtype)
    x3 = reference.log_softmax(rng.standard_normal((3, c, 4)), axis=1).astype(dtype)
    y3 = rng.integers(0, c, (3, 4))
    hard = np.array([[-np.inf, 0.0, -1e-300], [np.nan, -1.0, -2.0], [-1e30, 0.0, -5.0]], dtype)
    cases = [
        ("log-probabilities", (logp, y), {}),
        ("mixed-sign input", (raw, y), {}),
        ("weight", (logp, y, w), {}),
        ("ignored rows weight", (logp, y_ign, w), {}),
        ("ignore_index=2", (raw, y), {"ignore_index": 2}),
        ("all ignored", (logp, np.full(n, -100)), {}),
        ("int8 3-d", (x3, y3.astype(np.int8)), {}),
        ("axis=-1", (np.moveaxis(x3, 1, -1).copy(), y3), {"axis": -1}),
        ("1-d", (logp[0], np.int64(3)), {}),
        ("hard", (hard, np.array([0, 0, 0])), {}),
    ]
    out = []
    for what, args, kw in cases:  # -w x_y: no cancellation inside a row
        ax = (1 if args[0].ndim > 1 else 0) if kw.get("axis") is None else kw["axis"]
        out += _loss_checks("nll_loss", f"{tag} {what}", args, kw, rtol, grad_scale=_row_scale(ax))
    return out


# ------------------------------------------------------------------ elementwise losses

def _check_bce(rng, dtype, tag, rtol):
    n, c = 40, 6
    x = (rng.standard_normal((n, c)) * 4).astype(dtype)
    t = rng.uniform(0.0, 1.0, (n, c)).astype(dtype)
    t01 = rng.integers(0, 2, (n, c)).astype(dtype)
    w_c = rng.uniform(0.5, 2.0, c).astype(dtype)
    w_full = rng.uniform(0.0, 2.0, (n, c)).astype(dtype)
    pw = rng.uniform(0.5, 3.0, c).astype(dtype)
    hx = np.array([-40, 40, -700, 700, 0, -np.inf, np.inf, np.nan, 1e-30], dtype)
    hx = np.concatenate([hx, hx, hx])
    ht = np.repeat(np.array([0.0, 1.0, 0.5], dtype), 9)
    cases = [
        ("soft targets", (x, t), {}, 1.0, 1.0),
        ("0/1 targets", (x, t01), {}, 1.0, 1.0),
        ("weight (C,)", (x, t), {"weight": w_c}, w_c, 1.0),
        ("pos_weight (C,)", (x, t01), {"pos_weight": pw}, 1.0, pw),
        ("weight and pos_weight", (x, t), {"weight": w_full, "pos_weight": pw}, w_full, pw),
        ("hard", (hx, ht), {}, 1.0, 1.0),
    ]
    out = []
    for what, (xi, ti), kw, wi, pwi in cases:
        x64, t64 = _f64(xi), _f64(ti)
        with np.errstate(all="ignore"):  # w (p t softplus(-x) + (1-t) softplus(x)) <= w (p t + 1-t)(|x| + 1)
            terms = _f64(wi) * (np.abs(_f64(pwi) * t64) + np.abs(1 - t64)) * (np.abs(x64) + 1.0)
        out += _loss_checks("binary_cross_entropy_with_logits", f"{tag} {what}", (xi, ti), kw, rtol, terms)
    return out


def _check_kl_div(rng, dtype, tag, rtol):
    n, c = 32, 9
    x = reference.log_softmax(rng.standard_normal((n, c)) * 2, axis=1).astype(dtype)
    t = reference.softmax(rng.standard_normal((n, c)) * 2, axis=1).astype(dtype)
    t[::3, ::4] = 0.0
    lt = reference.log_softmax(rng.standard_normal((n, c)) * 2, axis=1).astype(dtype)
    lt[::3, ::4] = -np.inf
    hx = np.array([-np.inf, -np.inf, 0.0, -1e3, np.nan, -1.0], dtype)
    ht = np.array([0.0, 0.5, 0.0, 1.0, 0.25, np.nan], dtype)
    hlt = np.array([-np.inf, 0.0, -np.inf, -800.0, -1.0, 1.0], dtype)
    out = []
    for what, xi, ti, log_target in (("", x, t, False), ("log_target", x, lt, True),
                                     ("hard", hx, ht, False), ("hard log_target", hx, hlt, True)):
        x64, t64 = _f64(xi), _f64(ti)
        with np.errstate(all="ignore"):
            if log_target:
                terms = np.exp(t64) * (np.abs(t64) + np.abs(x64))
            else:
                terms = np.where(t64 == 0, 0.0, np.abs(t64 * np.log(t64)) + np.abs(t64 * x64))
        out += _loss_checks("kl_div", f"{tag} {what}".rstrip(), (xi, ti), {"log_target": log_target}, rtol,
                            terms, reductions=_REDUCTIONS + ("batchmean",), batch=xi.shape[0])
    return out


def _check_mse_loss(rng, dtype, tag, rtol):
    x = (rng.standard_normal((40, 25)) * 3).astype(dtype)
    t = (rng.standard_normal((40, 25)) * 3).astype(dtype)
    big, tiny = (1e154, 1e-160) if dtype == np.float64 else (1e19, 1e-20)
    hx = np.array([big, -big, big, tiny, 0.0, np.inf, np.inf, np.nan, 1.0], dtype)
    ht = np.array([-0.3 * big, 0.3 * big, big, -tiny, 0.0, 1.0, np.inf, 1.0, np.nan], dtype)
    return (_loss_checks("mse_loss", f"{tag}", (x, t), {}, rtol)
            + _loss_checks("mse_loss", f"{tag} 1-d", (x[0], t[0]), {}, rtol)
            + _loss_checks("mse_loss", f"{tag} hard", (hx, ht), {}, rtol)
            + _loss_checks("mse_loss", f"{tag} weight", (x, t),
                           {"weight": rng.uniform(0.0, 2.0, x.shape).astype(dtype)}, rtol,
                           2.0 * (_f64(x) - _f64(t)) ** 2))


def _l1_family_cases(rng, dtype):
    """Random and hard residuals (kinks at 0 and +-1, near overflow, inf, NaN)."""
    x = (rng.standard_normal((40, 25)) * 3).astype(dtype)
    t = (rng.standard_normal((40, 25)) * 3).astype(dtype)
    big = 1e300 if dtype == np.float64 else 1e37
    hx = np.array([big, -big, 1.0, 0.0, 2.0, -1.0, np.inf, np.inf, np.nan, 1e-30], dtype)
    ht = np.array([-big, big, 1.0, 1.0, 1.0, 0.0, 1.0, np.inf, 1.0, 0.0], dtype)
    return x, t, hx, ht


def _l1_terms(x, t, k=1.0, w=1.0):
    with np.errstate(all="ignore"):
        return _f64(w) * k * (np.abs(_f64(x) - _f64(t)) + k)


def _check_l1_loss(rng, dtype, tag, rtol):
    x, t, hx, ht = _l1_family_cases(rng, dtype)
    w = rng.uniform(0.0, 2.0, x.shape).astype(dtype)
    return (_loss_checks("l1_loss", tag, (x, t), {}, rtol)
            + _loss_checks("l1_loss", f"{tag} weight", (x, t), {"weight": w}, rtol, _l1_terms(x, t, w=w))
            + _loss_checks("l1_loss", f"{tag} broadcast", (x[:, :1], t), {}, rtol)
            + _loss_checks("l1_loss", f"{tag} hard", (hx, ht), {}, rtol, _l1_terms(hx, ht)))


def _check_smooth_l1_loss(rng, dtype, tag, rtol):
    x, t, hx, ht = _l1_family_cases(rng, dtype)
    return (_loss_checks("smooth_l1_loss", tag, (x, t), {}, rtol, _l1_terms(x, t))
            + _loss_checks("smooth_l1_loss", f"{tag} beta 0.5", (x, t), {"beta": 0.5}, rtol,
                           _l1_terms(x, t, 1.0 / 0.5))
            + _loss_checks("smooth_l1_loss", f"{tag} beta 0", (x, t), {"beta": 0.0}, rtol)
            + _loss_checks("smooth_l1_loss", f"{tag} hard", (hx, ht), {}, rtol, _l1_terms(hx, ht)))


def _check_huber_loss(rng, dtype, tag, rtol):
    x, t, hx, ht = _l1_family_cases(rng, dtype)
    w = rng.uniform(0.0, 2.0, x.shape).astype(dtype)
    return (_loss_checks("huber_loss", tag, (x, t), {}, rtol, _l1_terms(x, t))
            + _loss_checks("huber_loss", f"{tag} delta 2 weight", (x, t), {"delta": 2.0, "weight": w},
                           rtol, _l1_terms(x, t, 2.0, w))
            + _loss_checks("huber_loss", f"{tag} hard", (hx, ht), {}, rtol, _l1_terms(hx, ht)))


def _check_binary_cross_entropy(rng, dtype, tag, rtol):
    p = rng.uniform(0.0, 1.0, (40, 6)).astype(dtype)
    t = rng.uniform(0.0, 1.0, (40, 6)).astype(dtype)
    w = rng.uniform(0.5, 2.0, 6).astype(dtype)
    hp = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 1e-30, 1.0 - 1e-7, 1e-45], dtype)
    ht = np.array([0.0, 1.0, 1.0, 0.0, 0.5, 1.0, 0.0, 0.3], dtype)
    terms = lambda pi, ti, wi=1.0: _f64(wi) * 101.0 * (np.abs(_f64(ti)) + np.abs(1 - _f64(ti)))  # noqa: E731
    return (_loss_checks("binary_cross_entropy", tag, (p, t), {}, rtol, terms(p, t))
            + _loss_checks("binary_cross_entropy", f"{tag} weight (C,)", (p, t), {"weight": w}, rtol,
                           terms(p, t, w))
            + _loss_checks("binary_cross_entropy", f"{tag} hard", (hp, ht), {}, rtol, terms(hp, ht)))


def _gauss_terms(name, x, t, param, **kw):
    """Term magnitudes of a Gaussian NLL: |1/2 log 2pi| + |1/2 log var| + 1/2 r^2/var, taken
    from the reference itself (at r = 0 it is the log-variance part), so that its
    broadcasting rules are the reference's own."""
    none = _f64(getattr(reference, name)(x, t, param, reduction="none", **kw))
    at_zero = _f64(getattr(reference, name)(x, x, param, reduction="none", **kw))
    const = _HALF_LOG_2PI if name == "gaussian_nll" or kw.get("full") else 0.0
    with np.errstate(all="ignore"):
        return const + np.abs(at_zero - const) + np.abs(none - at_zero)


def _check_gaussian_nll_loss(rng, dtype, tag, rtol):
    n, c = 30, 8
    x = rng.standard_normal((n, c)).astype(dtype)
    t = (x + 1.5 * rng.standard_normal((n, c))).astype(dtype)
    v_full = rng.uniform(0.2, 0.6, (n, c)).astype(dtype)
    v_rows = rng.uniform(0.2, 0.5, n).astype(dtype)
    v_col = rng.uniform(0.2, 0.5, (n, 1)).astype(dtype)
    v_small = v_full.copy()
    v_small[::3] = 0.0
    v_small[1::3] = 1e-9  # clamped to eps, straight-through gradient
    hx = np.array([0.0, 1.0, np.nan, np.inf, 1e30, -2.0], dtype)
    ht = np.array([0.0, 1.0, 0.0, 1.0, -1e30, -2.0], dtype)
    hv = np.array([0.0, 0.0, 1.0, 1.0, 1e-3, 1e30], dtype)
    cases = [
        ("scalar var", (x, t, 0.3), {}),
        ("full-shape var", (x, t, v_full), {}),
        ("var without last dim", (x, t, v_rows), {}),
        ("var (N, 1)", (x, t, v_col), {}),
        ("full=True", (x, t, v_full), {"full": True}),
        ("var below eps=1e-3", (x, t, v_small), {"eps": 1e-3}),
        ("var 0 and 1e-9, default eps", (x, t, v_small), {}),
        ("hard full=True", (hx, ht, hv), {"full": True}),
    ]
    out = []
    for what, (xi, ti, vi), kw in cases:
        terms = _gauss_terms("gaussian_nll_loss", xi, ti, vi, **kw)
        out += _loss_checks("gaussian_nll_loss", f"{tag} {what}", (xi, ti, vi), kw, rtol, terms)
    return out


def _poisson_terms(x, t, log_input, full, eps):
    x, t = _f64(x), _f64(t)
    with np.errstate(all="ignore"):
        if log_input:
            terms = np.exp(x) + np.where(t == 0, 0.0, np.abs(t * x))
        else:
            terms = np.abs(x) + np.where(t == 0, 0.0, np.abs(t * np.log(x + eps)))
        if full:
            terms = terms + np.where(t > 1, np.abs(t * np.log(t)) + t + np.abs(0.5 * np.log(2 * np.pi * t)), 0.0)
    return terms


def _check_poisson_nll_loss(rng, dtype, tag, rtol):
    shape = (30, 10)
    logr = (rng.standard_normal(shape) * 1.5).astype(dtype)
    rate = rng.uniform(0.0, 6.0, shape).astype(dtype)
    rate[::4, ::3] = 0.0
    t = rng.poisson(3.0, shape).astype(dtype)
    hl = np.array([-np.inf, -np.inf, 50.0, -50.0, 0.0, np.nan, 80.0 if dtype == np.float64 else 20.0], dtype)
    hr = np.array([0.0, 0.0, 1e-30, np.inf, 1e30, np.nan, 2.0], dtype)
    ht = np.array([0.0, 3.0, 0.0, 2.0, 1e6, 1.0, 1e30 if dtype == np.float64 else 1e20], dtype)
    out = []
    for what, xi, ti, kw in (
        ("log_input=True", logr, t, {"log_input": True}),
        ("log_input=False", rate, t, {"log_input": False}),
        ("log_input=True full=True", logr, t, {"log_input": True, "full": True}),
        ("log_input=False full=True eps=1e-3", rate, t, {"log_input": False, "full": True, "eps": 1e-3}),
        ("hard log_input=True full=True", hl, ht, {"log_input": True, "full": True}),
        ("hard log_input=False full=True", hr, ht, {"log_input": False, "full": True}),
    ):
        terms = _poisson_terms(xi, ti, kw["log_input"], kw.get("full", False), kw.get("eps", 1e-8))
        out += _loss_checks("poisson_nll_loss", f"{tag} {what}", (xi, ti), kw, rtol, terms)
    return out


def _check_gaussian_nll(rng, dtype, tag, rtol):
    n, c = 30, 8
    x = rng.standard_normal((n, c)).astype(dtype)
    t = (x + 1.5 * rng.standard_normal((n, c))).astype(dtype)
    x_col = rng.standard_normal((n, 1)).astype(dtype)  # broadcast against target: grad summed back
    var_c = rng.uniform(0.2, 0.5, c).astype(dtype)
    log_var = (rng.standard_normal((n, c)) * 3).astype(dtype)
    std = rng.uniform(0.3, 0.7, (n, c)).astype(dtype)
    inf, nan = np.inf, np.nan
    hx = np.array([0.0, 1.0, 0.0, 1.0, nan, 1e30, -3.0], dtype)
    ht = np.array([0.0, 0.0, 0.0, -1.0, 0.0, -1e30, 2.0], dtype)
    hvar = np.array([0.0, 0.0, 1.0, 1e-30, 1.0, 1e30, 1e-3], dtype)
    hlog = np.array([-inf, -inf, 800.0, -800.0, 0.0, 150.0, -40.0], dtype)
    hstd = np.array([0.0, 0.0, 1.0, 1e-15, 1.0, 1e15, 3.0], dtype)
    cases = [
        ("var (C,)", x, t, {"var": var_c}),
        ("var scalar, input (N, 1)", x_col, t, {"var": 0.35}),
        ("log_var", x, t, {"log_var": log_var}),
        ("log_var (C,) input (N, 1)", x_col, t, {"log_var": log_var[0]}),
        ("std", x, t, {"std": std}),
        ("std scalar", x, t, {"std": 0.5}),
        ("profiled", x, t, {}),
        ("profiled input (N, 1)", x_col, t, {}),
        ("hard var", hx, ht, {"var": hvar}),
        ("hard log_var", hx, ht, {"log_var": hlog}),
        ("hard std", hx, ht, {"std": hstd}),
        ("profiled zero residuals", x, x.copy(), {}),
        ("profiled hard", hx[[2, 3, 5, 6]], ht[[2, 3, 5, 6]], {}),
    ]
    out = []
    for what, xi, ti, kw in cases:
        try:
            if kw:
                (pname, pval), = kw.items()
                none = _f64(reference.gaussian_nll(xi, ti, reduction="none", **kw))
                zero = _f64(reference.gaussian_nll(xi, xi, reduction="none", **kw))
            else:  # profiled: the mean is 1/2 (log 2 pi sigma2 + 1)
                none = _f64(reference.gaussian_nll(xi, ti, reduction="none"))
                zero = _f64(reference.gaussian_nll(xi, ti, reduction="mean")) - 0.5
            with np.errstate(all="ignore"):
                terms = _HALF_LOG_2PI + np.abs(zero - _HALF_LOG_2PI) + np.abs(none - zero)
        except Exception:
            terms = None
        out += _loss_checks("gaussian_nll", f"{tag} {what}", (xi, ti), kw, rtol, terms)
    return out


# one checker per public function: (rng, dtype, tag, rtol) -> [(name, ok), ...], each name
# beginning with the function's name
_CHECKERS = {
    "logsumexp": _check_logsumexp,
    "softmax": _check_softmax_family("softmax"),
    "log_softmax": _check_softmax_family("log_softmax"),
    "log_expit": _check_log_expit,
    "norm_logpdf": _check_norm_logpdf,
    "cross_entropy": _check_cross_entropy,
    "nll_loss": _check_nll_loss,
    "binary_cross_entropy_with_logits": _check_bce,
    "kl_div": _check_kl_div,
    "mse_loss": _check_mse_loss,
    "gaussian_nll_loss": _check_gaussian_nll_loss,
    "poisson_nll_loss": _check_poisson_nll_loss,
    "gaussian_nll": _check_gaussian_nll,
    "l1_loss": _check_l1_loss,
    "smooth_l1_loss": _check_smooth_l1_loss,
    "huber_loss": _check_huber_loss,
    "binary_cross_entropy": _check_binary_cross_entropy,
}


def _public_functions():
    """The functions of ``crossent.__all__`` that the self-check must cover."""
    names = []
    for name in crossent.__all__:
        obj = getattr(crossent, name, None)
        if name in _NOT_CHECKED or isinstance(obj, type) or (obj is not None and not callable(obj)):
            continue
        names.append(name)  # a name of __all__ missing from the module is kept: its check fails
    return names


def _checks(rng, names=None):
    """(name, ok) for each check of the public API against the reference.

    ``names``: the functions to check (default: every public function); one without a
    checker gives ("MISSING check: name", False)."""
    out = []
    for name in _public_functions() if names is None else names:
        checker = _CHECKERS.get(name)
        if checker is None:
            out.append((f"MISSING check: {name}", False))
            continue
        if not callable(getattr(crossent, name, None)):
            out.append((f"{name} not found in crossent", False))
            continue
        for dtype, rtol in ((np.float64, 1e-12), (np.float32, 3e-6)):
            try:
                out.extend(checker(rng, dtype, np.dtype(dtype).name, rtol))
            except Exception as exc:  # a checker that crashes fails, and the others still run
                out.append((f"{name} {np.dtype(dtype).name} (checker raised {type(exc).__name__}: {exc})", False))
    return out


# ---------------------------------------------------------------------------- timing

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


def _size(n):
    """1e6 for a power of ten, else the digits."""
    k = len(str(n)) - 1
    return f"1e{k}" if n == 10**k and k > 2 else str(n)


def _cases(rng, peers, quick=False):
    """(label, {library: callable}) for the timing table: one case per family."""
    sps, torch = peers.get("scipy"), peers.get("torch")
    F = torch.nn.functional if torch is not None else None
    k = 8 if quick else 1  # --quick: arrays 8 times smaller
    cases = []

    def case(label, funcs, scipy=None, torch_f=None):
        if sps is not None and scipy is not None:
            funcs["scipy"] = scipy
        if torch is not None and torch_f is not None:
            funcs["torch"] = torch_f
        cases.append((label, funcs))

    r = 1000 // k
    x = rng.standard_normal((r, 1000))
    tx = torch.from_numpy(x) if torch is not None else None
    case(f"logsumexp f64 ({r}, 1000) axis 1",
         {"crossent": lambda: crossent.logsumexp(x, axis=1),
          "numpy reference": lambda: reference.logsumexp(x, axis=1)},
         scipy=lambda: sps.logsumexp(x, axis=1), torch_f=lambda: torch.logsumexp(tx, dim=1))

    r = 512 // k
    xs = rng.standard_normal((r, 8000), dtype=np.float32)
    txs = torch.from_numpy(xs) if torch is not None else None
    case(f"log_softmax f32 ({r}, 8000) axis 1",
         {"crossent": lambda: crossent.log_softmax(xs, axis=1),
          "numpy reference": lambda: reference.log_softmax(xs, axis=1)},
         scipy=lambda: sps.log_softmax(xs, axis=1), torch_f=lambda: F.log_softmax(txs, dim=1))

    r = 2048 // k
    logits = rng.standard_normal((r, 1000), dtype=np.float32) * 3
    labels = rng.integers(0, 1000, r)
    if torch is not None:
        tl, ty = torch.from_numpy(logits), torch.from_numpy(labels)
        tg = torch.from_numpy(logits.copy()).requires_grad_(True)

        def torch_ce_grad():
            tg.grad = None
            F.cross_entropy(tg, ty).backward()
            return tg.grad
    case(f"cross_entropy f32 ({r}, 1000)",
         {"crossent": lambda: crossent.cross_entropy(logits, labels),
          "numpy reference": lambda: reference.cross_entropy(logits, labels)},
         torch_f=lambda: F.cross_entropy(tl, ty))
    case(f"cross_entropy f32 ({r}, 1000) + grad",
         {"crossent": lambda: crossent.cross_entropy(logits, labels, return_grad=True),
          "numpy reference": lambda: reference.cross_entropy(logits, labels, return_grad=True)},
         torch_f=torch_ce_grad if torch is not None else None)

    r = 2048 // k
    bx = rng.standard_normal((r, 500), dtype=np.float32) * 4
    bt = rng.uniform(0.0, 1.0, (r, 500)).astype(np.float32)
    tbx, tbt = (torch.from_numpy(bx), torch.from_numpy(bt)) if torch is not None else (None, None)
    case(f"BCE with logits f32 ({r}, 500)",
         {"crossent": lambda: crossent.binary_cross_entropy_with_logits(bx, bt),
          "numpy reference": lambda: reference.binary_cross_entropy_with_logits(bx, bt)},
         torch_f=lambda: F.binary_cross_entropy_with_logits(tbx, tbt))

    n = 10**6 // k
    gm, gy = rng.standard_normal(n), rng.standard_normal(n)
    gv = rng.uniform(0.5, 2.0, n)
    tgm, tgy, tgv = (torch.from_numpy(a) for a in (gm, gy, gv)) if torch is not None else (None,) * 3
    case(f"gaussian_nll_loss f64 ({_size(n)},)",
         {"crossent": lambda: crossent.gaussian_nll_loss(gm, gy, gv),
          "numpy reference": lambda: reference.gaussian_nll_loss(gm, gy, gv)},
         torch_f=lambda: F.gaussian_nll_loss(tgm, tgy, tgv))
    case(f"mse_loss f64 ({_size(n)},)",
         {"crossent": lambda: crossent.mse_loss(gm, gy),
          "numpy reference": lambda: reference.mse_loss(gm, gy)},
         torch_f=lambda: F.mse_loss(tgm, tgy))
    return cases


# ---------------------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m crossent", description=__doc__.splitlines()[0])
    parser.add_argument("--no-timing", action="store_true", help="only the self-check")
    parser.add_argument("--quick", action="store_true",
                        help="a short timing: arrays 8 times smaller, 3 timed calls")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed calls per library and case (default 15, 3 with --quick)")
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 15)

    crossent.show_config()
    rng = np.random.default_rng(2026)
    results = _checks(rng)
    failed = [name for name, ok in results if not ok]
    print(f"\nself-check: {len(results) - len(failed)} of {len(results)} checks agree with crossent.reference")
    for fname in _public_functions():
        mine = [ok for name, ok in results if name.split(" ", 1)[0] == fname]
        print(f"  {fname:34s}{sum(mine):5d} of {len(mine):4d}")
    for name in failed:
        print(f"  {name}" if name.startswith("MISSING check: ") else f"  FAILED: {name}")
    if not args.no_timing:
        peers = _peers()
        print("\nmedian times (ms) of interleaved calls; ratio = library / crossent")
        libs = ["crossent", "numpy reference"] + [p for p in ("scipy", "torch") if p in peers]
        print(f"{'case':40s}" + "".join(f"{lib:>22s}" for lib in libs))
        for label, funcs in _cases(rng, peers, quick=args.quick):
            med = _median_times(funcs, repeat)
            base = med["crossent"]
            cells = [f"{med['crossent'] * 1e3:10.3f}".rjust(22)]
            for lib in libs[1:]:
                if lib in med:
                    cells.append(f"{med[lib] * 1e3:10.3f} ({med[lib] / base:5.1f}x)".rjust(22))
                else:
                    cells.append("-".rjust(22))
            print(f"{label:40s}" + "".join(cells))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
