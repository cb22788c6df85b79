"""The public names of flowflops: ``flowflops.__all__`` pinned, and every ``flowflops`` name the
README, docs/, examples/ and benchmarks/ use importable (so that moving a function, as
``per_rank_table`` once moved, fails here rather than in a user's script)."""
import ast
import importlib
import re
from pathlib import Path

import pytest

import flowflops

ROOT = Path(__file__).resolve().parent.parent

PUBLIC = [
    "Cost", "CountError", "CustomHookError", "Device", "FLOPS_BACKEND", "FlopCounterMode", "FormulaError", "InputError",
    "MFUMeter", "OpRecord", "ParseError", "Report", "__version__", "calibrate", "compare", "count_graph_text",
    "diff", "flops_to_string", "get_device", "get_model_complexity_info", "measure", "params_to_string",
    "profile", "register", "symbolic", "torch_models",
]


def test_the_public_names_are_pinned():
    assert sorted(flowflops.__all__) == PUBLIC  # a change here is a change of the public API
    for name in PUBLIC:
        assert hasattr(flowflops, name), name


_FROM = re.compile(r"^\s*from\s+(flowflops(?:\.\w+)*)\s+import\s+\(?([\w\s,]+?)\)?\s*(?:#.*)?$", re.M)
_IMPORT = re.compile(r"^\s*import\s+(flowflops(?:\.\w+)*)", re.M)
_DOTTED = re.compile(r"(?<![\w./-])flowflops((?:\.[A-Za-z_]\w*)+)")


def documented_names() -> dict:
    """``flowflops.x.y`` -> the files that name it (imports and dotted names in README.md,
    docs/*.md, examples/*.py, benchmarks/*.py)."""
    files = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md")) + sorted((ROOT / "examples").glob("*.py")) \
        + sorted((ROOT / "benchmarks").glob("*.py"))
    found: dict = {}
    for f in files:
        text = f.read_text()
        names = [m.group(1) for m in _IMPORT.finditer(text)]
        names += ["flowflops" + m.group(1) for m in _DOTTED.finditer(text)]
        for m in _FROM.finditer(text):
            names += [f"{m.group(1)}.{n}" for n in re.split(r"[\s,]+", m.group(2).strip()) if n and n != "as"]
        for n in names:
            found.setdefault(n, set()).add(str(f.relative_to(ROOT)))
    return found


def resolve(dotted: str):
    """The object ``flowflops.a.b.c`` names: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        return obj
    raise ImportError(dotted)


DOCUMENTED = documented_names()


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_documented_name_imports(name):
    try:
        resolve(name)
    except (ImportError, AttributeError) as err:
        pytest.fail(f"{name} (used in {sorted(DOCUMENTED[name])}) does not import: {err}")


def test_the_scan_finds_names_in_every_kind_of_file():
    kinds = {Path(f).parts[0] if "/" in f else f for files in DOCUMENTED.values() for f in files}
    assert {"README.md", "docs", "examples", "benchmarks"} <= kinds
    assert "flowflops.get_model_complexity_info" in DOCUMENTED and "flowflops.models.Decoder" in DOCUMENTED
    with pytest.raises(AttributeError):
        resolve("flowflops.render.export.no_such_function")


# -- every module says what it offers ---------------------------------------------------------

PACKAGE = ROOT / "flowflops"

def _bound_names(tree) -> set:
    """Names a module binds at its top level (definitions, assignments, imports)."""
    out = set()
    for node in ast.walk(ast.Module(body=[n for n in tree.body], type_ignores=[])):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return out


def _declared_all(tree):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return ast.literal_eval(node.value)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "__all__":
            return ast.literal_eval(node.value)
    return None


#: every module of the package: private (``_x.py``), drop-in and package ``__init__`` files too
MODULE_FILES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULE_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_declares_its_public_names(path):
    tree = ast.parse(path.read_text())
    names = _declared_all(tree)
    assert names is not None, (
        f"{path.relative_to(ROOT)} declares no __all__: list its public names (or prefix the private ones "
        "with _; a package __init__ that defines nothing: __all__: list = [])")
    missing = sorted(set(names) - _bound_names(tree))
    assert not missing, f"{path.relative_to(ROOT)}: __all__ names {missing}, which it does not define"
    assert len(set(names)) == len(names), f"{path.relative_to(ROOT)}: __all__ names something twice"


# -- one verb renders every result -------------------------------------------------------------

def _result_types():
    from flowflops import result
    from flowflops.tools import llm, measure, symbolic

    return [result.Report, result.Roofline, result.Fit, result.ReportDiff, result.Comparison, result.Explanation,
            result.GateResult, llm.Generation, llm.Sweep, symbolic.Formula, symbolic.Symbolic, symbolic.SymbolicDiff,
            symbolic.Piecewise, symbolic.PiecewiseSymbolic, symbolic.PiecewiseDiff, measure.Measurement,
            measure.MFUSummary]


@pytest.mark.parametrize("cls", _result_types(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_every_result_renders_with_to_text_and_str_is_to_text(cls):
    import inspect

    assert callable(getattr(cls, "to_text", None)), f"{cls.__name__} has no to_text()"
    assert "self.to_text()" in inspect.getsource(cls.__str__), f"{cls.__name__}.__str__ does not call to_text()"
