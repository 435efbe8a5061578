"""Build of crossent's compiled core.

The Extension list, the OpenMP probe, per-compiler flags, and copying the csrc
headers into the package (``crossent/include``) so that wheels ship them.

Environment switches:

* ``CROSSENT_NO_OPENMP=1`` builds without OpenMP (serial kernels).
* ``CROSSENT_DEBUG=1`` builds with ``-O0 -g`` (for debuggers).
* ``CROSSENT_SANITIZE=1`` builds with AddressSanitizer and UndefinedBehaviorSanitizer
  (``-O1 -g``, OpenMP kept on; gcc or clang only). The interpreter is not instrumented,
  so the runtimes must be preloaded: ``tools/sanitize.sh`` does the build and the run.
* ``CROSSENT_MODULES=a,b`` builds only those extension modules (development).
"""

import os
import shutil
import sys
import sysconfig
import tempfile
import textwrap
import warnings
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"
PKG_INCLUDE = HERE / "src" / "crossent" / "include"

# One Cython module per family of kernels (plus the shared front helpers).
# CROSSENT_MODULES=_logsumexp,kernels rebuilds only those (while developing).
MODULES = sorted(p.stem for p in (HERE / "src" / "crossent").glob("*.pyx"))
if os.environ.get("CROSSENT_MODULES"):
    MODULES = [m for m in MODULES if m in os.environ["CROSSENT_MODULES"].split(",")]

OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        return n > 0 ? 0 : 1;
    }
    """
)


def copy_headers():
    """Copy csrc/*.h into the package so wheels and get_include() carry them."""
    if not CSRC.is_dir():  # building from an sdist that already has them
        return
    PKG_INCLUDE.mkdir(parents=True, exist_ok=True)
    for header in [*CSRC.glob("*.h"), *CSRC.glob("*.inc")]:
        shutil.copy2(header, PKG_INCLUDE / header.name)


def compiler_kind(compiler):
    if compiler.compiler_type == "msvc":
        return "msvc"
    cc = " ".join(getattr(compiler, "compiler", []) or [sysconfig.get_config_var("CC") or "cc"])
    if sys.platform == "darwin" and "gcc" not in cc:
        return "apple-clang"
    return "clang" if "clang" in cc else "gcc"


def openmp_flags(kind):
    """(compile flags, link flags) that turn OpenMP on for this compiler."""
    if kind == "msvc":
        return ["/openmp"], []
    if kind == "apple-clang":
        return ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
    return ["-fopenmp"], ["-fopenmp"]


def sanitize_flags(kind):
    """(compile flags, link flags) for CROSSENT_SANITIZE=1: ASan + UBSan, any report fatal.

    clang's ``-fsanitize=function`` (in ``undefined`` since clang 17) flags CPython's own
    casts of C functions to ``PyCFunction``, so it is left out there; gcc has no such check.
    """
    if not os.environ.get("CROSSENT_SANITIZE"):
        return [], []
    if kind == "msvc":
        raise RuntimeError("CROSSENT_SANITIZE=1 needs gcc or clang")
    san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
    if "clang" in kind:
        san.append("-fno-sanitize=function")
    return san + ["-fno-omit-frame-pointer", "-g"], san


def base_flags(kind):
    """Optimisation flags. Never the fast-math family: inf/NaN keep IEEE meaning."""
    if kind == "msvc":
        return ["/O2", "/fp:precise"]
    if os.environ.get("CROSSENT_SANITIZE"):
        opt = ["-O1"]  # sanitize_flags adds -g; -O1 keeps stacks readable and runs tolerably
    elif os.environ.get("CROSSENT_DEBUG"):
        opt = ["-O0", "-g"]
    else:
        # no debug info in release builds (the interpreter's CFLAGS carry -g): a
        # quarter of the size of the modules
        opt = ["-O3", "-g0"]
    return opt + [
        "-fno-math-errno",
        "-fno-trapping-math",
        "-fopenmp-simd",
        "-Wno-unused-function",
        "-Wno-unreachable-code",
    ]


def probe_openmp(compiler, cflags, lflags):
    """Compile and link a one-line OpenMP program; True if it works."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(OPENMP_PROBE)
        try:
            objs = compiler.compile([str(src)], output_dir=tmp, extra_postargs=cflags)
            compiler.link_executable(objs, "probe", output_dir=tmp, extra_postargs=lflags)
        except Exception:  # any compiler or linker failure means "no OpenMP"
            return False
    return True


class BuildExt(build_ext):
    """Add per-compiler flags and OpenMP (when the probe succeeds); compile the
    modules in parallel (``pip install .`` passes no ``-j``)."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        kind = compiler_kind(self.compiler)
        san_c, san_l = sanitize_flags(kind)
        cflags = base_flags(kind) + san_c
        omp_c, omp_l = openmp_flags(kind)
        use_omp = not os.environ.get("CROSSENT_NO_OPENMP")
        if use_omp and not probe_openmp(self.compiler, omp_c, omp_l):
            warnings.warn("crossent: OpenMP not available; building serial kernels")
            use_omp = False
        if not use_omp:
            print("crossent: building WITHOUT OpenMP (serial kernels)")
        config = {
            "compiler": kind,
            "cflags": " ".join(cflags + (omp_c if use_omp else [])),
            "openmp": "yes" if use_omp else "no",
        }
        if san_c:
            config["sanitize"] = "address,undefined"
        for ext in self.extensions:
            ext.extra_compile_args = cflags + (omp_c if use_omp else [])
            ext.extra_link_args = (omp_l if use_omp else []) + san_l
            ext.define_macros = ext.define_macros + [
                ("CROSSENT_BUILD_CONFIG", '"' + repr(config).replace('"', "'") + '"'),
            ]
        super().build_extensions()


def extensions():
    common = dict(
        include_dirs=[str(CSRC) if CSRC.is_dir() else str(PKG_INCLUDE), numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
    )
    # every module includes crossent.h: rebuild all when a kernel source changes
    headers = sorted(str(p.relative_to(HERE)) for p in CSRC.glob("*") if p.suffix in (".h", ".inc"))
    exts = [
        Extension(f"crossent.{name}", [f"src/crossent/{name}.pyx"], depends=headers, **common)
        for name in MODULES
    ]
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
            # no mutable state shared between calls after import (docs/threads.md)
            "freethreading_compatible": True,
        },
    )


copy_headers()
setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
