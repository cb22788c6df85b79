#!/usr/bin/env bash
# flowflops as a pip user gets it: build the sdist and wheel with a standard front end
# (`python -m build`), check what they hold, install the wheel into a new venv with pip alone,
# then run the README's quick start and `flowflops resnet18 --format json` there.
# Usage: PYTHON=/path/to/python3.10 .ci/pip_check.sh   (`make pip-check` sets PYTHON)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PYTHON:?set PYTHON to a CPython 3.10}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== build (python -m build)"
"$PYTHON" -m venv "$work/build-env"
"$work/build-env/bin/python" -m pip install -q --upgrade pip build
rm -rf dist
"$work/build-env/bin/python" -m build --outdir dist . > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
if grep -qi "deprecat" "$work/build.log"; then grep -i "deprecat" "$work/build.log"; echo "build warned"; exit 1; fi
wheel=$(ls dist/flowflops-*.whl)
sdist=$(ls dist/flowflops-*.tar.gz)
"$work/build-env/bin/python" - "$wheel" "$sdist" <<'PY'
import sys, tarfile, zipfile
wheel = zipfile.ZipFile(sys.argv[1]).namelist()
sdist = tarfile.open(sys.argv[2]).getnames()
bad = [n for n in wheel if n.startswith(("tests/", "benchmarks/", "examples/"))]
assert not bad, f"the wheel holds {bad[:5]}"
assert any(n.endswith(".dist-info/licenses/LICENSE") for n in wheel), "no LICENSE in the wheel"
meta = zipfile.ZipFile(sys.argv[1]).read([n for n in wheel if n.endswith("METADATA")][0]).decode()
assert "## Quick start" in meta, "the README is not the wheel's long description"
assert "License-Expression: MIT" in meta, "no SPDX license expression in the metadata"
for f in ("LICENSE", "README.md", "pyproject.toml"):
    assert any(n.endswith("/" + f) and n.count("/") == 1 for n in sdist), f"no {f} in the sdist"
print(f"wheel: {len(wheel)} files, sdist: {len(sdist)} entries; LICENSE and README in both")
PY

echo "== install the wheel into a new venv with pip alone"
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q --upgrade pip
# flowvision 0.2.1 is an sdist whose setup.py imports pkg_resources, which setuptools 70+
# dropped: its build environment is held to an older setuptools.
echo "setuptools<70" > "$work/build-constraints.txt"
start=$SECONDS
"$work/venv/bin/python" -m pip install -q "$wheel[vision]" --build-constraint "$work/build-constraints.txt"
echo "installed in $((SECONDS - start)) s"
"$work/venv/bin/python" -m pip list 2>/dev/null | grep -iE "^(oneflow|numpy|protobuf|flowvision|flowflops|nvidia-)" 
"$work/venv/bin/python" -c "import numpy, oneflow; assert int(numpy.__version__.split('.')[0]) < 2, numpy.__version__; assert oneflow.__version__.startswith('0.9.0'), oneflow.__version__"

echo "== README quick start"
(cd "$work" && "$work/venv/bin/python" "$OLDPWD/.ci/readme_quickstart.py" "$OLDPWD/README.md")

echo "== flowflops resnet18 --format json"
(cd "$work" && "$work/venv/bin/flowflops" resnet18 --format json > "$work/r18.json")
# 1,822,177,768 MACs and 11,689,512 params: resnet18 in the seed article's table (eager)
"$work/venv/bin/python" - "$work/r18.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
assert (t["macs"], t["params"]) == (1822177768, 11689512), t
print("flowflops resnet18 --format json:", t["macs"], "MACs,", t["params"], "params (the article's numbers)")
PY

echo "== the README's install commands, this clone as the repository URL (git+file://)"
bash .ci/readme_install.sh "$PYTHON" "$work"
echo "pip check passed"
