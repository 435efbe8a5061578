#!/usr/bin/env bash
# The long fuzz run of tests/test_fuzz.py: every public function against the NumPy
# reference on arbitrary shapes, layouts, dtypes, axes, labels and NaN/inf patterns.
#
# Usage: tools/fuzz_long.sh [EXAMPLES_PER_TEST] [extra pytest arguments]
#
#   EXAMPLES_PER_TEST  hypothesis examples per fuzz test (default 3000; the suite's
#                      bounded run uses 60-150). The 13 fuzz tests take about 10-30 ms
#                      an example: 3000 each is roughly 15 minutes on one core.
#
# Failures found are kept in hypothesis' example database (.hypothesis/ at the
# repository root) and replayed first by every later run, the bounded one included,
# until they pass. Minimise a failure with the "Falsifying example" hypothesis prints,
# and keep it as a regression test in tests/test_fuzz.py.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-3000}"
shift || true
export CROSSENT_HYPOTHESIS_PROFILE=thorough
export CROSSENT_FUZZ_EXAMPLES="$examples"
exec python -m pytest tests/test_fuzz.py -q \
    --hypothesis-show-statistics -o cache_dir=.pytest_cache "$@"
