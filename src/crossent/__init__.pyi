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
