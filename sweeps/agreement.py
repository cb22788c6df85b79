"""Which timm / Hugging Face models count by name, whether both engines agree, and why the
others cannot: one process per model (an abort inside OneFlow ends that model's row, not the
sweep), run on demand like the benchmarks (hours over every name on a laptop CPU).

    python sweeps/agreement.py --hf                       # every transformers 4.26.1 model type
    python sweeps/agreement.py --timm --limit 50          # the first 50 timm 0.6.12 names
    python sweeps/agreement.py hf:whisper timm:resnet18   # named ones
    python sweeps/agreement.py --hf --json out.json --markdown docs/agreement.md
    python sweeps/agreement.py --update sweeps/agreement_timm.json timm:gcvit_small   # rerun recorded rows
    python sweeps/agreement.py --timm-outside-csv all --append --json sweeps/agreement_timm_outside_csv.json \
        --until 01:20                                     # the names not yet recorded there, cheapest first

Each model is built with random weights (Hugging Face: its config with the layer counts cut
to 2, see SHRINK, so that the largest defaults fit a CPU; timm: its defaults) on its own
default input (flowflops.torch_models), then counted with ``profile(..., mode="graph",
verify=True)``: eager+count_functional against graph. A row is one of

- ``agree``: both engines count it and give the same MACs and FLOPs in total, per module
  and per op type, with nothing unsupported;
- ``differ``: both count it but ``verification`` lists differences (shown);
- ``eager only`` / ``graph only``: one engine counts it, the other raised (its first line; the
  MACs are the engine's that counts);
- ``fails``: building or counting raised in both engines (the graph engine's first line:
  OneFlow's reason; ``stage`` says whether the model did not ``build`` or did not ``count``);
- ``signal``: the process ended by a signal (an abort inside OneFlow): a bug to report;
- ``timeout``: it ran past ``--timeout`` seconds;
- ``not run``: ``--until`` stopped the sweep before it (written only with ``--append``, so that
  the file names every model it was asked for; the next ``--append`` run replaces it).
"""
from __future__ import annotations

import argparse
import calendar
import csv
import json
import os
import re
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Union

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: config fields cut for the sweep (a 2-layer model prices each layer kind as the full one)
SHRINK = {"num_hidden_layers": 2, "n_layer": 2, "num_layers": 2, "n_layers": 2, "encoder_layers": 2,
          "decoder_layers": 2, "num_decoder_layers": 2}


#: config fields given where a type's default config builds a model that cannot run in PyTorch
#: either: ViT-hybrid's default backbone_featmap_shape [1, 1024, 24, 24] sizes its position
#: embeddings for a 384-pixel image (24 x 24 patches + 1 = 577) while its image_size is 224
#: (14 x 14 + 1 = 197 tokens): transformers 4.26.1 modeling_vit_hybrid.py:158-170
FIXES: Dict[str, Dict[str, Any]] = {"hf:vit_hybrid": {"image_size": 384}}


def names(args: argparse.Namespace) -> List[str]:
    out = list(args.names)
    if args.hf or args.timm or args.timm_small or args.timm_outside_csv:
        sys.path.insert(0, ROOT)
        from flowflops.torch_models import mocked_torch

        with mocked_torch():
            if args.hf:
                from transformers.models.auto.configuration_auto import CONFIG_MAPPING
                from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

                out += [f"hf:{t}" for t in sorted(CONFIG_MAPPING.keys()) if t in MODEL_MAPPING_NAMES]
            if args.timm:
                import timm

                out += [f"timm:{n}" for n in timm.list_models()]
            if args.timm_small:
                out += [f"timm:{n}" for n in small_timm_names()]
            if args.timm_outside_csv == "all":
                out += [f"timm:{n}" for n in outside_csv_timm_names_all()]
            elif args.timm_outside_csv:
                out += [f"timm:{n}" for n in outside_csv_timm_names(args.timm_outside_csv)]
    return out[: args.limit] if args.limit else out


#: timm names left out of ``--timm-small``: the large variants (by their names)
LARGE = re.compile(r"large|huge|giant|gigantic|xlarge|_xl|_l_|_base|_b\d|_b_|base_|_h_|_g_")


def small_timm_names() -> List[str]:
    """timm 0.6.12 names with a pretrained config whose input is at most 256 pixels and whose
    name does not mark a large variant (``LARGE``), one name of each family first (the family:
    the name up to its first digit or underscore), then the rest, each part alphabetical: a
    sweep cut short has seen every family."""
    import timm
    from timm.models import get_pretrained_cfg

    keep = [n for n in timm.list_models(pretrained=True)
            if (get_pretrained_cfg(n) or {}).get("input_size", (3, 224, 224))[-1] <= 256 and not LARGE.search(n)]
    first: Dict[str, str] = {}
    for n in keep:
        first.setdefault(re.split(r"[\d_]", n, maxsplit=1)[0], n)
    heads = sorted(first.values())
    return heads + [n for n in keep if n not in set(heads)]


#: timm names that mark a small variant (``--timm-outside-csv``)
SMALL = re.compile(r"atto|femto|pico|nano|tiny|small|_0_|_12_|50x1_|_s_|_l1\b")


def _outside_csv_candidates() -> List[str]:
    """timm 0.6.12's names, alphabetical, that are not rows of timm's published benchmark
    (``sweeps/data/timm_infer_pt112.csv``, which ``sweeps/timm_published.py`` runs) nor recorded
    in ``sweeps/agreement_timm.json``."""
    import timm

    recorded = {r["name"][len("timm:"):] for r in _load(os.path.join(ROOT, "sweeps", "agreement_timm.json"))}
    return [m for m in sorted(timm.list_models()) if m not in _published() and m not in recorded]


def _published() -> Dict[str, Dict[str, str]]:
    """timm's published benchmark (``sweeps/data/timm_infer_pt112.csv``): its rows by model name."""
    with open(os.path.join(ROOT, "sweeps", "data", "timm_infer_pt112.csv"), newline="") as f:
        return {r["model"]: r for r in csv.DictReader(f)}


def outside_csv_timm_names(n: int) -> List[str]:
    """``n`` timm 0.6.12 names that are not rows of timm's published benchmark
    (``sweeps/data/timm_infer_pt112.csv``, which ``sweeps/timm_published.py`` runs) nor recorded in
    ``sweeps/agreement_timm.json``, whose name marks a small variant (:data:`SMALL`) and not a
    large one (:data:`LARGE`): one name of each family first (the name up to its first digit or
    underscore), then the rest, each part alphabetical."""
    keep = [m for m in _outside_csv_candidates() if SMALL.search(m) and not LARGE.search(m)]
    first: Dict[str, str] = {}
    for m in keep:
        first.setdefault(re.split(r"[\d_]", m, maxsplit=1)[0], m)
    heads = sorted(first.values())
    return (heads + [m for m in keep if m not in set(heads)])[:n]


def outside_csv_timm_names_all() -> List[str]:
    """Every timm 0.6.12 name that is not a row of timm's published benchmark nor recorded in
    ``sweeps/agreement_timm.json`` (``--timm-outside-csv all``): the sample of
    :func:`outside_csv_timm_names` first, in its order, then the others cheapest first
    (:func:`outside_csv_cost`; ties alphabetical)."""
    every = _outside_csv_candidates()
    sample = outside_csv_timm_names(30)
    rest = sorted(set(every) - set(sample), key=lambda m: (outside_csv_cost(m), m))
    return sample + rest


#: pretraining suffixes of timm names whose model is a row of the published CSV without them
PRETRAINED_SUFFIX = re.compile(r"_(?:miil_in21k|in21k|in22k|in21ft1k|dino|clip_laion2b|22k)$")

#: a guess of a model's GMACs at 224 pixels from the size its name marks (an order, not a figure)
SIZE_GMACS = [("atto", 0.5), ("femto", 0.8), ("pico", 1.5), ("nano", 2.5), ("xxtiny", 2.0), ("xtiny", 3.0),
              ("tiny", 4.5), ("small", 9.0), ("medium", 12.0), ("xlarge", 150.0), ("xl", 100.0), ("large", 60.0),
              ("base", 18.0), ("huge", 170.0), ("giant", 270.0)]


def outside_csv_cost(name: str) -> float:
    """The order ``--timm-outside-csv all`` runs names in, in no unit (smaller first). A name that
    is a published row plus a pretraining suffix (:data:`PRETRAINED_SUFFIX`, e.g.
    ``vit_base_patch16_224_in21k``) costs that row's published GMACs plus its parameters / 20 M,
    as ``sweeps/timm_published.py`` orders rows. Any other name: the GMACs :data:`SIZE_GMACS`
    guesses from its size word, or ``4.5 * 1.6 ** d`` from the last one-digit level ``d`` in it
    (``coatnet_2_224``, ``pvt_v2_b3``, ``efficientformer_l7``), 20 when it marks neither; times
    the pixels of its default input over 224 x 224."""
    published = _published()
    base = PRETRAINED_SUFFIX.sub("", name)
    for cand in (base, base.replace("_bitm_in21k", "_bitm"), name.replace("_bitm_in21k", "_bitm")):
        if cand in published:
            return float(published[cand]["infer_gmacs"]) + float(published[cand]["param_count"]) / 20.0
    words = name.split("_")
    guess = next((g for w, g in SIZE_GMACS if any(part.startswith(w) for part in words)), None)
    if guess is None:
        levels = re.findall(r"_[a-z]?(\d)(?=_|$)", name)
        guess = 4.5 * 1.6 ** int(levels[-1]) if levels else 20.0
    size = re.search(r"_(\d{3})(?:_|$)", name)
    pixels = int(size.group(1)) if size else 224
    return guess * (pixels / 224) ** 2


def one(name: str) -> Dict[str, Any]:
    """Build and verify ``name`` in this process: the row as a dict."""
    sys.path.insert(0, ROOT)
    import flowflops
    from flowflops import torch_models as tm

    start = time.perf_counter()
    with tm.mocked_torch():
        config: Dict[str, Any] = {}
        if name.startswith("hf:"):
            from transformers.models.auto.configuration_auto import CONFIG_MAPPING

            try:
                defaults = CONFIG_MAPPING[name[3:]]().to_dict()
            except Exception as err:  # noqa: BLE001 - a config that needs its sub-configs given
                return {"name": name, "status": "fails", "stage": "build", "why": _first_line(err), "config": config}
            config = {k: v for k, v in SHRINK.items() if isinstance(defaults.get(k), int) and defaults[k] > v}
            if "num_layers" in config and defaults.get("attention_types"):  # GPT-Neo: one entry per layer
                config["attention_types"] = [[["global", "local"], 1]]
            config.update(FIXES.get(name, {}))
        try:
            built = tm.build(name, config)
        except Exception as err:  # noqa: BLE001 - the row records it
            return {"name": name, "status": "fails", "stage": "build", "why": _first_line(err), "config": config,
                    "seconds": round(time.perf_counter() - start, 1)}
        try:
            report = flowflops.profile(built.model, built.default_input_res, input_constructor=built.input_constructor,
                                       mode="graph", verify=True)
        except Exception as err:  # noqa: BLE001 - the row records it
            return _one_engine(name, built, config, err, start)
    v = report.verification
    assert v is not None
    row: Dict[str, Any] = {"name": name, "config": config, "macs": v.graph[0], "flops": v.graph[1],
                           "params": report.params, "inputs": report.to_dict()["inputs"],
                           "seconds": round(time.perf_counter() - start, 1)}
    if v.agree:
        row["status"] = "agree"
    else:
        row["status"] = "differ"
        row["why"] = v.to_text().strip().splitlines()[0][:300]
        row["differences"] = [[d.kind, d.name, d.eager, d.graph] for d in v.differences[:20]]
        row["unsupported"] = v.unsupported
    return row


def _first_line(err: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # OneFlow colours some messages
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return f"{type(err).__name__}: {first}"[:600]


def _one_engine(name: str, built: Any, config: Dict[str, Any], err: BaseException, start: float) -> Dict[str, Any]:
    """The row of a model ``verify`` could not count in both engines: each engine alone, so
    that the row says which one counts it (``eager only`` / ``graph only``) or that neither
    does (``fails``), with each engine's first line."""
    import flowflops

    counted: Dict[str, Any] = {}
    why: Dict[str, str] = {}
    for mode in ("graph", "eager"):
        try:
            cfg = {"count_functional": True} if mode == "eager" else None
            counted[mode] = flowflops.profile(built.model, built.default_input_res,
                                              input_constructor=built.input_constructor, mode=mode,
                                              backend_specific_config=cfg)
        except Exception as one_err:  # noqa: BLE001 - the row records it
            why[mode] = _first_line(one_err)
    row: Dict[str, Any] = {"name": name, "config": config}
    if len(counted) == 1:
        [(mode, report)] = counted.items()
        other = "eager" if mode == "graph" else "graph"
        row.update(status=f"{mode} only", stage=other, why=why[other], macs=report.macs, params=report.params)
    elif counted:  # each alone counts; together (verify) they did not
        row.update(status="fails", stage="verify", why=_first_line(err))
    else:
        row.update(status="fails", stage="count", why=why["graph"], eager_why=why["eager"])
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def _load(path: str) -> List[Dict[str, Any]]:
    with open(path) as f:
        rows: List[Dict[str, Any]] = json.load(f)
    return rows


def run(name: str, timeout: float) -> Dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=ROOT)
    start = time.perf_counter()
    try:
        p = subprocess.run([sys.executable, os.path.abspath(__file__), "--one", name], capture_output=True,
                           text=True, env=env, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"name": name, "status": "timeout", "why": f"over {timeout:.0f} s"}
    if p.returncode < 0:
        return {"name": name, "status": "signal", "why": f"ended by signal {-p.returncode}",
                "seconds": round(time.perf_counter() - start, 1)}
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"name": name, "status": "fails", "why": (p.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(lines[-1])


def markdown(rows: List[Dict[str, Any]]) -> str:
    counts: Dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    head = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    out = [f"{len(rows)} models: {head}.", "", "| model | status | MACs | params | why / config |",
           "|---|---|---:|---:|---|"]
    for r in rows:
        why = r.get("why", "") or (f"config {json.dumps(r['config'])}" if r.get("config") else "")
        out.append(f"| {r['name']} | {r['status']} | {r.get('macs', ''):,} | {r.get('params', ''):,} | "
                   f"{why.replace('|', '/')} |" if "macs" in r else
                   f"| {r['name']} | {r['status']} | | | {why.replace('|', '/')} |")
    return "\n".join(out) + "\n"


#: OneFlow's reason, read from a row's first error line: (pattern, the cause it names)
CAUSES = [
    (r"Only eager scalar tensor support GetItem", "a tensor read as a Python number (`.item()`, `int()`, "
     "a tensor index): data-dependent control flow nn.Graph cannot trace"),
    (r"InferDataType|Expected k\w+, but got k\w+", "mixed dtypes in one op, which OneFlow 0.9 does not promote "
     "(`where` on an int64 and a float tensor)"),
    (r"(\S+) is not implemented\b", "`{0}` is not implemented in OneFlow 0.9"),
    (r"'(?:MODULE' )?'?ProxyModule' object '[^']*' in nn.Graph has no attribute '(\w+)'",
     "nn.Graph's module proxy has no attribute the module set outside its parameters and buffers (`{0}`)"),
    (r"'(\w+)' object has no attribute '(\w+)'", "`{0}.{1}` is missing in OneFlow 0.9"),
    (r"(\w+)\.forward\(\) got an unexpected keyword argument '(\w+)'", "its forward takes no `{1}`, the input "
     "flowflops makes (count it with `input_constructor=`)"),
    (r"`(\w+)` cannot be `None`", "its forward needs `{0}`, which flowflops does not make (count it with "
     "`input_constructor=`)"),
    (r"`(\w+)` can not be `None`", "its config is made of two models' configs: give `{0}` (and the other) "
     "with `--config`"),
    (r"(\w+)\(\):? got an unexpected keyword argument '(\w+)'", "`{0}` takes no `{1}=` argument in OneFlow 0.9"),
    (r"(upsample_\w+)\(\): argument '(\w+)' must be double", "an interpolation sized by tensors the model "
     "computes from its input (`F.interpolate(size=...)`): a data-dependent shape, and OneFlow 0.9's `{0}` takes "
     "its `{1}` only as a number"),
    (r"(\w+)\(\): argument '(\w+)' must be ([\w ]+?)(?:,|$| not)",
     "`{0}`'s `{1}` must be a {2} in OneFlow 0.9 (the model passes a tensor)"),
    (r"(\w+)\(\): received an invalid combination of arguments",
     "`{0}` is called with arguments OneFlow 0.9 does not take"),
    (r"no CPU kernel for the op '(\w+)'", "`{0}` has no CPU kernel in OneFlow 0.9 for the dtypes the model gives "
     "it"),
    (r"Cannot find the kernel matching", "an op with no CPU kernel in OneFlow 0.9"),
    (r"Please install (\w+)", "needs the `{0}` library, not installed (a PyTorch extension)"),
    (r"NotImplementedError: ?\.?(?: Graph mode|$)", "a `NotImplementedError` without a message: the model has no "
     "`forward` of its own"),
    (r"requires the (\S+) library", "needs the `{0}` library, not installed (a PyTorch extension)"),
    (r"takes '(\w+)' as its main input", "its main input `{0}` is not one flowflops makes from the config "
     "(count it with `input_constructor=`)"),
    (r"dropout probability has to be between 0 and 1, but got (\d+(?:\.\d+)?)", "OneFlow 0.9's `nn.Dropout2d` refuses "
     "a drop probability of {0} (`flow._C.dropout2d`: \"has to be between 0 and 1\")"),
    (r"URLError|Name or service not known", "building it tries to download weights"),
]


def cause(row: Dict[str, Any]) -> str:
    """The cause a ``fails`` / ``eager only`` / ``graph only`` row names, in the words of
    :data:`CAUSES`; where none matches, the error's own first line."""
    why = row.get("why", "")
    if re.search(r"\w+Error: ?\.?$|\w+Error: \. ", why) and row.get("eager_why"):  # graph's error had no text
        why = row["eager_why"]
    for pattern, text in CAUSES:
        m = re.search(pattern, why)
        if m:
            return text.format(*m.groups())
    m = re.search(r"(?:on the inputs \[.*?\](?: \(from input_res=(?:\([^)]*\)|[^)]*)\))?"
                  r"|does not build on OneFlow 0\.9[^:]*): (.*)", why)
    told = m.group(1) if m else why
    return re.split(r"\. Graph mode needs|\. Mode '| \(at |; its config", told)[0]


#: the sections of docs/cannot-count.md, by a row's status and stage
SECTIONS = [
    ("eager only", "Count in eager mode only: `--mode graph` fails, `--mode eager` counts them"),
    ("graph only", "Count in graph mode only: eager mode fails, `--mode graph` counts them"),
    ("fails count", "Build but count in neither engine"),
    ("fails build", "Do not build on OneFlow 0.9 (or flowflops cannot make their input)"),
    ("timeout", "Did not finish within the sweep's per-model time limit"),
    ("signal", "Ended the process by a signal"),
    ("not run", "Not run: the sweep stopped (its wall-clock limit) before them"),
    ("not in timm", "Names of timm's published benchmark that timm 0.6.12 does not have"),
]


def sweep_row(row: Dict[str, Any]) -> Dict[str, Any]:
    """``row`` as a row of this sweep. A row of ``sweeps/timm_published.py`` (it has the
    ``published`` figure; its ``name`` has no ``timm:``) counts a model in each engine under each
    convention; here it becomes ``timm:<name>`` with the default convention's outcome: ``agree``
    / ``differ`` where both engines counted it (its ``agree``), ``eager only`` / ``graph only``
    with the other engine's error, ``fails`` with the graph engine's error and the eager engine's
    as ``eager_why``, or its own ``timeout`` / ``signal`` / ``not in timm``. Other rows: as they are."""
    if "published" not in row:
        return row
    name, status = "timm:" + row["name"], row["status"]
    if status in ("not in timm", "timeout", "signal"):
        return {"name": name, "status": status, "why": row.get("why", "")}
    counted = [m for m in ("eager", "graph") if f"flowflops {m}" in row]
    if len(counted) == 2:
        return {"name": name, "status": "agree" if row.get("agree") is True else "differ"}
    if counted:
        other = "graph" if counted == ["eager"] else "eager"
        return {"name": name, "status": f"{counted[0]} only", "why": row.get(f"flowflops {other} why", "")}
    out = {"name": name, "status": "fails", "stage": row.get("stage", "count"),
           "why": row.get("flowflops graph why") or row.get("why", "")}
    if row.get("flowflops eager why"):
        out["eager_why"] = row["flowflops eager why"]
    return out


def recorded(files: List[str]) -> List[Dict[str, Any]]:
    """The rows of the recorded sweeps ``files`` (paths from the repository's root) as rows of
    this sweep (:func:`sweep_row`), one per model: where files record the same model, the last
    file's row, except that a ``not run`` row does not replace a row another file measured."""
    rows: Dict[str, Dict[str, Any]] = {}
    for f in files:
        with open(os.path.join(ROOT, f)) as fh:
            for r in json.load(fh):
                row = sweep_row(r)
                if row["status"] == "not run" and row["name"] in rows:
                    continue
                rows.pop(row["name"], None)
                rows[row["name"]] = row
    return list(rows.values())


def _section(row: Dict[str, Any]) -> str:
    if row["status"] == "fails":
        stage = row.get("stage")
        if stage is None:  # a row recorded before rows had a stage: the error's words say it
            counting = "could not compile" in row.get("why", "") or "failed on the inputs" in row.get("why", "")
            stage = "count" if counting else "build"
        return "fails build" if stage == "build" else "fails count"
    return row["status"]


def cannot_count(files: List[str]) -> str:
    """The markdown list of every model of the recorded sweeps ``files`` that does not count in
    both engines, by section (:data:`SECTIONS`) and then by cause (:func:`cause`), the models of a
    cause alphabetical; a model recorded in several files once, as the last one records it
    (:func:`recorded`)."""
    rows = recorded(files)
    source = f"<!-- figures: {', '.join(files)} -->"  # the figures' source, for tests/test_docs_prose.py
    differ = [r["name"] for r in rows if r["status"] == "differ"]
    differing = 'none differs' if not differ else 'differ: ' + ', '.join(differ)
    out = [source, f"From {', '.join(f'`{f}`' for f in files)}: every model recorded there that is not listed below "
           f"counts in both engines and they agree; {differing}."]
    for key, title in SECTIONS:
        rows_here = [r for r in rows if _section(r) == key]
        if not rows_here:
            continue
        by_cause: Dict[str, List[str]] = {}
        for r in rows_here:
            told = cause(r) if key not in ("timeout", "not in timm", "not run") else r.get("why", "")
            eager = cause({"why": r["eager_why"]}) if r.get("eager_why") else told
            name = r["name"] if eager == told else f"{r['name']} (eager mode: {eager})"
            by_cause.setdefault(told, []).append(name)
        out += ["", f"### {title} ({len(rows_here)})", "", source]
        for c, models in sorted(by_cause.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            out.append(f"- {c}: {', '.join(sorted(models))}")
    return "\n".join(out) + "\n"


def update(path: str, todo: List[str], timeout: float) -> None:
    """Rerun ``todo`` (names already rows of the sweep recorded in ``path``) and write each new
    row in place of the old one, the file saved after every row (the order of the rows kept)."""
    with open(path) as f:
        rows = json.load(f)
    where = {r["name"]: k for k, r in enumerate(rows)}
    missing = [n for n in todo if n not in where]
    if missing:
        raise SystemExit(f"{path} has no row for {', '.join(missing)}: --update reruns recorded rows only")
    for name in todo:
        row = run(name, timeout)
        rows[where[name]] = row
        print(f"{row['name']:<45} {row['status']:<8} {row.get('why', '')}", flush=True)
        with open(path, "w") as f:
            json.dump(rows, f, indent=1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", help="timm:<name> / hf:<type>")
    p.add_argument("--hf", action="store_true", help="every transformers model type")
    p.add_argument("--timm", action="store_true", help="every timm model name")
    p.add_argument("--timm-small", action="store_true",
                   help="timm names with a pretrained config, small (see small_timm_names)")
    p.add_argument("--timm-outside-csv", type=_count_or_all, default=0, metavar="N|all",
                   help="N small timm names outside timm's published benchmark (see outside_csv_timm_names), "
                        "or all of them (outside_csv_timm_names_all)")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per model")
    p.add_argument("--json", default=None)
    p.add_argument("--append", action="store_true",
                   help="with --json: keep the file's rows, run only the names it has no measured row for "
                        "(a `not run` row is replaced in place), append the others")
    p.add_argument("--until", default=None, metavar="HH:MM",
                   help="UTC: start no model after this time (with --append the rest are written as `not run`)")
    p.add_argument("--markdown", default=None)
    p.add_argument("--cannot-count", nargs="+", default=None, metavar="JSON",
                   help="print the list of models that do not count, by cause, from recorded sweeps")
    p.add_argument("--update", default=None, metavar="JSON",
                   help="rerun the named models and put each new row in place of its row in this recorded sweep")
    p.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.cannot_count:
        print(cannot_count(args.cannot_count), end="")
        return
    if args.one:
        print(json.dumps(one(args.one)))
        return
    if args.update:
        update(args.update, names(args), args.timeout)
        return
    if args.append and not args.json:
        p.error("--append needs --json FILE")
    sweep(names(args), args.timeout, args.json, args.markdown, args.append, _until(args.until))


def _count_or_all(text: str) -> Union[int, str]:
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number nor 'all'") from None


def _until(text: Optional[str]) -> Optional[float]:
    """``HH:MM`` (UTC) as seconds since the epoch: the next such time within 12 hours from now, or
    the last one within 12 hours before (``--until 01:20`` given at 23:50 means tomorrow's)."""
    if not text:
        return None
    hh, mm = (int(x) for x in text.split(":"))
    now = time.time()
    day = time.gmtime(now)
    until = float(calendar.timegm((day.tm_year, day.tm_mon, day.tm_mday, hh, mm, 0, 0, 0, 0)))
    if until < now - 12 * 3600:
        until += 24 * 3600
    elif until > now + 12 * 3600:
        until -= 24 * 3600
    return until


def sweep(todo: List[str], timeout: float, path: Optional[str], md: Optional[str], append: bool,
          until: Optional[float]) -> None:
    """Run ``todo``, one process each, and write the rows to ``path`` (and ``md``) after every
    row: a sweep cut short keeps what it measured. With ``append`` the file's rows are kept, a
    name it has a measured row for is skipped, a ``not run`` row is replaced in place and a new
    name's row appended; names ``until`` stops the sweep before are written as ``not run``."""
    rows: List[Dict[str, Any]] = _load(path) if append and path and os.path.exists(path) else []
    where = {r["name"]: k for k, r in enumerate(rows)}
    todo = [n for n in todo if n not in where or rows[where[n]]["status"] == "not run"]
    print(f"{len(todo)} models to run" + (f", {len(rows)} rows already in {path}" if rows else ""), flush=True)
    stopped = False
    for name in todo:
        if until is not None and time.time() > until:
            if not stopped:
                print(f"stopped at --until, before {name}", flush=True)
                stopped = True
            if not append:
                break
            row: Dict[str, Any] = {"name": name, "status": "not run",
                                   "why": "the sweep stopped at its wall-clock limit before it"}
        else:
            row = run(name, timeout)
            print(f"{row['name']:<45} {row['status']:<8} {row.get('why', '')}", flush=True)
        if name in where:
            rows[where[name]] = row
        else:
            where[name] = len(rows)
            rows.append(row)
        if path:
            with open(path, "w") as f:
                json.dump(rows, f, indent=1)
        if md:
            with open(md, "w") as f:
                f.write(markdown(rows))

if __name__ == "__main__":
    main()
