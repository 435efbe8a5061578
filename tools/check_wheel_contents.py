"""Check that a crossent wheel carries what users and downstream builds need.

Usage::

    python tools/check_wheel_contents.py WHEEL [--source DIR] [--require-openmp]

Prints the wheel's file list, then checks it against the source tree ``DIR``
(default: this repository):

- one compiled module for every ``src/crossent/*.pyx``, and every
  ``src/crossent/*.py`` module;
- the public cimport API and the type information: every ``*.pxd``,
  ``__init__.pyi``, ``py.typed``;
- the C headers for ``crossent.get_include()``: every ``csrc/*.h`` and
  ``csrc/*.inc`` as ``crossent/include/...``;
- the licence files: ``LICENSE`` and ``LICENSES/*`` under ``.dist-info/licenses``;
- no build leftovers: no generated ``.c``, no ``.pyx``, no Cython ``.html``
  annotations, no object files, no ``__pycache__``;
- with ``--require-openmp`` (for repaired wheels), the OpenMP runtime that the
  repair tool bundled for the wheel's platform: libgomp (auditwheel, Linux),
  libomp (delocate, macOS) or vcomp140 (delvewheel, Windows), and the licence
  text of that runtime.

Exits 1 and names every problem if any check fails.
"""
import argparse
import fnmatch
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent

# Where each repair tool puts the runtime it bundles, and the licence file of
# that runtime in LICENSES/.  The key is a prefix of the wheel's platform tag.
OPENMP_RUNTIMES = {
    "manylinux": ("crossent.libs/libgomp*.so*", "LICENSES/libgomp.txt"),
    "musllinux": ("crossent.libs/libgomp*.so*", "LICENSES/libgomp.txt"),
    "macosx": ("crossent/.dylibs/libomp*.dylib", "LICENSES/libomp.txt"),
    "win": ("crossent.libs/vcomp140*.dll", "LICENSES/vcomp140.txt"),
}

# Suffixes that must never be in a wheel: sources of the compiled modules
# (they are in the sdist) and build by-products.
FORBIDDEN = ("*.c", "*.pyx", "*.html", "*.o", "*.obj", "*.lib", "*.exp", "*/__pycache__/*")


def platform_tag(wheel_name):
    """The platform tag of a wheel file name (``manylinux_2_28_x86_64``, ...)."""
    return Path(wheel_name).name[: -len(".whl")].split("-")[-1]


def check(wheel, source, require_openmp):
    """Return the list of problems found in ``wheel`` (empty when all is well)."""
    problems = []
    with zipfile.ZipFile(wheel) as zf:
        names = sorted(zf.namelist())
    print(f"{Path(wheel).name}: {len(names)} files")
    for name in names:
        print(f"  {name}")

    def has(pattern):
        return any(fnmatch.fnmatchcase(n, pattern) for n in names)

    def need(pattern, why):
        if not has(pattern):
            problems.append(f"missing {pattern} ({why})")

    pkg = source / "src" / "crossent"
    ext_suffix = "pyd" if platform_tag(wheel).startswith("win") else "so"
    for pyx in sorted(pkg.glob("*.pyx")):
        need(f"crossent/{pyx.stem}.*{ext_suffix}", f"compiled {pyx.name}")
    for py in sorted(pkg.glob("*.py")):
        need(f"crossent/{py.name}", "Python module")
    for pxd in sorted(pkg.glob("*.pxd")):
        need(f"crossent/{pxd.name}", "cimport API")
    need("crossent/__init__.pyi", "type stubs")
    need("crossent/py.typed", "PEP 561 marker")
    headers = sorted([*(source / "csrc").glob("*.h"), *(source / "csrc").glob("*.inc")])
    if not headers:
        problems.append(f"no csrc headers found under {source} (wrong --source?)")
    for header in headers:
        need(f"crossent/include/{header.name}", "C header for get_include()")

    need("crossent-*.dist-info/licenses/LICENSE", "crossent's licence")
    for lic in sorted((source / "LICENSES").glob("*")):
        need(f"crossent-*.dist-info/licenses/LICENSES/{lic.name}", "bundled runtime licence")

    for pattern in FORBIDDEN:
        leftovers = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if leftovers:
            problems.append(f"build leftovers {pattern}: {', '.join(leftovers)}")

    if require_openmp:
        tag = platform_tag(wheel)
        runtime = next((v for k, v in OPENMP_RUNTIMES.items() if tag.startswith(k)), None)
        if runtime is None:
            problems.append(f"platform tag {tag} is not a repaired wheel's (manylinux, "
                            "musllinux, macosx, win)")
        else:
            library, licence = runtime
            need(library, "bundled OpenMP runtime")
            need(f"crossent-*.dist-info/licenses/{licence}", "licence of the bundled runtime")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="crossent source tree to compare with (default: this repository)")
    parser.add_argument("--require-openmp", action="store_true",
                        help="the wheel must bundle its platform's OpenMP runtime")
    args = parser.parse_args(argv)
    problems = check(args.wheel, args.source.resolve(), args.require_openmp)
    if problems:
        print(f"wheel contents check FAILED ({len(problems)} problems):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("wheel contents check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
