"""The suite's own ending: after the totals, what was skipped and why (grouped by reason), and how
to run everything (`make test` on a fresh clone skips the browser and timm/HF tests where their
tools are absent; this says so instead of a bare "26 skipped")."""
from collections import Counter
from typing import Any, List

HOW_TO_RUN_ALL = [
    "to run everything: `make torch-models` (timm and transformers into .venv),",
    "`apt-get install chromium chromium-driver` (the HTML page's browser tests), then `make test`",
    "(.ci/run does all three on a fresh clone).",
]


def skip_reasons(reports: List[Any]) -> Counter:
    """How many skipped tests each reason covers (pytest's 'Skipped: ' prefix left out)."""
    out: Counter = Counter()
    for rep in reports:
        longrepr = getattr(rep, "longrepr", None)
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        out[reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason] += 1
    return out


def summary_lines(skipped: List[Any], deselected: int) -> List[str]:
    lines = [f"{n} skipped: {reason}" for reason, n in sorted(skip_reasons(skipped).items(), key=lambda x: -x[1])]
    if deselected:
        lines.append(f"{deselected} deselected (-m or -k): `make test` runs them all")
    return lines + HOW_TO_RUN_ALL if lines else []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = summary_lines(terminalreporter.stats.get("skipped", []),
                          len(terminalreporter.stats.get("deselected", [])))
    if lines:
        terminalreporter.section("what did not run, and how to run it", sep="-")
        for line in lines:
            terminalreporter.write_line(line)
