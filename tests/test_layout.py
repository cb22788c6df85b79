"""One direction of flow, checked on the imports: engines (eager/, graph/) return records and
import neither the Report nor any rendering; report.py renders nothing."""
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


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_engines_do_not_import_report_or_rendering(path):
    bad = {m for m in imported_modules(path) if m.split(".")[0] in ("report", "render", "api", "cli", "tools", "")}
    assert not bad, f"{path.name} imports {sorted(bad)}: engines return records (records.Trace)"


def test_report_renders_nothing():
    bad = {m for m in imported_modules(PACKAGE / "report.py") if m.split(".")[0] in ("render", "cli", "tools")}
    assert not bad, f"report.py imports {sorted(bad)}"


def test_the_checker_sees_relative_imports():
    assert {"records", "registry"} <= imported_modules(PACKAGE / "report.py")
    assert "graph.job" in imported_modules(PACKAGE / "graph" / "engine.py")
