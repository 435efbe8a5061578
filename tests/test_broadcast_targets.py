"""Regression tests: the elementwise losses broadcast `input` and `target` as torch 2.13.

The bug: ``gaussian_nll_loss(x, t, v)`` with ``x`` of shape (5, 5) and ``t`` of shape
(5, 1) or (5,) raised ``ValueError: target must have input's shape``, and so did
``mse_loss``, ``poisson_nll_loss`` and ``kl_div``; torch broadcasts input and target
(NumPy rules).  API.md: ``reduction="none"`` gives the broadcast shape, ``"mean"``
averages over the broadcast elements, a gradient with respect to `input` is summed
back to input's shape (as autograd does); gaussian_nll_loss's `var` shape rules stay
torch's, judged against `input`'s shape, and its var gradient is summed back to var's
shape; ``binary_cross_entropy_with_logits`` keeps requiring equal shapes.

Every value and gradient is checked against torch.nn.functional with autograd (the
peer; torch's warning about broadcast targets is silenced) and against
crossent.reference (the NumPy oracle), never against crossent itself.

What torch 2.13 does in the corners tested here:

- input (5, 1) with target (5, 5): the loss has the broadcast shape (5, 5) and the
  input gradient is summed back to (5, 1);
- kl_div "batchmean" divides by ``input.shape[0]``, input's own first dimension, not
  the broadcast one (input (1, 5) with target (3, 5) divides by 1; input (5,) with
  target (3, 5) by 5), and a 0-d input gives the sum;
- gaussian_nll_loss checks `var` against `input`'s shape: with input (5, 1) and target
  (5, 5), var (5, 1), (5,) or (1, 1) is accepted and var (5, 5) (the broadcast shape)
  is refused ("var is of incorrect size");
- shapes that do not broadcast are a RuntimeError in torch (a ValueError naming
  `target` here).
"""
import math
import warnings

import numpy as np
import pytest

import crossent
from crossent import reference as ref

from _helpers import call_unchanged, layout_variants

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["none", "mean", "sum"]

# (input's shape, target's shape): target broadcast, input broadcast, both, 3-D, 0-d
SHAPE_PAIRS = [
    ((5, 5), (5, 1)),
    ((5, 5), (5,)),
    ((5, 5), (1, 5)),
    ((5, 1), (5, 5)),          # input is the broadcast one
    ((1, 5), (3, 5)),
    ((5,), (3, 5)),            # input gains a leading dimension
    ((2, 1, 3), (4, 1)),       # both broadcast, 3-D result (2, 4, 3)
    ((2, 4, 3), (4, 1)),
    ((2, 4, 1), (1, 4, 3)),
    ((3, 1, 4), (2, 1)),
    ((), (3,)),                # 0-d input
    ((3, 4), ()),              # 0-d target
]
PAIR_IDS = [f"x{xs}-t{ts}".replace(" ", "") for xs, ts in SHAPE_PAIRS]

# shapes that do not broadcast (NumPy rules): a ValueError naming target, as torch refuses
BAD_PAIRS = [((5, 5), (4,)), ((5, 5), (5, 2)), ((2, 3), (3, 2)), ((4, 1, 3), (2, 2))]


# ----------------------------------------------------------------------------- helpers

def _quiet_torch(fn, *args, **kwargs):
    with warnings.catch_warnings():
        # torch warns that a target of another size "will likely lead to incorrect
        # results due to broadcasting", and that kl_div's "mean" is not batchmean
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args, **kwargs)


def torch_loss_and_grads(fn, x, t, var=None, **kw):
    """torch's loss and the autograd gradients (of ``loss.sum()``) wrt input (and var)."""
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t)
    args = [xt, tt]
    vt = None
    if var is not None:
        if np.ndim(var) == 0:
            # a float var carries no gradient in torch: the same loss through a 0-d tensor,
            # spread over input's shape as torch spreads a float var
            vt = torch.tensor(var, dtype=xt.dtype, requires_grad=True)
            args.append(vt * torch.ones_like(xt))
        else:
            vt = torch.tensor(var, requires_grad=True)
            args.append(vt)
    loss = _quiet_torch(fn, *args, **kw)
    loss.sum().backward()
    grads = [xt.grad.numpy()]
    if vt is not None:
        grads.append(vt.grad.numpy())
    return loss.detach().numpy(), grads


def assert_close(got, want, dtype, rtol, what):
    """dtype and shape exact; within rtol of max(|want|, the largest |want|)."""
    got_a, want_a = np.asarray(got), np.asarray(want)
    assert got_a.dtype == np.dtype(dtype), f"{what}: dtype {got_a.dtype}, expected {np.dtype(dtype)}"
    assert got_a.shape == want_a.shape, f"{what}: shape {got_a.shape}, expected {want_a.shape}"
    w = want_a.astype(np.float64)
    scale = np.max(np.abs(w)) if w.size else 0.0
    np.testing.assert_allclose(got_a.astype(np.float64), w, rtol=rtol, atol=rtol * scale,
                               err_msg=what)


def torch_rtol(dtype):
    # torch computes float32 in float32 (its own summation order); crossent accumulates
    # float32 in float64
    return 2e-5 if dtype == np.float32 else 1e-12


def ref_rtol(dtype, k=8):
    return k * float(np.finfo(dtype).eps)


def check(name, got, want_torch, want_ref, dtype, ref_k=8):
    got = got if isinstance(got, tuple) else (got,)
    want_ref = want_ref if isinstance(want_ref, tuple) else (want_ref,)
    assert len(got) == len(want_torch) == len(want_ref)
    for i, (g, wt, wr) in enumerate(zip(got, want_torch, want_ref)):
        assert_close(g, wt, dtype, torch_rtol(dtype), f"{name}[{i}] vs torch")
        assert_close(g, wr, dtype, ref_rtol(dtype, ref_k), f"{name}[{i}] vs crossent.reference")


def arrays(xs, ts, dtype, rng, x_kind="normal", t_kind="normal"):
    def draw(shape, kind):
        if kind == "normal":
            a = rng.standard_normal(shape) * 2
        elif kind == "positive":
            a = rng.uniform(0.5, 3.0, shape)
        elif kind == "counts":
            a = rng.integers(0, 6, shape).astype(np.float64)
        elif kind == "probs":
            a = rng.uniform(0.05, 1.0, shape)
        elif kind == "logprobs":
            a = np.log(rng.uniform(0.05, 1.0, shape))
        else:
            raise AssertionError(kind)
        return np.asarray(a, dtype=dtype)
    return draw(xs, x_kind), draw(ts, t_kind)


def run_all(name, x, t, extra=(), *, return_grad, var_for_torch=None, **kw):
    """crossent's result, torch's (loss, grads...) and the reference's, for one call."""
    fn = getattr(crossent, name)
    got = fn(x, t, *extra, return_grad=return_grad, **kw)
    want_ref = getattr(ref, name)(x, t, *extra, return_grad=return_grad, **kw)
    loss_t, grads_t = torch_loss_and_grads(getattr(F, name), x, t, var_for_torch, **kw)
    want_torch = (loss_t, *grads_t) if return_grad else (loss_t,)
    return got, want_torch, want_ref


# -------------------------------------------------------------------------- the four losses

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("return_grad", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("xs, ts", SHAPE_PAIRS, ids=PAIR_IDS)
def test_mse_loss_broadcasts_target_like_torch(xs, ts, reduction, return_grad, dtype, rng):
    x, t = arrays(xs, ts, dtype, rng)
    got, want_torch, want_ref = run_all("mse_loss", x, t, return_grad=return_grad,
                                        reduction=reduction)
    check("mse_loss", got, want_torch, want_ref, dtype)
    if reduction == "none":
        assert np.shape(got[0] if return_grad else got) == np.broadcast_shapes(xs, ts)
    if return_grad:
        assert np.shape(got[1]) == xs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("return_grad", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("xs, ts", SHAPE_PAIRS, ids=PAIR_IDS)
def test_poisson_nll_loss_broadcasts_target_like_torch(xs, ts, reduction, return_grad, log_input,
                                                       full, dtype, rng):
    x, t = arrays(xs, ts, dtype, rng, x_kind="normal" if log_input else "positive",
                  t_kind="counts")
    got, want_torch, want_ref = run_all("poisson_nll_loss", x, t, return_grad=return_grad,
                                        reduction=reduction, log_input=log_input, full=full)
    check("poisson_nll_loss", got, want_torch, want_ref, dtype)
    if return_grad:
        assert np.shape(got[1]) == xs


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("return_grad", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("xs, ts", SHAPE_PAIRS, ids=PAIR_IDS)
def test_kl_div_broadcasts_target_like_torch(xs, ts, reduction, return_grad, log_target, dtype, rng):
    x, t = arrays(xs, ts, dtype, rng, x_kind="logprobs",
                  t_kind="logprobs" if log_target else "probs")
    got, want_torch, want_ref = run_all("kl_div", x, t, return_grad=return_grad,
                                        reduction=reduction, log_target=log_target)
    check("kl_div", got, want_torch, want_ref, dtype)
    if return_grad:
        assert np.shape(got[1]) == xs


def test_kl_div_batchmean_divides_by_input_first_dim_like_torch():
    # torch divides by input.size(0), not by the broadcast shape's first dimension
    t = np.full((3, 5), 0.2)
    for xs, batch in [((1, 5), 1), ((5,), 5), ((3, 5), 3), ((3, 1), 3)]:
        x = np.full(xs, np.log(0.1))
        total = float(np.sum(np.broadcast_to(t * (np.log(t) - x), (3, 5))))
        got = crossent.kl_div(x, t, reduction="batchmean")
        want = float(_quiet_torch(F.kl_div, torch.tensor(x), torch.tensor(t), reduction="batchmean"))
        assert want == pytest.approx(total / batch, rel=1e-14)
        assert float(got) == pytest.approx(want, rel=1e-14)


def _var_shapes(xs):
    """The shapes of an array var that torch 2.13 accepts for an input of shape xs."""
    kinds = ["float", xs]
    if xs:
        kinds.append(xs[:-1])
    for i, n in enumerate(xs):
        if n != 1:
            kinds.append(xs[:i] + (1,) + xs[i + 1:])
    out = []
    for k in kinds:
        if k not in out:
            out.append(k)
    return out


GAUSS_CASES = [(xs, ts, vs) for xs, ts in SHAPE_PAIRS for vs in _var_shapes(xs)]
GAUSS_IDS = [f"x{xs}-t{ts}-v{vs}".replace(" ", "") for xs, ts, vs in GAUSS_CASES]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("return_grad", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("xs, ts, vs", GAUSS_CASES, ids=GAUSS_IDS)
def test_gaussian_nll_loss_broadcasts_target_like_torch(xs, ts, vs, reduction, return_grad, dtype, rng):
    x, t = arrays(xs, ts, dtype, rng)
    var = 0.75 if vs == "float" else rng.uniform(0.5, 2.0, vs).astype(dtype)
    full = bool(rng.integers(0, 2))
    got, want_torch, want_ref = run_all("gaussian_nll_loss", x, t, (var,), return_grad=return_grad,
                                        var_for_torch=var, reduction=reduction, full=full)
    check("gaussian_nll_loss", got, want_torch, want_ref, dtype)
    if reduction == "none":
        assert np.shape(got[0] if return_grad else got) == np.broadcast_shapes(xs, ts)
    if return_grad:
        assert np.shape(got[1]) == xs
        assert np.shape(got[2]) == np.shape(var)


def test_gaussian_nll_loss_var_rules_are_judged_against_input_shape():
    # input (5, 1), target (5, 5): torch accepts var (5, 1), (5,), (1, 1) and refuses the
    # broadcast shape (5, 5); so does crossent
    x, t = np.zeros((5, 1)), np.ones((5, 5))
    for vs in [(5, 1), (5,), (1, 1)]:
        v = np.full(vs, 2.0)
        want = float(_quiet_torch(F.gaussian_nll_loss, torch.tensor(x), torch.tensor(t), torch.tensor(v)))
        assert float(crossent.gaussian_nll_loss(x, t, v)) == pytest.approx(want, rel=1e-14)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        _quiet_torch(F.gaussian_nll_loss, torch.tensor(x), torch.tensor(t), torch.ones(5, 5))
    for fn in (crossent.gaussian_nll_loss, ref.gaussian_nll_loss):
        with pytest.raises(ValueError, match="var"):
            fn(x, t, np.ones((5, 5)))


# ------------------------------------------------------------- every walk of the engine

def _fsum_to_shape(g, shape):
    """Sum `g` (of the broadcast shape) back to `shape` exactly (math.fsum per element)."""
    g = np.asarray(g, np.float64)
    full = (1,) * (g.ndim - len(shape)) + tuple(shape)
    red = [i for i, (a, b) in enumerate(zip(full, g.shape)) if a == 1 and b != 1]
    kept = [i for i in range(g.ndim) if i not in red]
    moved = np.transpose(g, kept + red).reshape(math.prod(g.shape[i] for i in kept), -1)
    return np.array([math.fsum(row) for row in moved]).reshape(shape)


def _exact_oracle(name, x, t, extra, reduction):
    """Loss and gradients from the reference's float64 elementwise values on inputs
    expanded to the broadcast shape, reduced with math.fsum: exact sums, whatever the
    order (the reference's own NumPy sum over a strided axis is sequential, hundreds of
    ulps off over 5000 rows where the terms cancel)."""
    shape = np.broadcast_shapes(x.shape, t.shape)
    full = [np.broadcast_to(np.asarray(a, np.float64), shape).copy() for a in (x, t, *extra)]
    elem, *grads = getattr(ref, name)(*full, reduction="none", return_grad=True)
    n = math.prod(shape) if reduction == "mean" else 1
    loss = math.fsum(np.ravel(elem)) / n
    sums = [_fsum_to_shape(g, np.shape(a)) / n for g, a in zip(grads, (x, *extra))]
    return (np.float64(loss), *sums)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("xs, ts", [
    ((2, 1), (2, 140_000)),      # a long reduced row (more than one group per row)
    ((1, 40), (5000, 40)),       # the reduced gradient keeps the contiguous dim (across)
    ((40,), (3000, 40)),
    ((300, 1), (300, 7)),        # short rows
], ids=["long", "across", "across-leading", "short"])
@pytest.mark.parametrize("name", ["mse_loss", "poisson_nll_loss", "kl_div", "gaussian_nll_loss"])
def test_broadcast_input_gradient_on_large_shapes(name, xs, ts, dtype, rng):
    kinds = {"mse_loss": ("normal", "normal"), "poisson_nll_loss": ("normal", "counts"),
             "kl_div": ("logprobs", "probs"), "gaussian_nll_loss": ("normal", "normal")}[name]
    x, t = arrays(xs, ts, dtype, rng, *kinds)
    # a var of input's shape: both gradients are summed back (the two-pass case)
    extra = (rng.uniform(0.5, 2.0, xs).astype(dtype),) if name == "gaussian_nll_loss" else ()
    for reduction in ("mean", "sum"):
        got = getattr(crossent, name)(x, t, *extra, reduction=reduction, return_grad=True)
        one = getattr(crossent, name)(x, t, *extra, reduction=reduction, return_grad=True,
                                      n_threads=1)
        for a, b in zip(got, one):  # bitwise the same for every n_threads
            assert np.array_equal(np.asarray(a), np.asarray(b))
        loss_t, grads_t = torch_loss_and_grads(getattr(F, name), x, t,
                                               extra[0] if extra else None, reduction=reduction)
        want = _exact_oracle(name, x, t, extra, reduction)
        assert len(got) == len(want) == 1 + len(grads_t)
        for i, (g, wt, we) in enumerate(zip(got, (loss_t, *grads_t), want)):
            assert_close(g, wt, dtype, torch_rtol(dtype), f"{name}[{i}] vs torch")
            # 32 ulps of the result dtype at the largest magnitude (one missing row of
            # 5000 would be ~2e-4 off)
            assert_close(g, we.astype(dtype), dtype, 32 * float(np.finfo(dtype).eps),
                         f"{name}[{i}] vs the exact sums")


@pytest.mark.parametrize("xs, ts", [((4, 1), (4, 6)), ((4, 6), (6,)), ((1, 3, 1), (2, 3, 5))])
@pytest.mark.parametrize("name", ["mse_loss", "poisson_nll_loss", "kl_div", "gaussian_nll_loss"])
def test_broadcast_layouts_give_the_same_numbers(name, xs, ts, rng):
    kinds = {"mse_loss": ("normal", "normal"), "poisson_nll_loss": ("normal", "counts"),
             "kl_div": ("logprobs", "probs"), "gaussian_nll_loss": ("normal", "normal")}[name]
    x, t = arrays(xs, ts, np.float64, rng, *kinds)
    extra = (rng.uniform(0.5, 2.0, xs),) if name == "gaussian_nll_loss" else ()
    fn = getattr(crossent, name)
    for reduction in ("none", "mean"):
        want = getattr(ref, name)(x, t, *extra, reduction=reduction, return_grad=True)
        for (nx, xv), (nt, tv) in zip(layout_variants(x), layout_variants(t)[::-1]):
            # any strides, read-only, non-native byte order: the reference's numbers (the
            # summation order follows the layout, so within a few ulps, not bitwise)
            got = call_unchanged(fn, xv, tv, *extra, reduction=reduction, return_grad=True)
            for i, (g, w) in enumerate(zip(got, want)):
                assert_close(g, w, np.float64, ref_rtol(np.float64), f"{name}[{i}] {nx}/{nt}/{reduction}")


# ------------------------------------------------------------------------ refusals

@pytest.mark.parametrize("xs, ts", BAD_PAIRS)
@pytest.mark.parametrize("name", ["mse_loss", "poisson_nll_loss", "kl_div", "gaussian_nll_loss"])
def test_shapes_that_do_not_broadcast_name_target(name, xs, ts):
    x, t = np.zeros(xs), np.ones(ts)
    extra = (1.0,) if name == "gaussian_nll_loss" else ()
    with pytest.raises(RuntimeError):  # the peer refuses them too
        _quiet_torch(getattr(F, name), torch.tensor(x), torch.tensor(t), *extra)
    for fn in (getattr(crossent, name), getattr(ref, name)):
        with pytest.raises(ValueError, match="target"):
            fn(x, t, *extra)
        with pytest.raises(ValueError, match="target"):
            fn(x, t, *extra, return_grad=True, reduction="none")


@pytest.mark.parametrize("xs, ts", [((5, 5), (5, 1)), ((5, 5), (5,)), ((5, 1), (5, 5))])
def test_bce_with_logits_still_needs_equal_shapes(xs, ts):
    x, t = np.zeros(xs), np.full(ts, 0.5)
    with pytest.raises(ValueError, match="[Tt]arget size"):  # torch 2.13 refuses too
        F.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t))
    for fn in (crossent.binary_cross_entropy_with_logits, ref.binary_cross_entropy_with_logits):
        with pytest.raises(ValueError, match="target"):
            fn(x, t)


def test_the_reported_case():
    # the report: x (5, 5), t (5, 1) or (5,) raised "target must have input's shape"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 5))
    v = rng.uniform(0.5, 2.0, (5, 5))
    for ts in [(5, 1), (5,)]:
        t = rng.standard_normal(ts)
        loss, gx, gv = crossent.gaussian_nll_loss(x, t, v, return_grad=True)
        want, (wx, wv) = torch_loss_and_grads(F.gaussian_nll_loss, x, t, v)
        assert float(loss) == pytest.approx(float(want), rel=1e-13)
        np.testing.assert_allclose(gx, wx, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(gv, wv, rtol=1e-13, atol=1e-15)
