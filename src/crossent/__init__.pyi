# Type stubs of crossent's public API (the signatures of API.md).
#
# Results: a NumPy array of a float dtype, or a NumPy float scalar where the result is
# 0-d (a full reduction, a "mean"/"sum" loss, or a 0-d input).  Overloads give the exact
# type where the arguments decide it: a loss with reduction "mean"/"sum" is a scalar,
# return_grad=True / return_sign=True return tuples, an elementwise function given out=
# returns that array.
from typing import Any, Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt

__version__: str
__all__ = [
    "logsumexp",
    "softmax",
    "log_softmax",
    "log_expit",
    "norm_logpdf",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy_with_logits",
    "kl_div",
    "mse_loss",
    "gaussian_nll_loss",
    "poisson_nll_loss",
    "gaussian_nll",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "binary_cross_entropy",
    "LabelError",
    "get_include",
    "show_config",
    "__version__",
]

_Float: TypeAlias = np.floating[Any]
_Array: TypeAlias = npt.NDArray[np.floating[Any]]
_Result: TypeAlias = _Array | _Float
_Int: TypeAlias = int | np.integer[Any]
_Axis: TypeAlias = _Int | tuple[_Int, ...] | None
_Threads: TypeAlias = _Int | None
_Reduction: TypeAlias = Literal["none", "mean", "sum"]
_Reducing: TypeAlias = Literal["mean", "sum"]

class LabelError(ValueError, IndexError):
    """A class index outside [0, n_classes) (and not ignore_index)."""

def get_include() -> str: ...
def show_config() -> None: ...

# ---- primitives (SciPy's signatures) -------------------------------------------

@overload
def logsumexp(
    a: npt.ArrayLike,
    axis: None = None,
    b: npt.ArrayLike | None = None,
    keepdims: Literal[False] = False,
    return_sign: Literal[False] = False,
    *,
    out: None = None,
    n_threads: _Threads = None,
) -> _Float: ...
@overload
def logsumexp(
    a: npt.ArrayLike,
    axis: _Axis = None,
    b: npt.ArrayLike | None = None,
    keepdims: bool = False,
    return_sign: Literal[False] = False,
    *,
    out: _Array | None = None,
    n_threads: _Threads = None,
) -> _Result: ...
@overload
def logsumexp(
    a: npt.ArrayLike,
    axis: None = None,
    b: npt.ArrayLike | None = None,
    keepdims: Literal[False] = False,
    *,
    return_sign: Literal[True],
    out: None = None,
    n_threads: _Threads = None,
) -> tuple[_Float, _Float]: ...
@overload
def logsumexp(
    a: npt.ArrayLike,
    axis: _Axis = None,
    b: npt.ArrayLike | None = None,
    keepdims: bool = False,
    *,
    return_sign: Literal[True],
    out: _Array | None = None,
    n_threads: _Threads = None,
) -> tuple[_Result, _Result]: ...
@overload
def logsumexp(
    a: npt.ArrayLike,
    axis: _Axis = None,
    b: npt.ArrayLike | None = None,
    keepdims: bool = False,
    return_sign: bool = False,
    *,
    out: _Array | None = None,
    n_threads: _Threads = None,
) -> _Result | tuple[_Result, _Result]: ...
@overload
def softmax(x: npt.ArrayLike, axis: _Axis = None, *, out: None = None, n_threads: _Threads = None) -> _Result: ...
@overload
def softmax(x: npt.ArrayLike, axis: _Axis = None, *, out: _Array, n_threads: _Threads = None) -> _Array: ...
@overload
def softmax(
    x: npt.ArrayLike, axis: _Axis = None, *, out: _Array | None = None, n_threads: _Threads = None
) -> _Result: ...
@overload
def log_softmax(x: npt.ArrayLike, axis: _Axis = None, *, out: None = None, n_threads: _Threads = None) -> _Result: ...
@overload
def log_softmax(x: npt.ArrayLike, axis: _Axis = None, *, out: _Array, n_threads: _Threads = None) -> _Array: ...
@overload
def log_softmax(
    x: npt.ArrayLike, axis: _Axis = None, *, out: _Array | None = None, n_threads: _Threads = None
) -> _Result: ...
@overload
def log_expit(x: npt.ArrayLike, *, out: None = None, n_threads: _Threads = None) -> _Result: ...
@overload
def log_expit(x: npt.ArrayLike, *, out: _Array, n_threads: _Threads = None) -> _Array: ...
@overload
def log_expit(x: npt.ArrayLike, *, out: _Array | None = None, n_threads: _Threads = None) -> _Result: ...
@overload
def norm_logpdf(
    x: npt.ArrayLike,
    loc: npt.ArrayLike = 0.0,
    scale: npt.ArrayLike = 1.0,
    *,
    out: None = None,
    n_threads: _Threads = None,
) -> _Result: ...
@overload
def norm_logpdf(
    x: npt.ArrayLike,
    loc: npt.ArrayLike = 0.0,
    scale: npt.ArrayLike = 1.0,
    *,
    out: _Array,
    n_threads: _Threads = None,
) -> _Array: ...
@overload
def norm_logpdf(
    x: npt.ArrayLike,
    loc: npt.ArrayLike = 0.0,
    scale: npt.ArrayLike = 1.0,
    *,
    out: _Array | None = None,
    n_threads: _Threads = None,
) -> _Result: ...

# ---- the cross-entropy family (PyTorch's semantics) ----------------------------
#
# Each loss has four exact overloads -- reduction "mean"/"sum" (a scalar) or "none",
# with or without return_grad -- and a last one for a run-time bool.

@overload
def cross_entropy(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    ignore_index: _Int = -100,
    reduction: _Reducing = "mean",
    label_smoothing: float = 0.0,
    axis: _Int | None = None,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Float: ...
@overload
def cross_entropy(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    ignore_index: _Int = -100,
    reduction: Literal["none"],
    label_smoothing: float = 0.0,
    axis: _Int | None = None,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result: ...
@overload
def cross_entropy(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    ignore_index: _Int = -100,
    reduction: _Reducing = "mean",
    label_smoothing: float = 0.0,
    axis: _Int | None = None,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Float, _Array]: ...
@overload
def cross_entropy(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    ignore_index: _Int = -100,
    reduction: Literal["none"],
    label_smoothing: float = 0.0,
    axis: _Int | None = None,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Result, _Array]: ...
@overload
def cross_entropy(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    ignore_index: _Int = -100,
    reduction: _Reduction = "mean",
    label_smoothing: float = 0.0,
    axis: _Int | None = None,
    return_grad: bool = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result | tuple[_Result, _Array]: ...
@overload
def nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    ignore_index: _Int = -100,
    reduction: _Reducing = "mean",
    axis: _Int | None = None,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Float: ...
@overload
def nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    ignore_index: _Int = -100,
    reduction: Literal["none"],
    axis: _Int | None = None,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result: ...
@overload
def nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    ignore_index: _Int = -100,
    reduction: _Reducing = "mean",
    axis: _Int | None = None,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Float, _Array]: ...
@overload
def nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    ignore_index: _Int = -100,
    reduction: Literal["none"],
    axis: _Int | None = None,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Result, _Array]: ...
@overload
def nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    ignore_index: _Int = -100,
    reduction: _Reduction = "mean",
    axis: _Int | None = None,
    return_grad: bool = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result | tuple[_Result, _Array]: ...
@overload
def binary_cross_entropy_with_logits(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    reduction: _Reducing = "mean",
    pos_weight: npt.ArrayLike | None = None,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Float: ...
@overload
def binary_cross_entropy_with_logits(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    reduction: Literal["none"],
    pos_weight: npt.ArrayLike | None = None,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result: ...
@overload
def binary_cross_entropy_with_logits(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    reduction: _Reducing = "mean",
    pos_weight: npt.ArrayLike | None = None,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Float, _Result]: ...
@overload
def binary_cross_entropy_with_logits(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    reduction: Literal["none"],
    pos_weight: npt.ArrayLike | None = None,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Result, _Result]: ...
@overload
def binary_cross_entropy_with_logits(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    reduction: _Reduction = "mean",
    pos_weight: npt.ArrayLike | None = None,
    return_grad: bool = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result | tuple[_Result, _Result]: ...
@overload
def kl_div(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["mean", "sum", "batchmean"] = "mean",
    log_target: bool = False,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Float: ...
@overload
def kl_div(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none"],
    log_target: bool = False,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result: ...
@overload
def kl_div(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["mean", "sum", "batchmean"] = "mean",
    log_target: bool = False,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Float, _Result]: ...
@overload
def kl_div(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none"],
    log_target: bool = False,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Result, _Result]: ...
@overload
def kl_div(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none", "mean", "sum", "batchmean"] = "mean",
    log_target: bool = False,
    return_grad: bool = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result | tuple[_Result, _Result]: ...

# ---- the Gaussian / Poisson family ---------------------------------------------

@overload
def mse_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reducing = "mean",
    weight: npt.ArrayLike | None = None,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Float: ...
@overload
def mse_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none"],
    weight: npt.ArrayLike | None = None,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result: ...
@overload
def mse_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reducing = "mean",
    weight: npt.ArrayLike | None = None,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Float, _Result]: ...
@overload
def mse_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none"],
    weight: npt.ArrayLike | None = None,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Result, _Result]: ...
@overload
def mse_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reduction = "mean",
    weight: npt.ArrayLike | None = None,
    return_grad: bool = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result | tuple[_Result, _Result]: ...
@overload
def gaussian_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike,
    *,
    full: bool = False,
    eps: float = 1e-6,
    reduction: _Reducing = "mean",
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: tuple[_Array, _Array] | None = None,
) -> _Float: ...
@overload
def gaussian_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike,
    *,
    full: bool = False,
    eps: float = 1e-6,
    reduction: Literal["none"],
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: tuple[_Array, _Array] | None = None,
) -> _Result: ...
@overload
def gaussian_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike,
    *,
    full: bool = False,
    eps: float = 1e-6,
    reduction: _Reducing = "mean",
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: tuple[_Array, _Array] | None = None,
) -> tuple[_Float, _Result, _Result]: ...
@overload
def gaussian_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike,
    *,
    full: bool = False,
    eps: float = 1e-6,
    reduction: Literal["none"],
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: tuple[_Array, _Array] | None = None,
) -> tuple[_Result, _Result, _Result]: ...
@overload
def gaussian_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike,
    *,
    full: bool = False,
    eps: float = 1e-6,
    reduction: _Reduction = "mean",
    return_grad: bool = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: tuple[_Array, _Array] | None = None,
) -> _Result | tuple[_Result, _Result, _Result]: ...
@overload
def poisson_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: _Reducing = "mean",
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Float: ...
@overload
def poisson_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: Literal["none"],
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result: ...
@overload
def poisson_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: _Reducing = "mean",
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Float, _Result]: ...
@overload
def poisson_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: Literal["none"],
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Result, _Result]: ...
@overload
def poisson_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: _Reduction = "mean",
    return_grad: bool = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result | tuple[_Result, _Result]: ...

# ---- the pointwise losses of the same engine ------------------------------------

@overload
def l1_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reducing = "mean",
    weight: npt.ArrayLike | None = None,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Float: ...
@overload
def l1_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none"],
    weight: npt.ArrayLike | None = None,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result: ...
@overload
def l1_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reducing = "mean",
    weight: npt.ArrayLike | None = None,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Float, _Result]: ...
@overload
def l1_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none"],
    weight: npt.ArrayLike | None = None,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Result, _Result]: ...
@overload
def l1_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reduction = "mean",
    weight: npt.ArrayLike | None = None,
    return_grad: bool = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result | tuple[_Result, _Result]: ...
@overload
def smooth_l1_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reducing = "mean",
    beta: float = 1.0,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Float: ...
@overload
def smooth_l1_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none"],
    beta: float = 1.0,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result: ...
@overload
def smooth_l1_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reducing = "mean",
    beta: float = 1.0,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Float, _Result]: ...
@overload
def smooth_l1_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none"],
    beta: float = 1.0,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Result, _Result]: ...
@overload
def smooth_l1_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reduction = "mean",
    beta: float = 1.0,
    return_grad: bool = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result | tuple[_Result, _Result]: ...
@overload
def huber_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reducing = "mean",
    delta: float = 1.0,
    weight: npt.ArrayLike | None = None,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Float: ...
@overload
def huber_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none"],
    delta: float = 1.0,
    weight: npt.ArrayLike | None = None,
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result: ...
@overload
def huber_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reducing = "mean",
    delta: float = 1.0,
    weight: npt.ArrayLike | None = None,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Float, _Result]: ...
@overload
def huber_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none"],
    delta: float = 1.0,
    weight: npt.ArrayLike | None = None,
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Result, _Result]: ...
@overload
def huber_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reduction = "mean",
    delta: float = 1.0,
    weight: npt.ArrayLike | None = None,
    return_grad: bool = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result | tuple[_Result, _Result]: ...
@overload
def binary_cross_entropy(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    reduction: _Reducing = "mean",
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Float: ...
@overload
def binary_cross_entropy(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    reduction: Literal["none"],
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result: ...
@overload
def binary_cross_entropy(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    reduction: _Reducing = "mean",
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Float, _Result]: ...
@overload
def binary_cross_entropy(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    reduction: Literal["none"],
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> tuple[_Result, _Result]: ...
@overload
def binary_cross_entropy(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    reduction: _Reduction = "mean",
    return_grad: bool = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | None = None,
) -> _Result | tuple[_Result, _Result]: ...

# gaussian_nll: with return_grad=True, a third element (the gradient with respect to
# var, log_var or std) exactly when one of them is given; with none, the variance is
# profiled out and the result is (loss, grad_input).
@overload
def gaussian_nll(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike | None = None,
    *,
    log_var: npt.ArrayLike | None = None,
    std: npt.ArrayLike | None = None,
    reduction: _Reducing = "mean",
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | tuple[_Array, _Array] | None = None,
) -> _Float: ...
@overload
def gaussian_nll(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike | None = None,
    *,
    log_var: npt.ArrayLike | None = None,
    std: npt.ArrayLike | None = None,
    reduction: Literal["none"],
    return_grad: Literal[False] = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | tuple[_Array, _Array] | None = None,
) -> _Result: ...
@overload
def gaussian_nll(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike,
    *,
    log_var: None = None,
    std: None = None,
    reduction: _Reduction = "mean",
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | tuple[_Array, _Array] | None = None,
) -> tuple[_Result, _Result, _Result]: ...
@overload
def gaussian_nll(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: None = None,
    *,
    log_var: npt.ArrayLike,
    std: None = None,
    reduction: _Reduction = "mean",
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | tuple[_Array, _Array] | None = None,
) -> tuple[_Result, _Result, _Result]: ...
@overload
def gaussian_nll(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: None = None,
    *,
    log_var: None = None,
    std: npt.ArrayLike,
    reduction: _Reduction = "mean",
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | tuple[_Array, _Array] | None = None,
) -> tuple[_Result, _Result, _Result]: ...
@overload
def gaussian_nll(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: None = None,
    *,
    log_var: None = None,
    std: None = None,
    reduction: _Reduction = "mean",
    return_grad: Literal[True],
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | tuple[_Array, _Array] | None = None,
) -> tuple[_Result, _Result]: ...
@overload
def gaussian_nll(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike | None = None,
    *,
    log_var: npt.ArrayLike | None = None,
    std: npt.ArrayLike | None = None,
    reduction: _Reduction = "mean",
    return_grad: bool = False,
    n_threads: _Threads = None,
    out: _Array | None = None,
    grad_out: _Array | tuple[_Array, _Array] | None = None,
) -> _Result | tuple[_Result, _Result] | tuple[_Result, _Result, _Result]: ...
