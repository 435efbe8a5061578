"""A small typed program that uses every public function of crossent as a user would.

``tests/test_typing.py`` type-checks it with ``mypy --strict`` against the installed
package (its ``__init__.pyi`` and ``py.typed``) and runs it.  ``assert_type`` pins the
type each overload gives, so a stub that loses precision fails the check; at run time
the same lines check the values' classes.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np
import numpy.typing as npt

import crossent

if sys.version_info >= (3, 11):
    from typing import assert_type
else:
    from typing_extensions import assert_type

FloatArray = npt.NDArray[np.floating[Any]]
Result = FloatArray | np.floating[Any]


def check(value: object, cls: type) -> None:
    """The run-time half of each ``assert_type``: the value has the class the stub says."""
    if not isinstance(value, cls):
        raise AssertionError(f"{type(value).__name__} is not a {cls.__name__}")


def classifier_step(logits: FloatArray, labels: npt.NDArray[np.int64]) -> tuple[float, FloatArray]:
    """One step of a softmax classifier: the mean loss and its gradient."""
    loss, grad = crossent.cross_entropy(logits, labels, label_smoothing=0.1, return_grad=True)
    assert_type(loss, np.floating[Any])
    assert_type(grad, FloatArray)
    check(loss, np.floating)
    check(grad, np.ndarray)
    return float(loss), grad


def primitives(x: FloatArray) -> None:
    total = crossent.logsumexp(x)
    assert_type(total, np.floating[Any])
    check(total, np.floating)
    rows = crossent.logsumexp(x, axis=1, n_threads=2)
    assert_type(rows, Result)
    check(rows, np.ndarray)
    value, sign = crossent.logsumexp(x, b=np.full(x.shape, -1.0), return_sign=True)
    assert_type(value, np.floating[Any])
    assert_type(sign, np.floating[Any])
    check(sign, np.floating)
    lse, signs = crossent.logsumexp(x, axis=(0, 1), keepdims=True, return_sign=True)
    assert_type(lse, Result)
    check(signs, np.ndarray)
    dynamic = bool(x.size % 2)
    either = crossent.logsumexp(x, axis=0, return_sign=dynamic)
    assert_type(either, Result | tuple[Result, Result])

    probs = crossent.softmax(x, axis=1)
    assert_type(probs, Result)
    out = np.empty_like(x)
    assert_type(crossent.log_softmax(x, axis=-1, out=out), FloatArray)
    crossent.softmax(out, axis=1, out=out)  # in place
    maybe_out: FloatArray | None = out if x.size > 1 else None
    assert_type(crossent.softmax(x, axis=1, out=maybe_out), Result)
    assert_type(crossent.log_expit([-1.0, 0.0, 1.0]), Result)
    assert_type(crossent.log_expit(x, out=out, n_threads=None), FloatArray)
    logpdf = crossent.norm_logpdf(x, loc=0.5, scale=np.float32(2.0))
    assert_type(logpdf, Result)
    check(logpdf, np.ndarray)
    assert_type(crossent.norm_logpdf(x, 0.0, 1.0, out=out), FloatArray)


def losses(x: FloatArray, labels: npt.NDArray[np.int64], targets: FloatArray) -> float:
    weight = np.linspace(0.5, 1.5, x.shape[1])
    ce = crossent.cross_entropy(x, labels, weight, ignore_index=-1, reduction="sum")
    assert_type(ce, np.floating[Any])
    per_row = crossent.cross_entropy(x, labels, reduction="none", axis=1)
    assert_type(per_row, Result)
    check(per_row, np.ndarray)
    log_probs = crossent.log_softmax(x, axis=1)
    nll = crossent.nll_loss(log_probs, labels, weight=weight)
    assert_type(nll, np.floating[Any])
    nll_rows, nll_grad = crossent.nll_loss(log_probs, labels, reduction="none", return_grad=True)
    assert_type(nll_rows, Result)
    assert_type(nll_grad, FloatArray)

    bce = crossent.binary_cross_entropy_with_logits(x, targets, pos_weight=2.0)
    assert_type(bce, np.floating[Any])
    bce_loss, bce_grad = crossent.binary_cross_entropy_with_logits(
        x, targets, weight=targets, reduction="none", return_grad=True, n_threads=1)
    assert_type(bce_loss, Result)
    assert_type(bce_grad, Result)

    kl = crossent.kl_div(log_probs, crossent.softmax(targets, axis=1), reduction="batchmean")
    assert_type(kl, np.floating[Any])
    kl_loss, kl_grad = crossent.kl_div(log_probs, log_probs, log_target=True, return_grad=True)
    assert_type(kl_loss, np.floating[Any])
    assert_type(kl_grad, Result)

    mse = crossent.mse_loss(x, targets)
    assert_type(mse, np.floating[Any])
    mse_loss, mse_grad = crossent.mse_loss(x, targets, reduction="sum", return_grad=True)
    assert_type(mse_loss, np.floating[Any])
    assert_type(mse_grad, Result)

    var = np.full(x.shape, 0.5)
    gauss = crossent.gaussian_nll_loss(x, targets, var, full=True, eps=1e-6)
    assert_type(gauss, np.floating[Any])
    g_loss, g_input, g_var = crossent.gaussian_nll_loss(x, targets, 0.5, return_grad=True)
    assert_type(g_loss, np.floating[Any])
    assert_type(g_var, Result)
    check(g_var, np.floating)  # a scalar var gets a scalar gradient

    poisson = crossent.poisson_nll_loss(np.exp(x), targets, log_input=False, full=True)
    assert_type(poisson, np.floating[Any])
    p_rows = crossent.poisson_nll_loss(x, targets, reduction="none")
    assert_type(p_rows, Result)

    exact = crossent.gaussian_nll(x, targets, var)
    assert_type(exact, np.floating[Any])
    log_var: FloatArray = np.log(var)  # numpy's ufunc stubs give Any: annotate
    _, _, grad_log_var = crossent.gaussian_nll(x, targets, log_var=log_var, return_grad=True)
    assert_type(grad_log_var, Result)
    _, _, grad_std = crossent.gaussian_nll(x, targets, std=0.7, reduction="sum", return_grad=True)
    assert_type(grad_std, Result)
    profiled, profiled_grad = crossent.gaussian_nll(x, targets, return_grad=True)
    assert_type(profiled, Result)
    check(profiled_grad, np.ndarray)
    per_element = crossent.gaussian_nll(x, targets, std=np.float64(0.7), reduction="none")
    assert_type(per_element, Result)

    w = np.ones(x.shape)
    l1 = crossent.l1_loss(x, targets, weight=w)
    assert_type(l1, np.floating[Any])
    l1_rows = crossent.l1_loss(x, targets, reduction="none", out=np.empty(x.shape))
    assert_type(l1_rows, Result)
    sl1, sl1_grad = crossent.smooth_l1_loss(x, targets, beta=0.5, return_grad=True)
    assert_type(sl1, np.floating[Any])
    assert_type(sl1_grad, Result)
    hub, hub_grad = crossent.huber_loss(x, targets, delta=0.5, weight=w, return_grad=True)
    assert_type(hub, np.floating[Any])
    assert_type(hub_grad, Result)
    probs = np.full(x.shape, 0.25)
    bce_p = crossent.binary_cross_entropy(probs, probs, weight=w)
    assert_type(bce_p, np.floating[Any])
    buf = np.empty(x.shape)
    _, bce_p_grad = crossent.binary_cross_entropy(
        probs, probs, reduction="sum", return_grad=True, grad_out=buf)
    assert_type(bce_p_grad, Result)
    wmse = crossent.mse_loss(x, targets, weight=w, n_threads=1)
    assert_type(wmse, np.floating[Any])
    _, gi, gv = crossent.gaussian_nll_loss(
        x, targets, var, reduction="sum", return_grad=True,
        grad_out=(np.empty(x.shape), np.empty(x.shape)))
    assert_type(gv, Result)

    return float(ce + nll + bce + kl + mse + gauss + poisson + exact + l1 + sl1 + bce_p
                 + wmse + hub)


def bad_label(x: FloatArray) -> str:
    try:
        crossent.cross_entropy(x, np.array([x.shape[1]] * x.shape[0]))
    except crossent.LabelError as error:
        assert isinstance(error, IndexError) and isinstance(error, ValueError)
        return str(error)
    raise AssertionError("no LabelError")


def main() -> None:
    rng = np.random.default_rng(0)
    x: FloatArray = rng.standard_normal((8, 5))
    labels = rng.integers(0, 5, size=8)
    targets: FloatArray = rng.uniform(size=(8, 5))
    loss, grad = classifier_step(x, labels)
    primitives(x)
    total = losses(x, labels, targets)
    message = bad_label(x)
    include: str = crossent.get_include()
    version: str = crossent.__version__
    crossent.show_config()
    print(f"crossent {version}: loss {loss:.6f}, grad {grad.shape}, total {total:.6f}, "
          f"headers in {include}, {message!r}")


if __name__ == "__main__":
    main()
