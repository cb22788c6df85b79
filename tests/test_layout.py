"""One direction of flow, checked on the imports: engines (eager/, graph/) return records and
import only what sits below them (runtime/, records, errors, conventions): no rules, no
formulas or registry, no Report, no rendering; report.py renders nothing; every import between
the layers points down."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "flowflops"


def imported_modules(path: Path) -> set:
    """Every flowflops module ``path`` imports (at any depth of the file), as dotted names
    relative to the package (``report``, ``graph.job``...)."""
    rel = path.relative_to(PACKAGE).with_suffix("").parts
    package = list(rel[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
                names = [mod] if node.module else [f"{mod}.{a.name}".lstrip(".") for a in node.names]
                out.update(names)
            elif node.module and node.module.startswith("flowflops"):
                out.add(node.module[len("flowflops."):] if node.module != "flowflops" else "")
        elif isinstance(node, ast.Import):
            out.update(a.name[len("flowflops."):] for a in node.names if a.name.startswith("flowflops."))
    return out


ENGINE_FILES = sorted(p for d in ("eager", "graph") for p in (PACKAGE / d).glob("*.py"))


#: what an engine may import: the engines themselves and what sits below them
ENGINE_MAY_IMPORT = ("eager", "graph", "runtime", "records", "errors", "conventions")


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_engines_import_only_what_sits_below_them(path):
    """Engines trace and return records (records.Trace): the rules (rules/) and the pricing
    (registry, formulas/) are applied to their records afterwards, by the api."""
    bad = {m for m in imported_modules(path) if m.split(".")[0] not in ENGINE_MAY_IMPORT}
    assert not bad, (f"{path.parent.name}/{path.name} imports {sorted(bad)}: engines import only "
                     f"{', '.join(ENGINE_MAY_IMPORT)} (move what they need down, e.g. into runtime/ or records)")


def test_report_renders_nothing():
    bad = {m for m in imported_modules(PACKAGE / "report.py") if m.split(".")[0] in ("render", "cli", "tools")}
    assert not bad, f"report.py imports {sorted(bad)}"


def test_the_checker_sees_relative_imports():
    assert {"records", "registry"} <= imported_modules(PACKAGE / "report.py")
    assert "graph.job" in imported_modules(PACKAGE / "graph" / "engine.py")


# -- the whole package: no circle, every import points down ---------------------------------

MODULES = {".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix("__init__").rstrip("."): p
           for p in PACKAGE.rglob("*.py")}


def module_imports(name: str) -> set:
    """The modules of flowflops that module ``name`` (``""`` the package) imports, anywhere in
    the file (function bodies and ``TYPE_CHECKING`` blocks included): ``from .x import y`` is
    ``x.y`` when that is a module, else ``x``; importing a submodule does not count as
    importing its parent package."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    package = [p for p in package if p]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - (node.level - 1)] + ([node.module] if node.module else []))
            elif node.module == "flowflops" or (node.module or "").startswith("flowflops."):
                base = node.module[len("flowflops."):] if node.module != "flowflops" else ""
            else:
                continue
            subs = {f"{base}.{a.name}".lstrip(".") for a in node.names} & set(MODULES)
            out |= subs
            if len(subs) < len(node.names):
                out.add(base)
        elif isinstance(node, ast.Import):
            out |= {a.name[len("flowflops."):] for a in node.names if a.name.startswith("flowflops.")}
    return (out & set(MODULES)) - {name}


IMPORTS = {m: module_imports(m) for m in MODULES}


def circles() -> list:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict = {}
    low: dict = {}
    stack: list = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(IMPORTS[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for m in sorted(IMPORTS):
        if m not in index:
            visit(m)
    return found


def test_no_import_circle_but_registry_and_formulas():
    # registry imports formulas/ to register every formula; each formula module imports the
    # registry's decorator: the one circle the design allows
    allowed = {m for m in MODULES if m == "registry" or m == "formulas" or m.startswith("formulas.")}
    bad = [c for c in circles() if not set(c) <= allowed]
    assert not bad, f"import circles: {bad}"


# top to bottom: a module may import its own layer and the layers below it, never one above
# (registry and formulas/ are one layer, their circle above; the engines eager/ and graph/ one)
LAYERS = [("cli",), ("tools",), ("api",), ("result", "report_json"), ("render",), ("analysis",), ("report",),
          ("rules",), ("registry", "formulas"), ("eager", "graph"), ("runtime",), ("conventions", "errors", "records")]


def _layer(module: str):
    top = module.split(".")[0]
    return next((i for i, names in enumerate(LAYERS) if top in names), None)


def test_every_import_between_layers_points_down():
    up = sorted(f"{a} -> {b}" for a, deps in IMPORTS.items() for b in deps
                if _layer(a) is not None and _layer(b) is not None and _layer(b) < _layer(a))
    order = " -> ".join("/".join(names) for names in LAYERS)
    assert not up, f"imports that point up ({order}): {up}"


def test_every_module_but_the_package_files_and_documented_paths_is_in_a_layer():
    """A new top-level module has a room: a folder of a layer above, or one of the layers'
    files. The rest are the package's own files and the documented drop-in paths."""
    outside = {"", "__main__", "_version", "backends", "flops_counter", "models", "testing"}
    dropins = ("flop_counter", "fvcore", "ptflops", "thop", "torch_models")
    bad = sorted(m for m in MODULES if _layer(m) is None and m not in outside and m.split(".")[0] not in dropins)
    assert not bad, f"modules in no layer of tests/test_layout.py: {bad}"


def test_report_and_analysis_reach_no_rendering():
    """Transitively: nothing report.py or analysis/ imports reaches render/, cli/ or tools/."""
    for start in [m for m in MODULES if m == "report" or m.startswith("analysis")]:
        seen, todo = set(), [start]
        while todo:
            m = todo.pop()
            for d in IMPORTS[m] - seen:
                seen.add(d)
                todo.append(d)
        bad = sorted(d for d in seen if d.split(".")[0] in ("render", "cli", "tools", "api", "result"))
        assert not bad, f"{start} reaches {bad}"


def test_the_circle_checker_sees_a_circle():
    assert {"formulas.conv", "registry"} <= set(max(circles(), key=len))
    assert "render.export" in IMPORTS["result"] and "report" in IMPORTS["result"]
    assert "formulas.conv" in IMPORTS["registry"]  # from .formulas import (activation, ..., conv, ...)


def test_one_class_named_report():
    """``flowflops.Report`` (result.py) is the only ``Report``; the aggregate under it is
    ``Aggregate`` everywhere, never imported under the other's name."""
    defined, aliased = [], []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name == "Report":
                defined.append(name)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                aliased += [f"{name}: {a.name} as Report" for a in node.names
                            if a.asname == "Report" and a.name != "Report"]
    assert defined == ["result"], defined
    assert not aliased, aliased


def test_registry_imports_every_formula_family():
    """registry.py imports each family of formulas/ (importing one registers its formulas), and
    formulas/peers/__init__.py each peer's rules: a new file there is priced only once listed."""
    families = {m for m in MODULES if m.startswith("formulas.") and m.count(".") == 1
                and m not in ("formulas.derivation", "formulas._shapes")}
    assert not families - IMPORTS["registry"], f"registry.py does not import {sorted(families - IMPORTS['registry'])}"
    peers = {m for m in MODULES if m.startswith("formulas.peers.") and m != "formulas.peers._common"}
    missing = peers - IMPORTS["formulas.peers"]
    assert not missing, f"formulas/peers/__init__.py does not import {sorted(missing)}"
