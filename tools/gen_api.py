"""Generate crossent's public C API from one table.

The 24 public row kernels are declared three times, for three audiences:

- ``src/crossent/kernels.pxd``: the cimport API (``from crossent cimport kernels``);
- ``src/crossent/kernels.pyx``: their definitions, each forwarding to a function of
  the kernel table that ``crossent._dispatch`` fills for the CPU it runs on;
- ``csrc/crossent_capi.h``: the same functions for plain C extensions (capsule
  signature strings, function-pointer typedefs, the ``crossent_capi`` struct and
  its import function).

All three are generated from ``KERNELS`` below (one ``Kernel`` per ``_f64``/``_f32``
pair) and committed.  ``python tools/gen_api.py`` rewrites them;
``python tools/gen_api.py --check`` prints a diff and exits 1 when a committed file
differs from what the table gives (tests/test_gen_api.py runs the same check).

To add a kernel:

1. write it in csrc and add its function pointer to a kernel table there
   (``cx_lse_table`` in crossent.h, ``cx_ce_table.h`` or ``cx_gauss_table.h``, and
   the table's declaration in ``src/crossent/_csrc*.pxd``);
2. add a ``Kernel`` row to ``KERNELS``: its name without the suffix, its comment,
   return type and parameters (``{t}`` stands for double / float), and the call
   that forwards to the table entry (``{sfx}`` is f64 / f32, ``{narrow}`` the
   ``<float>`` cast an f32 result needs from a table function returning double);
3. bump ``CAPI_VERSION``, run ``python tools/gen_api.py``, rebuild
   (``CROSSENT_MODULES=kernels python setup.py build_ext --inplace``) and run
   tests/test_gen_api.py, tests/test_cimport.py and tests/test_c_api.py.

Existing names and signatures are a stable API: changing a row's name, return type
or parameter types is a major version (CHANGELOG.md).  Standard library only.
"""
from __future__ import annotations

import argparse
import difflib
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 99            # the longest line the generated files get
CAPI_VERSION = 2      # crossent_capi.h's CROSSENT_CAPI_VERSION


# ---- the table's types ------------------------------------------------------------------

@dataclass(frozen=True)
class Dtype:
    suffix: str       # the name's suffix, also {sfx} in templates
    ctype: str        # {t} in templates
    narrow: str       # {narrow}: the cast from the double a table function may return


DTYPES = (Dtype("f64", "double", ""), Dtype("f32", "float", "<float>"))


@dataclass(frozen=True)
class Section:
    """A family of kernels: a heading and a comment, and the pyx lines that fetch its table."""
    title: str
    doc: str
    pyx_setup: str


@dataclass(frozen=True)
class Param:
    type: str         # as declared, e.g. "const double *", "bint", "Py_ssize_t"
    name: str

    def declaration(self, c: bool = False) -> str:
        """'const double *x' (C: bint -> int)."""
        type_ = c_type(self.type) if c else self.type
        return f"{type_}{self.name}" if type_.endswith("*") else f"{type_} {self.name}"

    def is_scalar(self) -> bool:
        return not self.type.endswith("*") and not self.joins_previous()

    def joins_previous(self) -> bool:
        """A length or a stride stays on the line of the pointer it belongs to."""
        return self.type == "Py_ssize_t" and (self.name == "n" or self.name.endswith("stride"))


@dataclass(frozen=True)
class Kernel:
    """One public kernel, written once for both dtypes."""
    name: str         # without the _f64 / _f32 suffix
    section: Section
    doc: str          # its comment in kernels.pxd and crossent_capi.h
    returns: str      # "{t}", "double" or "void"
    params: str       # "const {t} *x, Py_ssize_t n, ..."
    body: str         # the forwarding call in kernels.pyx, "return " included if any

    def full_name(self, dtype: Dtype) -> str:
        return f"{self.name}_{dtype.suffix}"

    def _fill(self, template: str, dtype: Dtype) -> str:
        return template.format(t=dtype.ctype, sfx=dtype.suffix, narrow=dtype.narrow)

    def return_type(self, dtype: Dtype) -> str:
        return self._fill(self.returns, dtype)

    def parameters(self, dtype: Dtype) -> list[Param]:
        params = []
        for text in self._fill(self.params, dtype).split(","):
            type_, name = re.fullmatch(r"\s*(.*?)\s*(\w+)\s*", text).groups()
            params.append(Param(type_, name))
        return params

    def call(self, dtype: Dtype) -> str:
        return self._fill(self.body, dtype)

    def capsule_signature(self, dtype: Dtype) -> str:
        """The capsule's name, as Cython spells the C signature."""
        args = ", ".join(cython_type(p.type) for p in self.parameters(dtype))
        return f"{cython_type(self.return_type(dtype))} ({args})"


def c_type(type_: str) -> str:
    """A Cython type as C spells it: bint is int."""
    return "int" if type_ == "bint" else type_


def cython_type(type_: str) -> str:
    """A type as Cython names it in a capsule: 'const double *' -> 'double const *'."""
    const, base, pointer = re.fullmatch(r"(const )?(\w+)\s*(\*?)", type_.strip()).groups()
    return c_type(base) + (" const" if const else "") + (" *" if pointer else "")


# ---- the table ----------------------------------------------------------------------------

ROWS = Section(
    "row kernels: log-sum-exp, (log-)softmax, elementwise",
    "",
    "from crossent._csrc cimport cx_lse_table\n\ncdef cx_lse_table T = lse_table()[0]",
)
CROSS_ENTROPY = Section(
    "the cross-entropy family",
    "",
    "from crossent._csrc_ce cimport cx_ce_table\n\ncdef cx_ce_table CE = ce_table()[0]",
)
GAUSSIAN = Section(
    "the Gaussian / Poisson family (strided arrays, i < n)",
    """\
    Each returns the sum of the elementwise losses l_i (pairwise, in double, also
    for float32 input); out (NULL: not written) gets l_i; grad_* (NULL: not
    written) get grad_scale * d l_i / d (that argument)_i.  Stride 0 repeats one
    value (one variance for all, ...).  They keep the Python API's accuracy
    (2 ulp per element, exact where a square or quotient leaves the range while
    l_i does not).  No validation: a negative var gives NaN.""",
    """\
    from crossent._csrc_gauss cimport (
        cx_gauss_table, CX_GK_VAR, CX_GK_LOGVAR, CX_GK_TORCH, CX_GK_MSE,
        CX_GK_POISSON_LOG, CX_GK_POISSON_RATE, CX_GK_L1, CX_GK_SMOOTH_L1, CX_GK_HUBER,
        CX_GK_BCE,
    )

    cdef cx_gauss_table GT = gauss_table()[0]""",
)

ROW = "const {t} *x, Py_ssize_t n, Py_ssize_t stride"
ROW_OUT = ROW + ", {t} *out, Py_ssize_t out_stride"
INPUT_TARGET = "const {t} *input, Py_ssize_t n, Py_ssize_t stride, " \
               "const {t} *target, Py_ssize_t target_stride"

KERNELS = [
    Kernel(
        "logsumexp", ROWS,
        "log(sum(exp(x[i * stride]))) over i < n; -inf for n == 0.",
        "{t}", ROW,
        "return {narrow}T.logsumexp_row_{sfx}(x, n, stride)",
    ),
    Kernel(
        "log_softmax", ROWS,
        "out[i * out_stride] = log_softmax(x)[i]; out may be x itself (same stride).",
        "void", ROW_OUT,
        "T.log_softmax_row_{sfx}(x, n, stride, out, out_stride)",
    ),
    Kernel(
        "softmax", ROWS,
        "out[i * out_stride] = softmax(x)[i]; out may be x itself (same stride).",
        "void", ROW_OUT,
        "T.softmax_row_{sfx}(x, n, stride, out, out_stride)",
    ),
    Kernel(
        "log_expit", ROWS,
        "out[i * out_stride] = log_expit(x[i * stride]) for i < n (a strided array).",
        "void", ROW_OUT,
        "T.log_expit_{sfx}(x, stride, out, out_stride, n)",
    ),
    Kernel(
        "norm_logpdf", ROWS,
        "out[i * out_stride] = norm.logpdf(x[i * stride], loc, scale) for i < n.",
        "void", ROW + ", {t} loc, {t} scale, {t} *out, Py_ssize_t out_stride",
        "T.norm_logpdf_{sfx}(x, stride, &loc, 0, &scale, 0, out, out_stride, n)",
    ),
    Kernel(
        "cross_entropy", CROSS_ENTROPY,
        """\
        Cross-entropy of one row x[i * stride], i < n, given its class index
        `label`: -log_softmax(x)[label] (a dominant class keeps relative accuracy:
        the row [0, -40] with label 0 gives 4.25e-18, not 0).  When grad is not
        NULL, the same call also writes, in one pass over the row,
            grad[i * grad_stride] = grad_scale * (softmax(x)[i] - (i == label))
        (grad must not overlap x).  No validation: a label outside [0, n) gives NaN
        and a NaN gradient; a row holding NaN or +inf, or only -inf, gives NaN.""",
        "{t}", ROW + ", Py_ssize_t label, {t} *grad, Py_ssize_t grad_stride, {t} grad_scale",
        "return {narrow}CE.ce_row_public_{sfx}(x, n, stride, label, grad, grad_stride, grad_scale)",
    ),
    Kernel(
        "bce_with_logits", CROSS_ENTROPY,
        """\
        Binary cross-entropy with logits over a strided array, i < n:
            l_i = w_i (p_i t_i softplus(-x_i) + (1 - t_i) softplus(x_i))
        with w = weight, p = pos_weight (either may be NULL: ones; stride 0 repeats
        one value).  out (NULL: not written) gets l_i; grad (NULL: not written) gets
        grad_scale * dl_i/dx_i = grad_scale * w_i ((1 - t_i) sigmoid(x_i) - p_i t_i sigmoid(-x_i)).
        Returns the sum of the l_i, pairwise in double (also for float32 input).""",
        "double",
        ROW + ", const {t} *target, Py_ssize_t target_stride, const {t} *weight, "
        "Py_ssize_t weight_stride, const {t} *pos_weight, Py_ssize_t pos_weight_stride, "
        "{t} *out, Py_ssize_t out_stride, {t} *grad, Py_ssize_t grad_stride, {t} grad_scale",
        "return CE.bce_{sfx}(x, stride, target, target_stride, weight, weight_stride, "
        "pos_weight, pos_weight_stride, out, out_stride, grad, grad_stride, grad_scale, 1.0, n)",
    ),
    Kernel(
        "gaussian_nll", GAUSSIAN,
        """\
        The exact Gaussian NLL (nats, constant included), as crossent.gaussian_nll:
            l_i = log(2 pi var_i) / 2 + r_i**2 / (2 var_i),   r_i = input_i - target_i
            d l_i / d input_i = r_i / var_i,  d l_i / d var_i = (1 - r_i**2 / var_i) / (2 var_i)
        var_i == 0 takes the limit sigma -> 0+ (+inf where r_i != 0, -inf where r_i == 0).""",
        "double",
        INPUT_TARGET + ", const {t} *var, Py_ssize_t var_stride, {t} *out, "
        "Py_ssize_t out_stride, {t} *grad_input, Py_ssize_t grad_input_stride, "
        "{t} *grad_var, Py_ssize_t grad_var_stride, {t} grad_scale",
        "return GT.array_{sfx}(CX_GK_VAR, 0, 0.0, input, stride, target, target_stride, var, "
        "var_stride, n, out, out_stride, grad_input, grad_input_stride, grad_var, "
        "grad_var_stride, grad_scale)",
    ),
    Kernel(
        "gaussian_nll_log_var", GAUSSIAN,
        """\
        The same with the log-variance s_i = log var_i (no overflow of exp(-s_i) for any s_i):
            l_i = (log 2 pi + s_i) / 2 + r_i**2 exp(-s_i) / 2
            d l_i / d input_i = r_i exp(-s_i),  d l_i / d s_i = (1 - r_i**2 exp(-s_i)) / 2""",
        "double",
        INPUT_TARGET + ", const {t} *log_var, Py_ssize_t log_var_stride, {t} *out, "
        "Py_ssize_t out_stride, {t} *grad_input, Py_ssize_t grad_input_stride, "
        "{t} *grad_log_var, Py_ssize_t grad_log_var_stride, {t} grad_scale",
        "return GT.array_{sfx}(CX_GK_LOGVAR, 0, 0.0, input, stride, target, target_stride, "
        "log_var, log_var_stride, n, out, out_stride, grad_input, grad_input_stride, "
        "grad_log_var, grad_log_var_stride, grad_scale)",
    ),
    Kernel(
        "gaussian_nll_loss", GAUSSIAN,
        """\
        torch's gaussian_nll_loss elementwise: v_i = max(var_i, eps),
            l_i = (log v_i + r_i**2 / v_i) / 2  [+ log(2 pi) / 2 if full]
        with the straight-through gradient d l_i / d var_i = (1 - r_i**2 / v_i) / (2 v_i).""",
        "double",
        INPUT_TARGET + ", const {t} *var, Py_ssize_t var_stride, bint full, {t} eps, "
        "{t} *out, Py_ssize_t out_stride, {t} *grad_input, Py_ssize_t grad_input_stride, "
        "{t} *grad_var, Py_ssize_t grad_var_stride, {t} grad_scale",
        "return GT.array_{sfx}(CX_GK_TORCH, full, eps, input, stride, target, target_stride, "
        "var, var_stride, n, out, out_stride, grad_input, grad_input_stride, grad_var, "
        "grad_var_stride, grad_scale)",
    ),
    Kernel(
        "mse_loss", GAUSSIAN,
        "Squared error l_i = r_i**2, d l_i / d input_i = 2 r_i.",
        "double",
        INPUT_TARGET + ", {t} *out, Py_ssize_t out_stride, {t} *grad, Py_ssize_t grad_stride, "
        "{t} grad_scale",
        "return GT.array_{sfx}(CX_GK_MSE, 0, 0.0, input, stride, target, target_stride, NULL, 0, "
        "n, out, out_stride, grad, grad_stride, NULL, 0, grad_scale)",
    ),
    Kernel(
        "poisson_nll_loss", GAUSSIAN,
        """\
        torch's poisson_nll_loss elementwise: log_input: l_i = exp(x_i) - t_i x_i, else
        l_i = x_i - t_i log(x_i + eps); full adds Stirling's log t_i! where t_i > 1.""",
        "double",
        INPUT_TARGET + ", bint log_input, bint full, {t} eps, {t} *out, Py_ssize_t out_stride, "
        "{t} *grad, Py_ssize_t grad_stride, {t} grad_scale",
        "return GT.array_{sfx}(CX_GK_POISSON_LOG if log_input else CX_GK_POISSON_RATE, full, "
        "eps, input, stride, target, target_stride, NULL, 0, n, out, out_stride, grad, "
        "grad_stride, NULL, 0, grad_scale)",
    ),
    Kernel(
        "l1_loss", GAUSSIAN,
        """\
        Absolute error l_i = w_i |r_i|, d l_i / d input_i = w_i sign(r_i) (0 at r_i == 0,
        NaN at NaN); weight NULL: w_i = 1.""",
        "double",
        INPUT_TARGET + ", const {t} *weight, Py_ssize_t weight_stride, {t} *out, "
        "Py_ssize_t out_stride, {t} *grad, Py_ssize_t grad_stride, {t} grad_scale",
        "return GT.array_{sfx}(CX_GK_L1, weight != NULL, 0.0, input, stride, target, "
        "target_stride, weight, weight_stride, n, out, out_stride, grad, grad_stride, NULL, 0, "
        "grad_scale)",
    ),
    Kernel(
        "smooth_l1_loss", GAUSSIAN,
        """\
        torch's smooth L1: l_i = r_i**2 / (2 beta) where |r_i| < beta, else |r_i| - beta / 2;
        d l_i / d input_i = r_i / beta, else sign(r_i).  beta == 0 is l1_loss (a negative
        beta is not validated).""",
        "double",
        INPUT_TARGET + ", {t} beta, {t} *out, Py_ssize_t out_stride, {t} *grad, "
        "Py_ssize_t grad_stride, {t} grad_scale",
        "return GT.array_{sfx}(CX_GK_SMOOTH_L1 if beta > 0 else CX_GK_L1, 0, beta, input, "
        "stride, target, target_stride, NULL, 0, n, out, out_stride, grad, grad_stride, NULL, "
        "0, grad_scale)",
    ),
    Kernel(
        "huber_loss", GAUSSIAN,
        """\
        torch's Huber loss: l_i = w_i r_i**2 / 2 where |r_i| < delta, else
        w_i delta (|r_i| - delta / 2); d l_i / d input_i = w_i r_i, else
        w_i delta sign(r_i).  delta > 0 (not validated); weight NULL: w_i = 1.""",
        "double",
        INPUT_TARGET + ", const {t} *weight, Py_ssize_t weight_stride, {t} delta, {t} *out, "
        "Py_ssize_t out_stride, {t} *grad, Py_ssize_t grad_stride, {t} grad_scale",
        "return GT.array_{sfx}(CX_GK_HUBER, weight != NULL, delta, input, stride, target, "
        "target_stride, weight, weight_stride, n, out, out_stride, grad, grad_stride, NULL, 0, "
        "grad_scale)",
    ),
    Kernel(
        "binary_cross_entropy", GAUSSIAN,
        """\
        torch's BCE on probabilities: l_i = -w_i (t_i max(log x_i, -100)
        + (1 - t_i) max(log(1 - x_i), -100)); d l_i / d x_i = w_i (x_i - t_i) /
        max(x_i (1 - x_i), 1e-12f) (torch's formula and float floor).  An x_i or t_i
        outside [0, 1], or NaN, gives NaN; weight NULL: w_i = 1.""",
        "double",
        INPUT_TARGET + ", const {t} *weight, Py_ssize_t weight_stride, {t} *out, "
        "Py_ssize_t out_stride, {t} *grad, Py_ssize_t grad_stride, {t} grad_scale",
        "return GT.array_{sfx}(CX_GK_BCE, weight != NULL, 0.0, input, stride, target, "
        "target_stride, weight, weight_stride, n, out, out_stride, grad, grad_stride, NULL, 0, "
        "grad_scale)",
    ),
]


def functions():
    """Every (kernel, dtype) pair in the order of the files: each _f64 before its _f32."""
    return [(kernel, dtype) for kernel in KERNELS for dtype in DTYPES]


def capsule_signatures() -> dict[str, str]:
    """{name: the capsule name Cython gives it} for every public function."""
    return {k.full_name(d): k.capsule_signature(d) for k, d in functions()}


# ---- layout -------------------------------------------------------------------------------

def pieces(units: list[str], tail: str) -> list[str]:
    """The units as they end their lines: each with its comma, the last with the tail."""
    return [unit + "," for unit in units[:-1]] + [units[-1] + tail]


def wrap(head: str, units: list[str], tail: str) -> list[str]:
    """A call: head + units joined by ', ' + tail, filling lines up to WIDTH,
    continuation lines under the first unit."""
    first, *rest = pieces(units, tail)
    lines = [head + first]
    for piece in rest:
        if len(lines[-1]) + 1 + len(piece) <= WIDTH:
            lines[-1] += " " + piece
        else:
            lines.append(" " * len(head) + piece)
    return lines


def declaration(head: str, units: list[str], tail: str) -> list[str]:
    """A signature: on one line if it fits, else one unit a line, under the open
    parenthesis or, if a line would still be too long, indented by 4."""
    one_line = head + ", ".join(units) + tail
    if len(one_line) <= WIDTH:
        return [one_line]
    first, *rest = pieces(units, tail)
    aligned = [head + first] + [" " * len(head) + piece for piece in rest]
    if max(map(len, aligned)) <= WIDTH:
        return aligned
    return [head] + ["    " + piece for piece in pieces(units, tail)]


def param_groups(params: list[Param]) -> list[list[Param]]:
    """The parameters in the pieces a line break never splits: a pointer with its
    length and stride, a run of scalars."""
    groups: list[list[Param]] = []
    for p in params:
        if groups and (p.joins_previous() or p.is_scalar() and groups[-1][-1].is_scalar()):
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


def param_units(params: list[Param], c: bool = False) -> list[str]:
    """The declarations of each group: ['const double *x, Py_ssize_t n', ...]."""
    return [", ".join(p.declaration(c) for p in group) for group in param_groups(params)]


def call_units(call: str) -> tuple[str, list[str], str]:
    """'return f(a, b)' -> ('return f(', ['a', 'b'], ')')."""
    head, args = call.split("(", 1)
    return head + "(", [a.strip() for a in args[:-1].split(",")], ")"


def comment_lines(doc: str, prefix: str) -> list[str]:
    return [(prefix + line).rstrip() for line in textwrap.dedent(doc).splitlines()]


def c_comment(doc: str) -> list[str]:
    """A doc as a C block comment: '/* one */' or '/* first\\n * ... */'."""
    assert "*/" not in doc, doc
    lines = comment_lines(doc, " * ")
    lines[0] = "/*" + lines[0][2:]
    lines[-1] += " */"
    return lines


def rule(text: str, prefix: str, end: str = "") -> str:
    """'# ---- text ------...' padded to 80 columns."""
    head = f"{prefix} ---- {text} "
    return head + "-" * max(4, 80 - len(head) - len(end)) + end


def sections():
    """[(section, [kernels])] in table order."""
    grouped: list[tuple[Section, list[Kernel]]] = []
    for kernel in KERNELS:
        if not grouped or grouped[-1][0] is not kernel.section:
            grouped.append((kernel.section, []))
        grouped[-1][1].append(kernel)
    return grouped


# ---- kernels.pxd --------------------------------------------------------------------------

PXD = Template('''\
$generated
#
# crossent's public cimport API: `from crossent cimport kernels`.
#
# Flat, explicitly typed row kernels (no fused types, no cimports), noexcept
# nogil, raw pointers with lengths and strides counted in ELEMENTS.  They do
# not validate their arguments; they keep the Python API's accuracy.  The names
# and C signatures are a stable API (pinned by tests/test_cimport.py and
# tests/test_c_api.py); they are exported through crossent.kernels.__pyx_capi__.
$body''')


def cdef_lines(kernel: Kernel, dtype: Dtype, tail: str) -> list[str]:
    head = f"cdef {kernel.return_type(dtype)} {kernel.full_name(dtype)}("
    return declaration(head, param_units(kernel.parameters(dtype)), ") noexcept nogil" + tail)


def pxd_text() -> str:
    out: list[str] = []
    for section, kernels in sections():
        out += ["", rule(section.title, "#")]
        if section.doc:
            out += comment_lines(section.doc, "# ")
        for kernel in kernels:
            out += [""] + comment_lines(kernel.doc, "# ")
            for dtype in DTYPES:
                out += cdef_lines(kernel, dtype, "")
    return PXD.substitute(generated=generated_line("#"), body="\n".join(out) + "\n")


# ---- kernels.pyx --------------------------------------------------------------------------

PYX = Template('''\
# cython: language_level=3
$generated
"""crossent's row kernels for other compiled code (see kernels.pxd).

Each function is exported through ``__pyx_capi__``, so Cython code can
``from crossent cimport kernels`` and ``scipy.LowLevelCallable.from_cython``
can wrap them.  They run the SIMD path chosen at import (show_config())."""
from crossent._dispatch cimport lse_table, ce_table, gauss_table
$body''')


def pyx_text() -> str:
    out: list[str] = []
    for section, kernels in sections():
        out += ["", "", rule(section.title, "#")]
        out += textwrap.dedent(section.pyx_setup).splitlines()
        for kernel in kernels:
            for dtype in DTYPES:
                head, args, tail = call_units(kernel.call(dtype))
                out += ["", ""] + cdef_lines(kernel, dtype, ":")
                out += wrap("    " + head, args, tail)
    return PYX.substitute(generated=generated_line("#"), body="\n".join(out) + "\n")


# ---- crossent_capi.h ----------------------------------------------------------------------

HEADER = Template('''\
$generated
/* crossent_capi.h: crossent's row kernels for plain C (and C++) extensions.
 *
 * crossent's compiled kernels are exported by the module crossent.kernels
 * as capsules in its __pyx_capi__ dictionary (the same functions Cython
 * callers get with `from crossent cimport kernels`).  This header gives C
 * code the same functions without Cython: one typedef per function pointer,
 * a struct holding them, and crossent_capi_import() to fill it at run time.
 *
 * Usage, in an extension module (include_dirs=[crossent.get_include()]):
 *
 *     #include <Python.h>
 *     #include "crossent_capi.h"
 *
 *     static crossent_capi cx;
 *
 *     PyMODINIT_FUNC PyInit_mymod(void) {
 *         if (crossent_capi_import(&cx) < 0) return NULL;
 *         ...
 *     }
 *     ... double lse = cx.logsumexp_f64(row, n, 1);   (the GIL need not be held)
 *
 * Each capsule is named by the C signature of its function; the import
 * checks that name against the signature this header was written for, so a
 * crossent whose kernels changed signature fails at import with a TypeError
 * instead of crashing later.  A function missing from the installed crossent
 * is an ImportError.
 *
 * The kernels take raw pointers, lengths and strides counted in ELEMENTS
 * (not bytes).  They do not validate their arguments (an invalid label or a
 * negative variance gives NaN), are thread-safe and may run without the GIL.
 * The comment above each typedef gives the kernel's formula (the same as in
 * crossent/kernels.pxd, in the package folder above this include folder).
 * Cython's `bint` arguments are C `int` here.
 */
#ifndef CROSSENT_CAPI_H
#define CROSSENT_CAPI_H

#include <Python.h>

/* Bumped when a function is added to the struct or a signature changes. */
#define CROSSENT_CAPI_VERSION $version

/* The module that exports the kernels. */
#define CROSSENT_CAPI_MODULE "crossent.kernels"

/* ---- signatures: each capsule's name in crossent.kernels.__pyx_capi__ --- */

$signatures

/* ---- function pointer types ---------------------------------------------- */
$typedefs

/* ---- the table of kernels ------------------------------------------------ */

typedef struct crossent_capi {
$members
} crossent_capi;

/* ---- the import ------------------------------------------------------------ */

/* Store the pointer of capsule `name` of `capi` (a dict) in *fn, after
 * checking that the capsule is named `signature`.  0, or -1 with an
 * exception set. */
Py_LOCAL_INLINE(int) crossent_capi__get(PyObject *capi, const char *name,
                                         const char *signature, void (**fn)(void))
{
    /* A data pointer and a function pointer may only meet through a union
     * (ISO C has no cast between them); Cython stores it the same way. */
    union { void *p; void (*fp)(void); } ptr;
    PyObject *capsule = PyDict_GetItemString(capi, name); /* borrowed */

    if (capsule == NULL) {
        PyErr_Format(PyExc_ImportError,
                     CROSSENT_CAPI_MODULE " does not export the C function %s "
                     "(the installed crossent is older than this extension's "
                     "crossent_capi.h, version %d)", name, CROSSENT_CAPI_VERSION);
        return -1;
    }
    if (!PyCapsule_IsValid(capsule, signature)) {
        const char *got = PyCapsule_CheckExact(capsule) ? PyCapsule_GetName(capsule) : NULL;
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError,
                     "C function " CROSSENT_CAPI_MODULE ".%s has the signature '%s', "
                     "but this extension was built for '%s' (rebuild it against the "
                     "installed crossent)", name, got ? got : "(not a capsule)", signature);
        return -1;
    }
    ptr.p = PyCapsule_GetPointer(capsule, signature);
    if (ptr.p == NULL) {
        return -1;
    }
    *fn = ptr.fp;
    return 0;
}

/* Import crossent.kernels and fill *api with its kernels.
 *
 * Returns 0 on success; -1 with a Python exception set (ImportError when
 * crossent or a function is missing, TypeError when a function's signature
 * differs from this header's), leaving *api unchanged.  Call it with the GIL
 * held, typically once from the module's init function. */
Py_LOCAL_INLINE(int) crossent_capi_import(crossent_capi *api)
{
    crossent_capi loaded;
    PyObject *module, *capi;
    int status = -1;

    module = PyImport_ImportModule(CROSSENT_CAPI_MODULE);
    if (module == NULL) {
        return -1;
    }
    capi = PyObject_GetAttrString(module, "__pyx_capi__");
    Py_DECREF(module);
    if (capi == NULL) {
        return -1;
    }
    if (!PyDict_Check(capi)) {
        PyErr_SetString(PyExc_TypeError, CROSSENT_CAPI_MODULE ".__pyx_capi__ is not a dict");
        goto done;
    }
#define CROSSENT_CAPI__LOAD(name)                                                  \\
    do {                                                                           \\
        void (*fn_)(void);                                                         \\
        if (crossent_capi__get(capi, #name, CROSSENT_CAPI_SIG_##name, &fn_) < 0)  \\
            goto done;                                                             \\
        loaded.name = (crossent_##name##_t)fn_;                                    \\
    } while (0)
$loads
#undef CROSSENT_CAPI__LOAD
    *api = loaded;
    status = 0;
done:
    Py_DECREF(capi);
    return status;
}

#endif /* CROSSENT_CAPI_H */
''')


def signature_macro(kernel: Kernel, dtype: Dtype) -> list[str]:
    """#define CROSSENT_CAPI_SIG_<name> "<signature>", in string pieces when it is long,
    broken between the same parameter groups as the declarations."""
    name, signature = kernel.full_name(dtype), kernel.capsule_signature(dtype)
    one_line = f'#define CROSSENT_CAPI_SIG_{name} "{signature}"'
    if len(one_line) <= WIDTH:
        return [one_line]
    units = [", ".join(cython_type(p.type) for p in group)
             for group in param_groups(kernel.parameters(dtype))]
    units[0] = f"{cython_type(kernel.return_type(dtype))} ({units[0]}"
    units[-1] += ")"
    assert ", ".join(units) == signature
    lines, piece = [f"#define CROSSENT_CAPI_SIG_{name} \\"], ""
    for unit in units[:-1]:
        if piece and len(f'    "{piece}{unit}, " \\') > WIDTH:
            lines.append(f'    "{piece}" \\')
            piece = ""
        piece += unit + ", "
    if len(f'    "{piece}{units[-1]}"') > WIDTH:
        lines.append(f'    "{piece}" \\')
        piece = ""
    return lines + [f'    "{piece}{units[-1]}"']


def typedef_lines(kernel: Kernel, dtype: Dtype) -> list[str]:
    head = f"typedef {c_type(kernel.return_type(dtype))} (*crossent_{kernel.full_name(dtype)}_t)("
    return declaration(head, param_units(kernel.parameters(dtype), c=True), ");")


def header_text() -> str:
    pairs = functions()
    signatures = [line for k, d in pairs for line in signature_macro(k, d)]
    typedefs: list[str] = []
    for section, kernels in sections():
        typedefs += ["", rule(section.title, "/*", " */")]
        if section.doc:
            typedefs += c_comment(section.doc)
        for kernel in kernels:
            typedefs += [""] + c_comment(kernel.doc)
            for dtype in DTYPES:
                typedefs += typedef_lines(kernel, dtype)
    return HEADER.substitute(
        generated=generated_line("/*", " */"),
        version=CAPI_VERSION,
        signatures="\n".join(signatures),
        typedefs="\n".join(typedefs),
        members="\n".join(f"    crossent_{k.full_name(d)}_t {k.full_name(d)};" for k, d in pairs),
        loads="\n".join(f"    CROSSENT_CAPI__LOAD({k.full_name(d)});" for k, d in pairs),
    )


# ---- the files ----------------------------------------------------------------------------

def generated_line(prefix: str, end: str = "") -> str:
    return f"{prefix} Generated by tools/gen_api.py from its table (KERNELS); do not edit by hand.{end}"


OUTPUTS = {
    "src/crossent/kernels.pxd": pxd_text,
    "src/crossent/kernels.pyx": pyx_text,
    "csrc/crossent_capi.h": header_text,
}


def generate() -> dict[str, str]:
    """{path relative to the repository: the text the table gives}."""
    return {path: make() for path, make in OUTPUTS.items()}


def differences() -> list[str]:
    """A unified diff (lines) of each committed file against the table's text; [] when equal."""
    diff: list[str] = []
    for path, text in generate().items():
        file = ROOT / path
        committed = file.read_text() if file.exists() else ""
        diff += difflib.unified_diff(committed.splitlines(keepends=True),
                                     text.splitlines(keepends=True),
                                     f"a/{path} (committed)", f"b/{path} (from the table)")
    return diff


def write() -> list[str]:
    """Rewrite the files that differ; returns their paths."""
    changed = []
    for path, text in generate().items():
        file = ROOT / path
        if not file.exists() or file.read_text() != text:
            file.write_text(text)
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="print a diff and exit 1 if a committed file differs from the table")
    args = parser.parse_args(argv)
    if args.check:
        diff = differences()
        sys.stdout.writelines(diff)
        if diff:
            print("\nthe generated API files are stale: run python tools/gen_api.py",
                  file=sys.stderr)
        return 1 if diff else 0
    for path in write():
        print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
