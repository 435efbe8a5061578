"""Sphinx configuration of crossent's documentation (MyST Markdown pages).

Build (warnings are errors)::

    pip install -r requirements/docs.txt
    tools/build_docs.sh            # python -m sphinx -W --keep-going -b html docs <dir>

crossent must be importable (installed, or built in place with ``src`` on the
path): the API pages are generated from the docstrings of the compiled
functions.  The build needs no network (no intersphinx).  The figures are made
by the scripts next to the pages (``python docs/gaussian_plot.py``) or copied
from the benchmarks (``benchmarks/results.png`` -> ``_static/benchmarks.png``).
"""
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")
# An in-place build (``python setup.py build_ext --inplace``) leaves the
# compiled modules in src/crossent: use it when it is there, otherwise the
# installed package (src/ without them would shadow it with an unbuilt copy).
if glob.glob(os.path.join(SRC, "crossent", "_logsumexp.*.so")) or glob.glob(
    os.path.join(SRC, "crossent", "_logsumexp.*.pyd")
):
    sys.path.insert(0, SRC)

import crossent  # noqa: E402  (after the path set-up above)

project = "crossent"
author = "crossent developers"
copyright = "crossent developers"
version = release = crossent.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    # numpydoc renders the Parameters/Returns/Raises/Notes/Examples sections of
    # the docstrings (also those of the Cython functions, whose signature line
    # autodoc takes from the embedded signature).
    "numpydoc",
]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
html_static_path = ["_static"]
html_theme = "alabaster"
html_title = f"crossent {release}"

# autodoc: the compiled functions carry their signature in the first docstring
# line (Cython's embedsignature); document members in source order.
autodoc_docstring_signature = True
autodoc_member_order = "bysource"

# numpydoc: no autosummary tables of class members (LabelError is an exception
# class with no API of its own), no cross-reference guessing of parameter types.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
