"""Figures in the prose of README.md and docs/*.md are checked like table figures: a paragraph
with figures has a ``<!-- figures: SOURCE, ... -->`` line just before it naming where they come
from (a test that asserts them, a recorded result, a benchmark's output), and each figure must be
written there (as is, or rounded as printed after a unit scale; whole numbers of 5+ digits
exactly: tests/docs_pages.py's ``found``). A figure no source holds is listed in ALLOW below
with why it needs none (an input the reader chooses, a unit definition); keep that list short.

A figure, in prose: a number of 3+ digits, a decimal, or a number with a unit (%, s, ms, MB, GB,
MiB, GiB, GMac, TFLOPs, M, x, 1.15x), both ends of a range (1.61-1.73x) included. Not figures:
versions after a package name ("oneflow 0.9"), years,
anything in `code` (checked by the code-block tests), link targets. Quick: nothing is counted."""
import re
from pathlib import Path
from typing import List, Tuple

from docs_pages import FIGURES, PAGES, PROSE_NUMBER, ROOT, found, source_numbers
import sweep_scripts

UNIT = re.compile(r"\s*(?:%|s\b|ms\b|us\b|µs|KB|MB|GB|TB|MiB|GiB|KiB|GMac|MMac|TMac|GMACs|GFLOPs|TFLOPs|x\b|M\b)")
VERSIONED = re.compile(r"(?:Python|CPython|oneflow|OneFlow|CUDA|flowvision|torch|torchvision|timm|transformers|"
                       r"ptflops|fvcore|thop|pip|numpy|protobuf|cuDNN|setuptools|MkDocs|mkdocs|Debian|"
                       r"huggingface_hub|tokenizers|Material|version)\s+$")

#: (page, figure as printed) -> why no source is needed. Only inputs and definitions.
ALLOW = {
    ("agreement.md", "100"): "an option value in a command line the page shows (--limit 100)",
    ("cli.md", "1000"): "a unit definition (KB, MB, GB: powers of 1000)",
    ("conventions.md", "2 x"): "a definition (FLOPs = 2 x MACs)",
    ("measure.md", "2 x"): "a quoted rule of thumb the page rejects (backward = 2 x forward)",
    ("engines.md", "100 %"): "a bound (coverage below 100 %)",
    ("html.md", "81.75 %"): "read off the screenshot docs/vit_tiny.png (docs/screenshots.py); tests/test_html.py "
                            "checks that the card is report.coverage with LayerNorm x25, not this value",
    ("conventions.md", "4.11 GMACs"): "an example of how to state a count (ResNet-50 under fvcore, 4,111,512,576 in "
                                      "the table above and benchmarks/peers.json)",
    ("torch-models.md", "224"): "an input: the image size used where a config has none",
    ("roofline.md", "1024"): "an input: GPT-2-medium's width (benchmarks/gpt2_roofline.py)",
    ("roofline.md", "16 x"): "an input: GPT-2-medium's 16 heads (16 x 2048 x 2048 score tensors)",
    ("roofline.md", "50257"): "an input: GPT-2's vocabulary (benchmarks/gpt2_roofline.py)",
    ("symbolic.md", "1,024"): "arithmetic on the page: 32 x 32 classes",
    ("getting-started.md", "3.7"): "a Python version range (CPython 3.7-3.10), not a figure",
    ("getting-started.md", "3.10"): "a Python version range (CPython 3.7-3.10), not a figure",
    ("engines.md", "10%"): "a threshold of the warning (flowflops/api.py, tested in tests/test_api.py)",
}


def _rows(path, status=None):
    import json

    return len([r for r in json.loads((ROOT / path).read_text()) if status in (None, r["status"])])


OUTSIDE = "sweeps/agreement_timm_outside_csv.json"


def _timm_rows_outside_csv(status=None):
    """Rows of sweeps/agreement_timm.json whose model is not a row of timm's published CSV."""
    import csv
    import json

    with open(ROOT / "sweeps" / "data" / "timm_infer_pt112.csv", newline="") as f:
        published = {"timm:" + r["model"] for r in csv.DictReader(f)}
    return [r for r in json.loads((ROOT / "sweeps" / "agreement_timm.json").read_text())
            if r["name"] not in published and status in (None, r["status"])]


def _cannot_count(section):
    """How many models docs/cannot-count.md lists in ``section`` (a key of the sweep's SECTIONS),
    from the recorded sweeps its list names, as sweeps/agreement.py groups them."""
    mod = sweep_scripts.load("agreement")
    files = re.search(r"<!-- cannot-count: (.+?) -->", (ROOT / "docs" / "cannot-count.md").read_text()).group(1)
    return sum(1 for r in mod.recorded(files.split()) if mod._section(r) == section)


#: (page, figure as printed) -> (its value computed here, the arithmetic): figures the page
#: derives from others or from a model's shape.
ARITH = {
    # ViT-B/16's attention scores: 12 layers x 12 heads x 197 x 197 (query, key) pairs x 64 head
    # dims, twice (q @ k^T and att @ v): 715,327,488 = 715 M
    ("conventions.md", "715 M"): (12 * 12 * 197 * 197 * 64 * 2 / 1e6, "ViT-B/16's q@k^T and att@v"),
    # the bottleneck layer3.5: convs 1024->256 (1x1), 256->256 (3x3), 256->1024 (1x1), 3 BatchNorms
    ("html.md", "1,117,184"): (1024 * 256 + 256 * 256 * 9 + 256 * 1024 + 2 * 256 + 2 * 256 + 2 * 1024,
                               "layer3.5's parameters"),
    # one more LLaMA-70B layer at 512 tokens: layers=2 minus layers=1 (benchmarks/llm_raw.json)
    ("llm.md", "442,517,425,152"): (1_019_269_357_056 - 576_751_931_904, "layer 2 minus layer 1"),
    # Swin-T's head: 49 tokens x 768 channels averaged; one scalar_mul per channel
    ("torch-models.md", "37,632"): (49 * 768, "Swin-T's last stage: 7 x 7 tokens x 768 channels"),
    ("torch-models.md", "768"): (768, "Swin-T's last width (96 x 8)"),
    # the HF sweep's rows (the "153 models: ..." line is checked by test_docs_agreement_tables.py)
    ("agreement.md", "153"): (_rows("sweeps/agreement_hf.json"), "rows of sweeps/agreement_hf.json"),
    ("agreement.md", "129"): (_rows("sweeps/agreement_hf.json", "agree"), "agree rows of sweeps/agreement_hf.json"),
    # timm names outside the published CSV: the rows of sweeps/agreement_timm_outside_csv.json plus
    # the rows of sweeps/agreement_timm.json that are not CSV models (the "116 models: ..." line is
    # checked by test_docs_agreement_tables.py)
    ("agreement.md", "116"): (_rows(OUTSIDE), "rows of " + OUTSIDE),
    ("agreement.md", "125"): (_rows(OUTSIDE) + len(_timm_rows_outside_csv()),
                              "rows of " + OUTSIDE + " + rows of sweeps/agreement_timm.json not in the CSV"),
}


def _section(path: Path, heading: str):
    """The text of ``path``'s Markdown section whose heading contains ``heading`` (up to the
    next heading of the same or a higher level), or None: ``benchmarks/RESULTS.md#Training-step
    memory`` narrows a long results file to the run a paragraph quotes."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(#+) ", line)
        if m and heading in line:
            end = next((j for j in range(i + 1, len(lines))
                        if re.match(rf"^#{{1,{len(m.group(1))}}} ", lines[j])), len(lines))
            return "\n".join(lines[i:end])
    return None


def _numbers(text: str) -> List[float]:
    return [float(t.replace("_", "").replace(",", ""))
            for t in re.findall(r"\d[\d_,]*(?:\.\d+)?(?:[eE][-+]?\d+)?", text)
            if re.fullmatch(r"[\d.]+(?:[eE][-+]?\d+)?", t.replace("_", "").replace(",", ""))]


def paragraphs(page: Path) -> List[Tuple[int, str, List[str]]]:
    """(first line, text, sources) of each prose paragraph of ``page``: not code, not tables,
    not HTML comments; ``sources`` from a ``<!-- figures: ... -->`` line just before it."""
    out, cur, start, sources, fence = [], [], 0, [], False
    lines = page.read_text(encoding="utf-8").splitlines() + [""]
    pending: List[str] = []
    for i, line in enumerate(lines, 1):
        if line.startswith("```"):
            fence = not fence
            line = ""
        stripped = line.strip()
        m = FIGURES.fullmatch(stripped)
        if fence or not stripped or line.startswith("|") or stripped.startswith("<!--"):
            if cur:
                out.append((start, "\n".join(cur), sources))
                cur = []
            if m and not fence:
                pending = [s.strip() for s in m.group(1).split(",")]
            elif stripped and not fence:  # a table or another comment takes the line before it
                pending = []
            continue
        if not cur:
            start, sources, pending = i, pending, []
        cur.append(line)
    return out


def prose_figures(text: str) -> List[str]:
    s = re.sub(r"`[^`]*`", "CODE", text)
    s = re.sub(r"\]\([^)]*\)", "]", s)
    out = []
    for m in PROSE_NUMBER.finditer(s):
        num = m.group(0)
        if VERSIONED.search(s[:m.start()]) or re.fullmatch(r"(19|20)\d\d", num) or s[m.end():].startswith("+"):
            continue
        unit = UNIT.match(s[m.end():])
        if len(num.replace(",", "").replace(".", "")) >= 3 or "." in num or unit:
            out.append(num + (unit.group(0) if unit else ""))
    return out


def _value(fig: str) -> str:
    return UNIT.sub("", fig).strip()


#: a figure's unit -> the scales its source may write it at (as printed, or in the base unit)
SCALES = {"%": (1, 0.01), "s": (1, 1e3, 1e-3), "ms": (1, 1e-3, 1e3), "us": (1, 1e-6), "µs": (1, 1e-6),
          "KB": (1, 1e3), "MB": (1, 1e6, 1e3), "GB": (1, 1e9, 1e6), "TB": (1, 1e12),
          "KiB": (1, 2 ** 10), "MiB": (1, 2 ** 20, 2 ** 10), "GiB": (1, 2 ** 30, 2 ** 20),
          "MMac": (1, 1e6), "GMac": (1, 1e9), "TMac": (1, 1e12), "GMACs": (1, 1e9), "GFLOPs": (1, 1e9),
          "TFLOPs": (1, 1e12), "M": (1, 1e6), "x": (1,), "": (1,)}


def _found(fig: str, numbers: List[float]) -> bool:
    """``fig`` (as printed, with its unit) is one of ``numbers`` rounded as printed, at a scale its
    unit allows (``257 MB``: 257.4 or 257,400,000 bytes; ``1.87 TFLOPs``: 1.866 or 1.866e12), or,
    for a whole number of 5+ digits, exactly (tests/docs_pages.py's ``found``)."""
    value = _value(fig)
    unit = fig[len(value):].strip()
    decimals = len(value.split(".")[1]) if "." in value else 0
    x = float(value.replace(",", ""))
    if decimals == 0 and x >= 10_000:
        return found(value, numbers)
    return any(abs(y / s - x) <= 0.5 * 10 ** -decimals + 1e-9 * abs(x) for y in numbers for s in SCALES[unit])


def test_every_prose_figure_is_in_its_named_source_or_allowed():
    problems, used = [], set()
    for page in PAGES:
        for line, text, sources in paragraphs(page):
            figs = prose_figures(text)
            if not figs:
                continue
            numbers, missing = [], []
            for src in sources:
                path, _, section = src.split(" (")[0].split("::")[0].partition("#")
                if not (ROOT / path).exists():
                    missing.append(path)
                elif not section:
                    numbers += source_numbers([ROOT / path])
                else:
                    text = _section(ROOT / path, section)
                    if text is None:
                        missing.append(src)
                    numbers += _numbers(text or "")
            if missing:
                problems.append(f"{page.name}:{line}: sources that do not exist: {missing}")
            for fig in figs:
                if (page.name, fig) in ALLOW:
                    used.add((page.name, fig))
                elif (page.name, fig) in ARITH:
                    used.add((page.name, fig))
                    value, how = ARITH[(page.name, fig)]
                    if not found(_value(fig), [value]):
                        problems.append(f"{page.name}:{line}: {fig!r} is not {how} = {value:,}")
                elif not (sources and _found(fig, numbers)):
                    where = ", ".join(sources) if sources else "no <!-- figures: ... --> line before the paragraph"
                    problems.append(f"{page.name}:{line}: {fig!r} not in its sources ({where})")
    stale = (set(ALLOW) | set(ARITH)) - used
    assert not stale, f"ALLOW entries no page uses any more: {sorted(stale)}"
    assert not problems, "prose figures no test or recorded result holds:\n" + "\n".join(problems)
