#!/usr/bin/env bash
# The README's install commands, as written, in a new venv: the ``` block under "## Install",
# with "<this repository's URL>" replaced by this clone (git+file://, its committed HEAD), then
# `import flowflops; flowflops.profile` and the command. Used by .ci/pip_check.sh.
# Usage: .ci/readme_install.sh PYTHON WORKDIR
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=$1
work=$2
"$PYTHON" -m venv "$work/readme-venv"
script=$("$PYTHON" - "$repo/README.md" "file://$repo" <<'PY'
import re, sys
readme = open(sys.argv[1], encoding="utf-8").read()
section = readme.split("## Install", 1)[1].split("\n## ", 1)[0]
block = re.search(r"```\n(.*?)```", section, re.S).group(1)
lines = [line.split(" #")[0].strip() for line in block.splitlines()]
lines = [line.replace("<this repository's URL>", sys.argv[2]) for line in lines if line]
assert lines and all(line.startswith(("pip install", "echo ")) for line in lines), lines
print("\n".join(lines))
PY
)
echo "$script"
start=$SECONDS
(cd "$work" && PATH="$work/readme-venv/bin:$PATH" bash -euo pipefail -c "$script")
echo "installed in $((SECONDS - start)) s"
cd "$work"
"$work/readme-venv/bin/python" -c "import flowflops, flowvision.models as m; r = flowflops.profile(m.resnet18(), (1, 3, 224, 224)); assert (r.macs, r.params) == (1822177768, 11689512), (r.macs, r.params); print('flowflops.profile(resnet18):', r.macs, 'MACs,', r.params, 'params (the article numbers)')"
"$work/readme-venv/bin/flowflops" --version
echo "README install from the repository URL works"
