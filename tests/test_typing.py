"""Type information: ``mypy --strict`` on a typed program against the installed package
(its ``__init__.pyi`` and ``py.typed``), a file of deliberate type errors that mypy must
report line by line, and the stub compared with the runtime signatures.
"""
import ast
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import crossent

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.dirname(crossent.__file__)
STUB = os.path.join(PACKAGE, "__init__.pyi")

# Every line marked "# E" must get a mypy error, and no other line may.
BAD_USAGE = textwrap.dedent(
    """
    from typing import Any

    import numpy as np
    import numpy.typing as npt

    import crossent

    x = np.zeros((2, 3))
    crossent.logsumexp(x, axis="1")  # E: axis is an int, a tuple of ints or None
    crossent.logsumexp(x, axis=1.0)  # E: not a float either
    crossent.softmax(x, 1, None)  # E: out is keyword-only
    crossent.cross_entropy(x, [0, 1], reduction="avg")  # E: not a reduction
    crossent.cross_entropy(x, [0, 1], None, -100)  # E: ignore_index is keyword-only
    crossent.kl_div(x, x, n_threads=2.0)  # E: n_threads is an int
    crossent.gaussian_nll_loss(x, x)  # E: var is required
    crossent.gaussian_nll(x, x, lg_var=x)  # E: no such keyword
    rows: npt.NDArray[np.floating[Any]] = crossent.mse_loss(x, x)  # E: a "mean" is a scalar
    loss, grad = crossent.poisson_nll_loss(x, x)  # E: no tuple without return_grad
    a, b, c = crossent.gaussian_nll(x, x, return_grad=True)  # E: profiled: two results
    lse, sign = crossent.logsumexp(x)  # E: no sign without return_sign
    name: int = crossent.get_include()  # E: a str
    crossent.show_config(True)  # E: no arguments
    crossent.no_such_function(x)  # E: not in the API
    """
)


def run_mypy(paths, cache):
    """``python -m mypy --strict paths`` run outside the source tree: (exit code, output)."""
    pytest.importorskip("mypy")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--show-error-codes",
         "--cache-dir", str(cache), *map(str, paths)],
        cwd=cache.parent, capture_output=True, text=True,
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory):
    """One cache for both mypy runs: numpy's stubs are analysed once."""
    return tmp_path_factory.mktemp("mypy") / "cache"


def test_package_is_typed():
    assert os.path.isfile(os.path.join(PACKAGE, "py.typed"))
    assert os.path.isfile(STUB)


def test_typed_usage_passes_mypy_strict(mypy_cache, tmp_path):
    """The typed program checks clean against the installed package; so does the stub
    itself (checked as a module of its own: mypy does not report errors inside an
    installed package's stubs)."""
    stub_copy = tmp_path / "crossent_stub.pyi"
    shutil.copyfile(STUB, stub_copy)
    code, output = run_mypy([os.path.join(HERE, "typed_usage.py"), stub_copy], mypy_cache)
    assert code == 0, output
    assert "error" not in output, output


def test_type_errors_are_reported(mypy_cache, tmp_path):
    """The stubs are precise enough to refuse each misuse, each on its own line."""
    path = tmp_path / "bad_usage.py"
    path.write_text(BAD_USAGE)
    code, output = run_mypy([path], mypy_cache)
    assert code == 1, output
    want = {i for i, line in enumerate(BAD_USAGE.splitlines(), 1) if "# E" in line}
    got = {int(m) for m in re.findall(r"bad_usage\.py:(\d+): error", output)}
    assert got == want, output


def test_typed_usage_runs(capsys):
    """The typed program also runs: its run-time class checks agree with the stub."""
    spec = importlib.util.spec_from_file_location("typed_usage", os.path.join(HERE, "typed_usage.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()
    assert "headers in" in capsys.readouterr().out


# ---- the stub against the runtime --------------------------------------------------

def stub_tree():
    with open(STUB) as f:
        return ast.parse(f.read())


def stub_definitions():
    """({name: [FunctionDef, ...]} of the stub's functions (overloads in order), other names, __all__)."""
    functions, others, all_names = {}, set(), None
    for node in stub_tree().body:
        if isinstance(node, ast.FunctionDef):
            functions.setdefault(node.name, []).append(node)
        elif isinstance(node, ast.ClassDef):
            others.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            others.add(node.target.id)
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            all_names = ast.literal_eval(node.value)
    return functions, others, all_names


def test_stub_names_match_all():
    functions, others, stub_all = stub_definitions()
    assert stub_all == list(crossent.__all__)
    public = {n for n in set(functions) | others if not n.startswith("_")} | {"__version__"}
    assert public == set(crossent.__all__)
    for name in crossent.__all__:
        kind = "function" if name in functions else "other"
        assert (kind == "function") == inspect.isroutine(getattr(crossent, name)), name


def stub_parameters(node):
    """[(name, kind, default or inspect.Parameter.empty)] of one stub signature."""
    args = node.args
    P = inspect.Parameter
    params = []
    positional = args.posonlyargs + args.args
    pos_defaults = [P.empty] * (len(positional) - len(args.defaults)) + [
        ast.literal_eval(d) for d in args.defaults]
    for a, d in zip(args.posonlyargs, pos_defaults):
        params.append((a.arg, P.POSITIONAL_ONLY, d))
    for a, d in zip(args.args, pos_defaults[len(args.posonlyargs):]):
        params.append((a.arg, P.POSITIONAL_OR_KEYWORD, d))
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        params.append((a.arg, P.KEYWORD_ONLY, P.empty if d is None else ast.literal_eval(d)))
    assert args.vararg is None and args.kwarg is None, node.name
    return params


def runtime_parameters(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("name", [n for n in crossent.__all__ if inspect.isroutine(getattr(crossent, n))])
def test_stub_signatures_match_runtime(name):
    """Same parameter names in the same order in every overload, the defaults of the
    runtime where the stub gives one, a keyword-only parameter only where the runtime
    has it keyword-only or the overload narrows a positional one, and the last
    overload (the general one) exactly the runtime signature."""
    functions, _, _ = stub_definitions()
    want = runtime_parameters(getattr(crossent, name))
    P = inspect.Parameter
    for node in functions[name]:
        got = stub_parameters(node)
        assert [p[0] for p in got] == [p[0] for p in want], f"{name} line {node.lineno}"
        for (pname, kind, default), (_, want_kind, want_default) in zip(got, want):
            where = f"{name}({pname}) line {node.lineno}"
            assert kind == want_kind or (kind == P.KEYWORD_ONLY and want_kind == P.POSITIONAL_OR_KEYWORD), where
            if default is not P.empty:
                assert default == want_default and type(default) is type(want_default), where
    assert stub_parameters(functions[name][-1]) == want, name
