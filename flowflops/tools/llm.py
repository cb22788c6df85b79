"""Language-model costs: a decode step against a KV cache, a whole generation, and sweeps over
sequence length and batch, each made exact from a few counts.

Every number here is a count of the model by :func:`flowflops.profile` (graph mode by default:
compiled, never run), per batch as given, in both conventions of :class:`flowflops.Cost`.

**Inputs.** A step is a forward of ``tokens`` new token ids against a cache of ``cache_len``
positions. By default the model is called as the reference decoder
(:class:`flowflops.models.Decoder`) is: ``model(idx=ids)`` for a prompt,
``model(idx=ids, past=model.empty_cache(batch, cache_len))`` for a decode step. Any other model
works through ``input_constructor(batch, tokens, cache_len)``, returning the forward's inputs
as :func:`flowflops.profile`'s ``input_constructor`` does (a tensor, a tuple or a dict).

**Generation** of ``N`` new tokens after a prompt of ``P``: the prefill (``P`` tokens, empty
cache) gives the first new token; each further token is one decode step of one token against
the cache so far, so there are ``N - 1`` steps, at cache lengths ``P .. P + N - 2``.

**Exactness.** A step's cost is a polynomial in the cache length ``L`` (degree 1 for a
transformer: the scores and their weighted sum grow with ``L``). Where a rule makes it
piecewise (a sliding window of ``W``: constant once ``L + 1 >= W``) each piece is a
polynomial. Each piece is fitted as :func:`flowflops.symbolic` fits a cost in one named size
(the same machinery, :mod:`flowflops.analysis.polyfit`): degree 1 guessed through two counts
(``lo + 1``, ``lo + 2``) and checked at both ends of the piece (``lo``, ``hi``); a miss finds the
degree (<= 2) from more counts, and one that no degree explains raises :class:`CountError`
(count every step with ``exact_steps=True`` then). A sweep's lengths are the user's: its
polynomial goes through three of them (first, middle, last; the machinery's grid fit) and is
checked at the rest. Sums of the polynomial over the steps are exact rationals, which are
integers for integer counts.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import oneflow as flow

from ..analysis import llm as results
from ..analysis.llm import Piece, Poly, evaluate, fit_piece, fit_polynomial, poly_of
from ..analysis.polyfit import Fitter, fit_counts
from ..records import Cost
from ..rules.sparsity import parse_attention

__all__ = ["count_step", "decode_step", "default_step_inputs", "generation", "sweep", "Generation", "Sweep",
           "fit_range", "Piece", "Poly", "evaluate", "fit_piece", "fit_polynomial"]

InputConstructor = Callable[[int, int, int], Any]


# -- inputs and single counts -------------------------------------------------------------

def default_step_inputs(model: Any, batch: int, tokens: int, cache_len: int) -> Dict[str, Any]:
    """The reference decoder's inputs: token ids (zeros) and, for a decode step, its cache."""
    idx = flow.zeros(batch, tokens, dtype=flow.int64)
    if cache_len == 0:
        return {"idx": idx}
    make = getattr(model, "empty_cache", None)
    if make is None:
        raise TypeError(
            f"{type(model).__name__} has no empty_cache(batch, length): pass "
            "input_constructor(batch, tokens, cache_len) returning the forward's inputs, cache included")
    return {"idx": idx, "past": make(batch, cache_len)}


def count_step(
    model: Any, *, tokens: int, cache_len: int = 0, batch: int = 1, mode: str = "graph",
    attention: str = "dense", experts: str = "all",
    input_constructor: Optional[InputConstructor] = None,
) -> Any:
    """The :class:`~flowflops.Report` of one forward of ``tokens`` new tokens against a cache of
    ``cache_len`` positions (``cache_len=0``: a prompt), batch ``batch``. Eager mode prices
    functional calls too (``count_functional``), so that it sees what graph mode sees."""
    from ..api import profile

    for name, v, low in (("tokens", tokens, 1), ("cache_len", cache_len, 0), ("batch", batch, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ValueError(f"{name} must be an int >= {low}, got {v!r}")

    def make(_: Any) -> Any:
        if input_constructor is not None:
            return input_constructor(batch, tokens, cache_len)
        return default_step_inputs(model, batch, tokens, cache_len)

    cfg = {"count_functional": True} if mode == "eager" else {}
    return profile(model, None, input_constructor=make, mode=mode, backend_specific_config=cfg,
                   attention=attention, experts=experts)


def decode_step(model: Any, cache_len: int, **kw: Any) -> Any:
    """One decode step: one new token per sequence against a cache of ``cache_len``."""
    return count_step(model, tokens=1, cache_len=cache_len, **kw)


# -- pieces: polynomials over ranges of lengths ------------------------------------------

def fit_range(count: Callable[[int], Cost], lo: int, hi: int, what: str, every: bool = False,
              dim: str = "L") -> Piece:
    """A :class:`Piece` over ``lo .. hi``: the cost in one named size ``dim``, fitted by the
    machinery of :func:`flowflops.symbolic` (:func:`~flowflops.analysis.polyfit.fit_counts`,
    degree <= 2): a first guess of degree 1 through ``lo + 1`` and ``lo + 2``, checked at ``lo``
    and ``hi``; only where a check misses is the degree found (more counts from ``lo + 1`` on).
    A piece of four lengths or fewer is counted at every length; ``every``: every length of any
    piece (each one checks the fit)."""
    costs: Dict[int, Cost] = {}

    def sample(point: Tuple[int, ...]) -> Dict[str, int]:
        c = costs[point[0]] = count(point[0])
        return {"macs": c.macs, "flops": c.flops}

    from ..render.symbolic import domain_text

    fitter = Fitter(sample, (dim,), {dim: range(lo, hi + 1)}, 2, words=domain_text,
                    describe=lambda q: f"the {'MACs' if q == 'macs' else 'FLOPs'} of {what}",
                    pick=lambda qs: "macs" if "macs" in qs else qs[0],
                    advice="Count every length instead (exact_steps=True).")
    also = range(lo, hi + 1) if every else [hi]
    found = fit_counts(fitter, checks=1, also=[(x,) for x in also])
    return Piece(lo, hi, poly_of(found.terms["macs"]), poly_of(found.terms["flops"]),
                 {x: costs[x] for x in sorted(costs)})


def _breaks(attention: str, lo: int, hi: int, offset: int) -> List[Tuple[int, int]]:
    """Split ``lo .. hi`` where a window rule changes form: the key count ``x + offset`` reaches
    the window ``W`` (for decode steps ``offset`` is 1: ``L + 1`` keys)."""
    kind, w = parse_attention(attention)
    cut = w - offset  # first x with x + offset >= W
    if kind != "window" or not lo < cut <= hi:
        return [(lo, hi)]
    return [(lo, cut - 1), (cut, hi)]


# -- generation ---------------------------------------------------------------------------

class Generation(results.Generation):
    """A generation's cost (:class:`flowflops.analysis.llm.Generation`) and its printout."""

    def to_text(self, units: Optional[str] = None, precision: int = 2) -> str:
        from ..render.llm import generation_text

        return generation_text(self, units, precision)

    summary = to_text  # the name before to_text(), kept for one release

    def __str__(self) -> str:
        return self.to_text()


def generation(
    model: Any, prompt_len: int, new_tokens: int, batch: int = 1, *, mode: str = "graph",
    attention: str = "dense", experts: str = "all", input_constructor: Optional[InputConstructor] = None,
    exact_steps: bool = False,
) -> Generation:
    """The exact cost of a generation (see the module docstring): the prefill counted once,
    the decode steps counted at a few cache lengths and summed through their polynomial
    (``exact_steps=True``: every step counted)."""
    if isinstance(new_tokens, bool) or not isinstance(new_tokens, int) or new_tokens < 1:
        raise ValueError(f"new_tokens must be an int >= 1, got {new_tokens!r}")
    kw: Dict[str, Any] = dict(batch=batch, mode=mode, attention=attention, experts=experts,
                              input_constructor=input_constructor)
    pre = count_step(model, tokens=prompt_len, cache_len=0, **kw)
    pieces: List[Piece] = []
    lo, hi = prompt_len, prompt_len + new_tokens - 2
    if hi >= lo:
        step = lambda L: count_step(model, tokens=1, cache_len=L, **kw).cost  # noqa: E731
        for a, b in _breaks(attention, lo, hi, 1):
            pieces.append(fit_range(step, a, b, "the decode step's cost", every=exact_steps))
    return Generation(prompt_len, new_tokens, batch, pre.attention, mode, pre.cost, pieces, pre.params)


# -- sweeps -------------------------------------------------------------------------------

class Sweep(results.Sweep):
    """A sweep's counts and fits (:class:`flowflops.analysis.llm.Sweep`), its printout and chart."""

    def to_text(self, units: Optional[str] = None, precision: int = 2) -> str:
        from ..render.llm import sweep_text

        return sweep_text(self, units, precision)

    summary = to_text  # the name before to_text(), kept for one release

    def __str__(self) -> str:
        return self.to_text()

    def plot(self, path: str) -> None:
        from ..render.llm import sweep_plot

        sweep_plot(self, path)


def sweep(
    model: Any, seq_lens: Sequence[int], batch_sizes: Sequence[int] = (1,), *, mode: str = "graph",
    attention: str = "dense", experts: str = "all", input_constructor: Optional[InputConstructor] = None,
) -> Sweep:
    """Count a forward at every sequence length and batch size, and fit per batch size the
    polynomial in the length (degree <= 2: linear and quadratic terms, exact rationals) from
    three lengths, checked at the others. Lengths on both sides of a window's width are fitted
    as separate pieces."""
    seq_lens = sorted(set(int(t) for t in seq_lens))
    batch_sizes = sorted(set(int(b) for b in batch_sizes))
    if not seq_lens or not batch_sizes or min(seq_lens) < 1 or min(batch_sizes) < 1:
        raise ValueError("seq_lens and batch_sizes must be non-empty lists of positive ints")
    points: Dict[Tuple[int, int], Cost] = {}
    kind = "dense"
    params = 0
    for b in batch_sizes:
        for t in seq_lens:
            r = count_step(model, tokens=t, cache_len=0, batch=b, mode=mode, attention=attention,
                           experts=experts, input_constructor=input_constructor)
            points[(b, t)], kind, params = r.cost, r.attention, r.params
    fits: Dict[int, List[Piece]] = {}
    kind_, w = parse_attention(attention)
    for b in batch_sizes:
        groups = [seq_lens] if kind_ != "window" else [
            [t for t in seq_lens if t <= w], [t for t in seq_lens if t > w]]
        fits[b] = [_fit_points(points, b, g) for g in groups if g]
    return Sweep(seq_lens, batch_sizes, kind, mode, points, fits, params)


def _fit_points(points: Dict[Tuple[int, int], Cost], b: int, ts: List[int]) -> Piece:
    """A piece through the counted lengths ``ts`` (degree <= 2 from three of them: first,
    middle, last; checked at the rest)."""
    fit_ts = ts if len(ts) <= 3 else [ts[0], ts[len(ts) // 2], ts[-1]]
    return fit_piece({t: points[(b, t)] for t in ts}, fit_ts, ts[0], ts[-1],
                     f"the cost at batch {b} against the sequence length")
