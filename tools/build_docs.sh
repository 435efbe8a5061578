#!/usr/bin/env bash
# Build the documentation site with warnings as errors.
#
#   tools/build_docs.sh [OUTDIR]
#
# Needs requirements/docs.txt and an importable crossent (installed, or built in
# place: docs/conf.py puts src/ on the path when the compiled modules are there).
# OUTDIR defaults to a new temporary folder; the HTML lands in OUTDIR/html.
# The docstring and page examples are run by tests/test_docstrings.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$(mktemp -d "${TMPDIR:-/tmp}/crossent-docs.XXXXXX")}"
PYTHON="${PYTHON:-python}"

# -E: read every page afresh (no stale environment); -n would be too strict for
# the references to SciPy/PyTorch names, which resolve only with intersphinx
# (off: the build needs no network).
"$PYTHON" -m sphinx -W --keep-going -E -b html -d "$OUT/doctrees" "$ROOT/docs" "$OUT/html"
echo "crossent docs: $OUT/html/index.html"
