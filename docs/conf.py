"""Sphinx configuration of crossent's documentation (minimal; MyST Markdown pages).

Build: ``pip install sphinx myst-parser`` then ``sphinx-build -b html docs docs/_build/html``.
The figures are made by the scripts next to the pages (``python docs/gaussian_plot.py``).
"""
project = "crossent"
author = "crossent developers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax"]
myst_enable_extensions = ["dollarmath", "amsmath"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
html_static_path = ["_static"]
