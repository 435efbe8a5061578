# Type stubs of crossent's public API (see API.md).
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

__version__: str

_Axis = int | tuple[int, ...] | None
_Out = npt.NDArray[np.floating] | None
_Threads = int | None
_Result = npt.NDArray[np.floating] | np.floating

@overload
def logsumexp(
    a: npt.ArrayLike,
    axis: _Axis = ...,
    b: npt.ArrayLike | None = ...,
    keepdims: bool = ...,
    return_sign: Literal[False] = ...,
    *,
    out: _Out = ...,
    n_threads: _Threads = ...,
) -> _Result: ...
@overload
def logsumexp(
    a: npt.ArrayLike,
    axis: _Axis = ...,
    b: npt.ArrayLike | None = ...,
    keepdims: bool = ...,
    *,
    return_sign: Literal[True],
    out: _Out = ...,
    n_threads: _Threads = ...,
) -> tuple[_Result, _Result]: ...
def softmax(x: npt.ArrayLike, axis: _Axis = ..., *, out: _Out = ..., n_threads: _Threads = ...) -> _Result: ...
def log_softmax(x: npt.ArrayLike, axis: _Axis = ..., *, out: _Out = ..., n_threads: _Threads = ...) -> _Result: ...
def log_expit(x: npt.ArrayLike, *, out: _Out = ..., n_threads: _Threads = ...) -> _Result: ...
def norm_logpdf(
    x: npt.ArrayLike,
    loc: npt.ArrayLike = ...,
    scale: npt.ArrayLike = ...,
    *,
    out: _Out = ...,
    n_threads: _Threads = ...,
) -> _Result: ...
def get_include() -> str: ...
def show_config() -> None: ...

# ---- the cross-entropy family ------------------------------------------------
_Reduction = Literal["none", "mean", "sum"]
_Loss = npt.NDArray[np.floating] | np.floating

class LabelError(ValueError, IndexError): ...

@overload
def cross_entropy(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = ...,
    *,
    ignore_index: int = ...,
    reduction: _Reduction = ...,
    label_smoothing: float = ...,
    axis: int | None = ...,
    return_grad: Literal[False] = ...,
    n_threads: _Threads = ...,
) -> _Loss: ...
@overload
def cross_entropy(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = ...,
    *,
    ignore_index: int = ...,
    reduction: _Reduction = ...,
    label_smoothing: float = ...,
    axis: int | None = ...,
    return_grad: Literal[True],
    n_threads: _Threads = ...,
) -> tuple[_Loss, npt.NDArray[np.floating]]: ...
@overload
def nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = ...,
    *,
    ignore_index: int = ...,
    reduction: _Reduction = ...,
    axis: int | None = ...,
    return_grad: Literal[False] = ...,
    n_threads: _Threads = ...,
) -> _Loss: ...
@overload
def nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = ...,
    *,
    ignore_index: int = ...,
    reduction: _Reduction = ...,
    axis: int | None = ...,
    return_grad: Literal[True],
    n_threads: _Threads = ...,
) -> tuple[_Loss, npt.NDArray[np.floating]]: ...
@overload
def binary_cross_entropy_with_logits(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = ...,
    reduction: _Reduction = ...,
    pos_weight: npt.ArrayLike | None = ...,
    return_grad: Literal[False] = ...,
    n_threads: _Threads = ...,
) -> _Loss: ...
@overload
def binary_cross_entropy_with_logits(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = ...,
    reduction: _Reduction = ...,
    pos_weight: npt.ArrayLike | None = ...,
    return_grad: Literal[True],
    n_threads: _Threads = ...,
) -> tuple[_Loss, npt.NDArray[np.floating]]: ...
@overload
def kl_div(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none", "mean", "sum", "batchmean"] = ...,
    log_target: bool = ...,
    return_grad: Literal[False] = ...,
    n_threads: _Threads = ...,
) -> _Loss: ...
@overload
def kl_div(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: Literal["none", "mean", "sum", "batchmean"] = ...,
    log_target: bool = ...,
    return_grad: Literal[True],
    n_threads: _Threads = ...,
) -> tuple[_Loss, npt.NDArray[np.floating]]: ...

# ---- the Gaussian / Poisson family -------------------------------------------
@overload
def mse_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reduction = ...,
    return_grad: Literal[False] = ...,
    n_threads: _Threads = ...,
) -> _Loss: ...
@overload
def mse_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    reduction: _Reduction = ...,
    return_grad: Literal[True],
    n_threads: _Threads = ...,
) -> tuple[_Loss, _Loss]: ...
@overload
def poisson_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    log_input: bool = ...,
    full: bool = ...,
    eps: float = ...,
    reduction: _Reduction = ...,
    return_grad: Literal[False] = ...,
    n_threads: _Threads = ...,
) -> _Loss: ...
@overload
def poisson_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    *,
    log_input: bool = ...,
    full: bool = ...,
    eps: float = ...,
    reduction: _Reduction = ...,
    return_grad: Literal[True],
    n_threads: _Threads = ...,
) -> tuple[_Loss, _Loss]: ...
@overload
def gaussian_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike,
    *,
    full: bool = ...,
    eps: float = ...,
    reduction: _Reduction = ...,
    return_grad: Literal[False] = ...,
    n_threads: _Threads = ...,
) -> _Loss: ...
@overload
def gaussian_nll_loss(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike,
    *,
    full: bool = ...,
    eps: float = ...,
    reduction: _Reduction = ...,
    return_grad: Literal[True],
    n_threads: _Threads = ...,
) -> tuple[_Loss, _Loss, _Loss]: ...
@overload
def gaussian_nll(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike | None = ...,
    *,
    log_var: npt.ArrayLike | None = ...,
    std: npt.ArrayLike | None = ...,
    reduction: _Reduction = ...,
    return_grad: Literal[False] = ...,
    n_threads: _Threads = ...,
) -> _Loss: ...
@overload
def gaussian_nll(
    input: npt.ArrayLike,
    target: npt.ArrayLike,
    var: npt.ArrayLike | None = ...,
    *,
    log_var: npt.ArrayLike | None = ...,
    std: npt.ArrayLike | None = ...,
    reduction: _Reduction = ...,
    return_grad: Literal[True],
    n_threads: _Threads = ...,
) -> tuple[_Loss, _Loss, _Loss] | tuple[_Loss, _Loss]: ...
