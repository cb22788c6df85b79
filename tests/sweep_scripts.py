"""The on-demand scripts of ``sweeps/`` loaded as modules, once per test process, for the tests
that check their rules and the docs made from their data (the scripts are not a package)."""
import functools
import importlib.util
from pathlib import Path
from types import ModuleType

SWEEPS = Path(__file__).resolve().parents[1] / "sweeps"


@functools.lru_cache(maxsize=None)
def load(name: str) -> ModuleType:
    """``sweeps/<name>.py`` as a module (``name``: ``agreement`` or ``timm_published``)."""
    spec = importlib.util.spec_from_file_location(f"_sweep_{name}", SWEEPS / f"{name}.py")
    assert spec is not None and spec.loader is not None, f"no script sweeps/{name}.py"
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
