#!/usr/bin/env bash
# Build crossent with AddressSanitizer + UndefinedBehaviorSanitizer and run tests under them.
#
# Usage: tools/sanitize.sh [pytest arguments...]
#   With no arguments it runs the subset below; with arguments, pytest gets those instead
#   (e.g. `tools/sanitize.sh tests/test_errors.py -k out`).
#
# Environment:
#   CROSSENT_SANITIZE_VENV=/path  reuse this virtual environment (it must already hold
#                                 requirements/test.txt) instead of making a fresh one
#   CROSSENT_SANITIZE_KEEP=1      keep the temporary copy (build, logs) afterwards
#   PYTHON=python3.11             the interpreter that makes the fresh venv
#
# What it does: copies the source tree (git-tracked and untracked-not-ignored files) to a
# temporary folder, builds the extension there in place with CROSSENT_SANITIZE=1 (setup.py:
# -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# -g -O1, OpenMP on) and runs pytest with that copy first on PYTHONPATH (it checks that
# the imported crossent is the sanitized copy, not an installed or editable one).
#
# Compiler: gcc (the default compiler; gcc has no -fsanitize=function). setup.py also
# supports clang (CC=clang) and then adds -fno-sanitize=function: clang's function-pointer
# check (part of `undefined` in recent clang) flags CPython's own casts of C functions to
# PyCFunction. This script preloads gcc's runtimes, so it is for gcc builds.
#
# Runtime set-up, and why:
# - The interpreter is not instrumented, so the ASan runtime must come first in the
#   process: LD_PRELOAD of gcc's libasan.so, and libubsan.so, which the extensions link
#   too. libstdc++ needs no preload: torch imports and runs under this set-up.
# - PYTHONMALLOC=malloc: Python objects come from malloc, so ASan sees their bounds.
# - ASAN_OPTIONS / UBSAN_OPTIONS: every error report is fatal (abort_on_error,
#   halt_on_error) and goes to a per-process log file (log_path), so a report from a
#   subprocess whose output a test captures (the CROSSENT_SIMD=baseline child, the
#   downstream builds, fork() children) is still seen. The run fails if pytest fails OR
#   any log or the console output holds a report.
# - Leak detection is on, but leaks are judged here, not by LSan's exit status
#   (exitcode=0): at exit CPython, NumPy and torch leave allocations unreachable on
#   purpose (interned strings, type objects, module state), and an LSan suppression
#   matches any frame of a stack, so one broad enough to hide those (the interpreter's
#   frames) would hide every leak in crossent too. Instead the run fails on any leak
#   whose allocation stack has a frame in crossent's own code (src/crossent/, csrc/),
#   and only counts the others. Stacks come from the fast frame-pointer unwinder, which
#   stops at the first frame built without one (the interpreter's), so this catches
#   crossent's own malloc-without-free, not reference-count leaks of Python objects.
#
# Test subset. The whole suite under ASan takes well over 30 min on 2 cores (test_huge
# alone ~25 min), too long for CI; the subset (~4 min of tests) reaches every kernel
# family, both dtypes, strided/broadcast layouts, the OpenMP paths, the public
# cimport/C API and the hostile-input paths:
#   test_primitives, test_cross_entropy, test_gaussian   every public function, all layouts
#   test_errors                                          bad inputs, out=, labels, dtypes
#   test_math                                            exp/log kernels, SIMD paths
#   test_threads (without the two 4096x3000 cases: the same wide-row path as the others,
#                 at 12M elements, 75 s of its 125 s under ASan)
#   test_cimport, test_c_api                             raw-pointer kernels from C/Cython
# plus, when present, test_fuzz, test_concurrency, test_inputs_safe, test_layouts,
# test_regressions, test_new_losses and test_broadcast_targets (the pointwise engine's
# newer kinds and broadcast walks): random and hostile shapes, strides (odd byte strides, misaligned and
# size-1 dims with odd strides) and dtypes and many threads, the most valuable files
# under ASan: a write outside the result's elements is reported there.
# Left out: test_*accuracy (mpmath-bound ulp checks, 2 min under ASan, the same kernels as
# above; their bounds also assume -O3's vectorised summation order, which -O1 changes),
# test_reference (the NumPy reference only), test_docs_plot, test_docstrings,
# test_typing (no compiled code of their own), test_gauss_cimport (the cimport path of
# test_cimport), test_threads_env (thread-count settings in fresh interpreters: no new
# kernel path), test_huge (2**31-element walks at -O1 under ASan: ~3.5 min per test).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/cx-sanitize.XXXXXX")"
cleanup() {
    if [[ "${CROSSENT_SANITIZE_KEEP:-}" == 1 ]]; then
        echo "sanitize: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
start=$SECONDS

# 1. Copy the tree: tracked files plus untracked ones git does not ignore (the build
#    outputs of the source checkout, *.so and generated *.c, are ignored and stay behind).
mkdir -p "$work/tree" "$work/logs"
(cd "$root" && git ls-files -z -co --exclude-standard \
    | while IFS= read -r -d '' f; do if [[ -f "$f" ]]; then printf '%s\0' "$f"; fi; done \
    | tar --null -T - -cf -) | tar -xf - -C "$work/tree"
cd "$work/tree"

# 2. The virtual environment.
if [[ -n "${CROSSENT_SANITIZE_VENV:-}" ]]; then
    # shellcheck disable=SC1091
    source "$CROSSENT_SANITIZE_VENV/bin/activate"
else
    "${PYTHON:-python3}" -m venv "$work/venv"
    # shellcheck disable=SC1091
    source "$work/venv/bin/activate"
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet -r requirements/test.txt
fi

# 3. The sanitized build, in place in the copy.
echo "sanitize: building in $work/tree"
if ! CROSSENT_SANITIZE=1 CC=gcc python setup.py build_ext --inplace -j "$(nproc)" \
        >"$work/logs/build.log" 2>&1; then
    tail -n 40 "$work/logs/build.log"
    echo "sanitize: FAILED to build"
    exit 1
fi
echo "sanitize: built in $((SECONDS - start)) s"

# 4. The runtime.
preload="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
for lib in $preload; do
    if [[ ! -f "$lib" ]]; then
        echo "sanitize: no sanitizer runtime at $lib"
        exit 1
    fi
done
san_log="$work/logs/san"
san_env=(
    "LD_PRELOAD=$preload"
    "PYTHONMALLOC=malloc"
    "PYTHONPATH=$work/tree/src${PYTHONPATH:+:$PYTHONPATH}"
    "ASAN_OPTIONS=detect_leaks=1:exitcode=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1:check_initialization_order=1:log_path=$san_log"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$san_log"
)

# The crossent that the tests import must be this sanitized copy.
env "${san_env[@]}" python - "$work/tree/src" <<'PY'
import sys

import crossent
from crossent._common import _config

where = crossent.__file__
if not where.startswith(sys.argv[1]):
    sys.exit(f"sanitize: imported crossent from {where}, not from the sanitized copy")
if "sanitize" not in _config()["build"]:
    sys.exit("sanitize: crossent was not built with CROSSENT_SANITIZE=1")
print(f"sanitize: testing {where}")
PY

# 5. The tests.
if [[ $# -gt 0 ]]; then
    tests=("$@")
else
    tests=(
        tests/test_primitives.py tests/test_cross_entropy.py tests/test_gaussian.py
        tests/test_errors.py tests/test_math.py tests/test_threads.py
        "--deselect=tests/test_threads.py::test_bitwise_identical_across_n_threads[wide-rows-float64]"
        "--deselect=tests/test_threads.py::test_bitwise_identical_across_n_threads[wide-rows-float32]"
        tests/test_cimport.py
    )
    for f in tests/test_c_api.py tests/test_fuzz.py tests/test_concurrency.py tests/test_inputs_safe.py \
             tests/test_layouts.py tests/test_regressions.py tests/test_new_losses.py \
             tests/test_broadcast_targets.py; do
        if [[ -f "$f" ]]; then tests+=("$f"); fi
    done
fi
echo "sanitize: pytest ${tests[*]}"
set +e
env "${san_env[@]}" python -m pytest -p no:cacheprovider -q "${tests[@]}" 2>&1 | tee "$work/logs/pytest.log"
rc=${PIPESTATUS[0]}
set -e

# 6. Any error report fails the run, even one from a subprocess or one pytest survived;
#    a leak fails it when its stack has a frame in crossent's code.
shopt -s nullglob
logs=("$san_log".*)
verdict=0
python - "${logs[@]}" <<'PY' || verdict=1
import re
import sys

ERROR = re.compile(r"ERROR: AddressSanitizer|runtime error:|Sanitizer:DEADLYSIGNAL|"
                   r"ERROR: LeakSanitizer: (?!detected memory leaks)")
LEAK = re.compile(r"(Direct|Indirect) leak of ")
OURS = re.compile(r"src/crossent/|csrc/(cx_|crossent)")  # crossent's sources and modules
errors, ours, others = [], [], 0
for path in sys.argv[1:]:
    with open(path, errors="replace") as f:
        text = f.read()
    if ERROR.search(text):
        errors.append(f"===== {path}\n{text}")
    # each leak is a block of frames that starts with "Direct/Indirect leak of"
    for block in text.split("\n\n"):
        block = block.strip("\n")
        if LEAK.match(block):
            if OURS.search(block):
                ours.append(f"===== {path}\n{block}")
            else:
                others += 1
for item in errors + ours:
    print(item)
print(f"sanitize: {len(errors)} process(es) with error reports, {len(ours)} leak(s) in "
      f"crossent, {others} leak(s) elsewhere at exit (interpreter, NumPy, torch: ignored)")
sys.exit(1 if errors or ours else 0)
PY
# the console output too, in case a runtime could not open its log file
if grep -q -E "ERROR: AddressSanitizer|runtime error:|Sanitizer:DEADLYSIGNAL" "$work/logs/pytest.log"; then
    echo "sanitize: sanitizer report in the pytest output"
    verdict=1
fi
echo "sanitize: pytest exit $rc, $((SECONDS - start)) s in all"
if [[ $rc -ne 0 || $verdict -ne 0 ]]; then
    echo "sanitize: FAILED"
    exit 1
fi
echo "sanitize: OK"
