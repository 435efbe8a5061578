"""crossent: fast, exact log-sum-exp, softmax and negative log-likelihood kernels.

Primitives with SciPy's signatures (``logsumexp``, ``softmax``, ``log_softmax``,
``log_expit``, ``norm_logpdf``), compiled in Cython over header-only C with
OpenMP, on NumPy arrays.  ``crossent.reference`` holds the plain NumPy
statement of every function; ``from crossent cimport kernels`` gives compiled
callers the row kernels.
"""
import os as _os

from crossent._logsumexp import logsumexp, log_softmax, softmax
from crossent._elementwise import log_expit, norm_logpdf
from crossent._errors import LabelError
from crossent._cross_entropy import (
    cross_entropy, nll_loss, binary_cross_entropy_with_logits, kl_div,
)
from crossent._gaussian import (
    mse_loss, gaussian_nll_loss, poisson_nll_loss, gaussian_nll, l1_loss, smooth_l1_loss,
    huber_loss, binary_cross_entropy,
)

__version__ = "0.1.0.dev0"

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


def get_include():
    """The folder of crossent's C headers, for C callers and ``include_dirs``.

    Returns
    -------
    str
        Path of ``crossent/include``: ``crossent_capi.h`` (the row kernels for C
        extensions, loaded at run time from ``crossent.kernels``) and ``crossent.h``
        with the kernel sources it includes.  Cython callers need only
        ``from crossent cimport kernels``.

    Examples
    --------
    >>> import os, crossent
    >>> os.path.isfile(os.path.join(crossent.get_include(), "crossent.h"))
    True
    """
    return _os.path.join(_os.path.dirname(__file__), "include")


def show_config():
    """Print how crossent was built and what it runs on this machine.

    Compiler, flags, OpenMP runtime and version, the SIMD path chosen at run
    time (``CROSSENT_SIMD=baseline`` forces the portable one) and the default
    thread count.

    Returns
    -------
    None
        The report goes to standard output; the values differ from machine
        to machine.

    Examples
    --------
    >>> import crossent
    >>> crossent.show_config()  # doctest: +ELLIPSIS
    crossent ...
      build          : {'compiler': ...}
      openmp         : ...
      simd path      : ...
      default threads: ...
    """
    from crossent._common import _config

    cfg = _config()
    build = cfg["build"]
    print(f"crossent {__version__}")
    print(f"  build          : {build}")
    omp = f"yes (OpenMP {cfg['openmp_version']}, {_openmp_runtime()})" if cfg["openmp"] else "no (serial)"
    print(f"  openmp         : {omp}")
    print(f"  simd path      : {cfg['simd']}")
    print(f"  default threads: {cfg['max_threads']}")


def _openmp_runtime():
    """The OpenMP runtime library loaded in this process, as threadpoolctl sees it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "runtime unknown: threadpoolctl not installed"
    libs = [i for i in threadpool_info() if i.get("user_api") == "openmp"]
    if not libs:
        return "runtime not found"
    lib = libs[0]
    version = f" {lib['version']}" if lib.get("version") else ""
    return f"{lib.get('prefix')}{version}, {lib.get('filepath')}"
