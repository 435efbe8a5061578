"""The documentation is complete and its examples are true.

- every public function (``crossent.__all__``) has a numpydoc docstring with the
  sections a user needs (Parameters naming exactly the signature's parameters,
  Returns, Raises where it raises, Notes saying which SciPy / PyTorch semantics it
  follows, Examples);
- every ``>>>`` example in those docstrings and in the ``docs/*.md`` pages runs and
  prints what it shows (doctest).

The compiled functions are Cython functions, which ``doctest.DocTestFinder`` does not
find; their docstrings are parsed here directly.
"""
import doctest
import inspect
import io
import os
import re

import numpy as np
import pytest

import crossent

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(os.path.dirname(HERE), "docs")

PUBLIC_FUNCTIONS = sorted(
    name for name in crossent.__all__
    if callable(getattr(crossent, name)) and not isinstance(getattr(crossent, name), type)
)

# The functions that validate their arguments and say so in a Raises section.
RAISING = {
    "logsumexp", "softmax", "log_softmax", "log_expit", "norm_logpdf",
    "cross_entropy", "nll_loss", "binary_cross_entropy_with_logits", "kl_div",
    "mse_loss", "gaussian_nll_loss", "poisson_nll_loss", "gaussian_nll",
    "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
}

# The peer whose semantics each function follows: its Notes section must name it
# (and say where crossent differs, which API.md lists).
PEER = {
    "logsumexp": "scipy.special.logsumexp",
    "softmax": "scipy.special.softmax",
    "log_softmax": "scipy.special.log_softmax",
    "log_expit": "scipy.special.log_expit",
    "norm_logpdf": "scipy.stats.norm.logpdf",
    "cross_entropy": "torch.nn.functional.cross_entropy",
    "nll_loss": "torch.nn.functional.nll_loss",
    "binary_cross_entropy_with_logits": "torch.nn.functional.binary_cross_entropy_with_logits",
    "kl_div": "torch.nn.functional.kl_div",
    "mse_loss": "torch.nn.functional.mse_loss",
    "gaussian_nll_loss": "torch.nn.functional.gaussian_nll_loss",
    "poisson_nll_loss": "torch.nn.functional.poisson_nll_loss",
    # no peer computes the exact Gaussian NLL; its Notes relate it to torch's
    "gaussian_nll": "torch.nn.functional.gaussian_nll_loss",
    "l1_loss": "torch.nn.functional.l1_loss",
    "smooth_l1_loss": "torch.nn.functional.smooth_l1_loss",
    "huber_loss": "torch.nn.functional.huber_loss",
    "binary_cross_entropy": "torch.nn.functional.binary_cross_entropy",
}

# ELLIPSIS for addresses and long tails; NORMALIZE_WHITESPACE so that the
# column alignment of a printed array is not part of the claim.
OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

_HEADER = re.compile(r"^(\S[^\n]*)\n(-{3,})$", re.M)


def _docstring(name):
    """The docstring of ``crossent.<name>`` without Cython's embedded signature line."""
    doc = inspect.cleandoc(getattr(crossent, name).__doc__ or "")
    first, _, rest = doc.partition("\n")
    if first.startswith(name + "("):  # embedsignature
        doc = inspect.cleandoc(rest)
    return doc


def _sections(doc):
    """{numpydoc section title: its body}, from the '----' underlined headers."""
    heads = [(m.group(1).strip(), m.start(), m.end()) for m in _HEADER.finditer(doc)
             if len(m.group(2)) == len(m.group(1).strip())]
    sections = {}
    for i, (title, _, end) in enumerate(heads):
        stop = heads[i + 1][1] if i + 1 < len(heads) else len(doc)
        sections[title] = doc[end:stop].strip("\n")
    return sections


def _documented_parameters(body):
    """Names listed in a Parameters section (``a, b : type`` lines at indent 0)."""
    names = []
    for line in body.splitlines():
        if line and not line[0].isspace():
            names += [n.strip().lstrip("*") for n in line.split(" : ")[0].split(",")]
    return names


def _run_doctest(text, name, filename, globs=None, lineno=0):
    """Run the >>> examples of `text` in `globs` (a fresh namespace if None).

    Returns (number of examples, number of failures, the failure report).
    """
    test = doctest.DocTestParser().get_doctest(
        text, {} if globs is None else globs, name, filename, lineno)
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS, verbose=False)
    # The examples are written to print the same under any print options; run
    # them under NumPy's defaults all the same, whatever another test left set.
    with np.printoptions(**_DEFAULT_PRINTOPTIONS):
        runner.run(test, out=report.write, clear_globs=False)
    if globs is not None:  # DocTest ran in a copy: hand the names on
        globs.update(test.globs)
    return len(test.examples), runner.failures, report.getvalue()


_DEFAULT_PRINTOPTIONS = dict(
    precision=8, threshold=1000, edgeitems=3, linewidth=75, suppress=False,
    nanstr="nan", infstr="inf", sign="-", floatmode="maxprec", legacy=False,
)


def test_every_public_function_is_checked():
    # A new public function must get an entry here (and a full docstring).
    assert set(PUBLIC_FUNCTIONS) == RAISING | {"get_include", "show_config"}
    assert set(PEER) == RAISING


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_numpydoc_sections(name):
    doc = _docstring(name)
    sections = _sections(doc)
    params = list(inspect.signature(getattr(crossent, name)).parameters)
    required = {"Returns", "Examples"}
    if params:
        required.add("Parameters")
    if name in RAISING:
        required |= {"Raises", "Notes"}
    missing = required - set(sections)
    assert not missing, f"{name}: docstring lacks {sorted(missing)}"
    # a one-line summary first, as numpydoc asks
    summary = doc.split("\n\n")[0]
    assert "\n" not in summary and summary.endswith("."), f"{name}: summary {summary!r}"
    if params:
        documented = _documented_parameters(sections["Parameters"])
        assert sorted(documented) == sorted(params), (
            f"{name}: Parameters documents {documented}, the signature has {params}"
        )
    if name in RAISING:
        # every validating function refuses bad types and bad values
        raised = _raised_names(sections["Raises"])
        assert {"TypeError", "ValueError"} <= raised, f"{name}: Raises lists {sorted(raised)}"
        assert PEER[name] in sections["Notes"], f"{name}: Notes should name {PEER[name]}"


def _raised_names(raises_body):
    """Exception names of a Raises section (``ValueError`` or ``TypeError, ValueError`` lines)."""
    names = set()
    for line in raises_body.splitlines():
        if line and not line[0].isspace():
            names |= {n.strip() for n in line.split(",")}
    return names


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_docstring_examples(name):
    doc = getattr(crossent, name).__doc__
    n, failures, report = _run_doctest(doc, f"crossent.{name}", f"<crossent.{name}>")
    assert n > 0, f"crossent.{name} has no >>> example"
    assert failures == 0, report


def test_label_error_docstring():
    # the one public class: a documented exception that is both ValueError and IndexError
    doc = crossent.LabelError.__doc__
    assert "ValueError" in doc and "IndexError" in doc
    assert issubclass(crossent.LabelError, ValueError) and issubclass(crossent.LabelError, IndexError)


def _md_pages():
    return sorted(f for f in os.listdir(DOCS) if f.endswith(".md"))


def _md_doctest_blocks(path):
    """(first line number, text) of the fenced code blocks of a page holding >>> examples.

    The fences themselves are dropped (doctest would read a closing fence as
    expected output).
    """
    with open(path, encoding="utf-8") as f:
        text = f.read()
    blocks = []
    for m in re.finditer(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M):
        if ">>>" in m.group(1):
            blocks.append((text.count("\n", 0, m.start(1)), m.group(1)))
    return blocks


def test_docs_pages_exist():
    pages = _md_pages()
    for page in ("index.md", "api.md", "gaussian.md", "kernels.md", "threads.md",
                 "building.md", "benchmarks.md", "changelog.md"):
        assert page in pages


@pytest.mark.parametrize("page", _md_pages())
def test_docs_page_examples(page):
    path = os.path.join(DOCS, page)
    blocks = _md_doctest_blocks(path)
    if not blocks:
        assert page not in PAGES_WITH_EXAMPLES, f"docs/{page} lost its examples"
        return
    # the blocks of a page run in order in one namespace, as a reader runs them
    globs = {}
    for lineno, block in blocks:
        n, failures, report = _run_doctest(block, f"docs/{page}", path, globs, lineno)
        assert n > 0
        assert failures == 0, report


# Pages whose examples must stay (a page losing them would silently pass).
PAGES_WITH_EXAMPLES = {"index.md", "kernels.md", "threads.md", "gaussian.md"}
