"""The shell commands of README.md and docs/*.md run: each page's shell lines in order, in one
fresh directory per page, as a reader pastes them. `flowflops ...` lines run through the real
command (``flowflops.cli.command.run``, in this process: the installed script's own start-up is
tested in tests/test_cli.py), must exit 0 and write every file they name (``--output``,
``--plot``); heredocs (``cat > FILE <<'PY'``, ``python - <<'PY' > FILE``) run in bash with this
interpreter. What is not run here is in NOT_RUN with the reason (installs, the set-up commands,
whole-zoo commands other tests run). ``make run`` from a fresh clone is its own test below.

The runs are slow: each page counts real models (ResNet-50 several times, a training step, ViT-Tiny)."""
import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from docs_pages import PAGES, ROOT, blocks

#: (a line's start) -> why this test does not run it
NOT_RUN = {
    "pip install": "installs packages (the wheel path is `make pip-check`; installing from a clone and from a "
                   "git URL was tried by hand, see docs/getting-started.md)",
    "python3.10 -m pip install build": "builds the wheel: `make pip-check` does it in CI",
    "echo \"setuptools<70\"": "part of an install",
    "git clone": "a clone: test_make_run_from_a_fresh_clone clones",
    "make run": "test_make_run_from_a_fresh_clone",
    "make test": "the test suite itself (.ci/run runs it)",
    "python -m oneflow.distributed.launch": "examples/distributed.py under 2 processes: tests/test_examples.py",
}

#: the user's own code a page's command names as a placeholder for theirs (README's
#: `mymodels:build`, explain.md's `mypkg.models:build`): a resnet18 factory, as cli.md writes it
USER_CODE = {
    "mymodels.py": "import flowvision.models as zoo\ndef build(num_classes=1000):\n"
                   "    return zoo.resnet18(num_classes=num_classes)\n",
    "mypkg/__init__.py": "",
    "mypkg/models.py": "import flowvision.models as zoo\ndef build():\n    return zoo.resnet18()\n",
}


def _skip(line):
    if re.fullmatch(r"flowflops zoo\s*", line):
        return "the article's 11 models in both modes: tests/test_export_cli.py runs `flowflops zoo`"
    for start, why in NOT_RUN.items():
        if line.startswith(start):
            return why
    if re.match(r"flowflops (timm|hf):", line) and importlib_missing("timm", "transformers"):
        return "needs the torch-models extra (make torch-models)"
    return None


def importlib_missing(*mods):
    import importlib.util

    return any(importlib.util.find_spec(m) is None for m in mods)


def steps(page):
    """(line, kind, payload) of the page's shell lines in order: ("flowflops", argv),
    ("bash", script) for a heredoc command with its body, ("skip", reason)."""
    out = []
    for b in blocks(page):
        if b.lang not in ("", "sh", "bash", "console", "shell"):
            continue
        lines = b.code.splitlines()
        k = 0
        while k < len(lines):
            raw = lines[k]
            line = raw.split(" #")[0].strip()
            no = b.line + 1 + k
            k += 1
            if not line or not re.match(r"^(flowflops|python|cat|make|pip|git|echo|python3\.10)\b", line):
                continue  # output shown in the block, not a command
            m = re.search(r"<<\s*'?(\w+)'?", line)
            if m:
                body = []
                while k < len(lines) and lines[k].strip() != m.group(1):
                    body.append(lines[k])
                    k += 1
                k += 1
                out.append((no, "bash", "\n".join([raw] + body + [m.group(1)]) + "\n"))
                continue
            why = _skip(line)
            if why:
                out.append((no, "skip", why))
            elif line.startswith("flowflops "):
                out.append((no, "flowflops", shlex.split(line)[1:]))
            else:
                out.append((no, "unknown", line))
    return out


RUN = [p for p in PAGES if any(kind in ("flowflops", "bash", "unknown") for _, kind, _ in steps(p))]


def _id(page):
    return str(page.relative_to(ROOT))


def test_every_shell_line_is_run_or_says_why_not():
    unknown = [f"{_id(p)}:{no}: {x}" for p in PAGES for no, kind, x in steps(p) if kind == "unknown"]
    assert not unknown, "shell lines this test neither runs nor lists in NOT_RUN:\n" + "\n".join(unknown)


@pytest.mark.slow
@pytest.mark.parametrize("page", RUN, ids=_id)
def test_page_shell_commands_run(page, tmp_path, monkeypatch):
    from flowflops.cli import command

    monkeypatch.chdir(tmp_path)
    for name, text in USER_CODE.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    for mod in ("mymodels", "mypkg", "mypkg.models"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    bindir = tmp_path / "_bin"
    bindir.mkdir()
    (bindir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')  # this venv's python
    (bindir / "python").chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    ran = 0
    for no, kind, payload in steps(page):
        where = f"{_id(page)}:{no}"
        if kind == "bash":
            p = subprocess.run(["bash", "-e", "-c", payload], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=300)
            assert p.returncode == 0, f"{where} exited {p.returncode}:\n{p.stderr[-2000:]}"
        elif kind == "flowflops":
            argv = payload
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                status = command.run(argv)
            assert status == 0, f"{where}: `flowflops {' '.join(argv)}` exited {status}:\n{out.getvalue()[-2000:]}"
            for opt in ("--output", "--plot"):
                for i, a in enumerate(argv[:-1]):
                    if a == opt:
                        f = tmp_path / argv[i + 1]
                        assert f.exists() and f.stat().st_size > 0, f"{where}: {opt} {argv[i + 1]} not written"
            if "--output" not in argv:
                assert out.getvalue().strip(), f"{where}: `flowflops {' '.join(argv)}` printed nothing"
        else:
            continue
        ran += 1
    assert ran, f"{_id(page)}: nothing ran"


@pytest.mark.slow
def test_make_run_from_a_fresh_clone(tmp_path):
    """`make run` (the README's first set-up command) in a fresh clone of this repository counts
    ResNet-50 and prints per-layer stats and totals. The clone's .venv step is the environment
    this suite runs in (`make -o`: its creation is what .ci/run's fresh-clone `make test` does)."""
    if shutil.which("make") is None or shutil.which("git") is None:
        pytest.skip("needs make and git")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    venv = sys.prefix
    p = subprocess.run(["make", "-o", f"{venv}/.ready", "run", f"VENV={venv}"], cwd=clone, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    out = p.stdout
    # the per-layer tree: ResNet-50's modules with their share, and the totals (the article's
    # numbers: 4,121,925,096 MACs = 4.12 GMac, 25,557,032 params = 25.56 M)
    assert "layer4.2.conv3" in out or "layer4" in out, out[-2000:]
    assert re.search(r"4\.12 GMac", out) and re.search(r"25\.56 M", out), out[-2000:]
