"""Run the README's quick start (the first ```python block under "## Quick start") and check
that it prints exactly the lines its trailing `# ...` comments promise. Used by
.ci/pip_check.sh in a venv that holds only what `pip install` gave it."""
import io
import re
import sys
from contextlib import redirect_stdout

readme = open(sys.argv[1], encoding="utf-8").read()
section = readme.split("## Quick start", 1)[1]
code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
expected = [line[2:] for line in code.splitlines() if line.startswith("# ")]
buf = io.StringIO()
with redirect_stdout(buf):
    exec(compile(code, "README quick start", "exec"), {"__name__": "__main__"})
got = buf.getvalue().splitlines()
print("\n".join(got))
if got != expected:
    sys.exit(f"README quick start printed {got}, the README says {expected}")
print("README quick start: output matches the README")
