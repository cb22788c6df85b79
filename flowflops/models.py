"""A reference decoder-only language model in plain OneFlow (GPT-2 and LLaMA shapes), used by
the tests, the examples and the benchmarks of :mod:`flowflops.llm`.

:class:`Decoder` covers both families through :class:`DecoderConfig`: LayerNorm or RMSNorm
(written from primitives: OneFlow 0.9 has no CPU ``rms_norm`` kernel), learned or rotary
positions, grouped-query attention (``kv_heads < heads``), a GELU or SwiGLU MLP, optionally a
mixture of experts, and a KV cache in and out::

    logits = model(idx)                                         # (B, T, vocab)
    logits, present = model(idx, use_cache=True)                # present: one (k, v) per layer
    logits, present = model(next_idx, past=present, use_cache=True)  # a decode step
    logits = model(next_idx, past=present)                      # the same, logits only

``k`` and ``v`` are ``(B, kv_heads, L, head_dim)``; the new tokens sit at positions
``L .. L + T - 1``. (A graph-mode count allocates every output of the forward, twice: OneFlow
keeps a buffer of two; so counts leave ``use_cache`` off, and the cache is never copied.)
Attention is causal (an additive ``triu`` mask built in the forward, so a
compiled job shows it); a single new token needs no mask.

``DecoderConfig(lazy=True)`` builds every parameter and cache on zero pages that the process
never touches (``numpy.zeros`` shared through ``flow.from_numpy``, no initialisation), so a
model far larger than memory can be built and counted in graph mode (which never runs it).
Such a model must not be run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import oneflow as flow
import oneflow.nn as nn

__all__ = [
    "Cache", "DecoderConfig", "gpt2_medium", "llama2_70b", "Linear", "Embedding", "RMSNorm", "Rotary", "Attention",
    "MLP", "MoE", "Block", "Decoder"
]

Cache = Tuple[Tuple[flow.Tensor, flow.Tensor], ...]


@dataclass(frozen=True)
class DecoderConfig:
    """Shape of a :class:`Decoder`. ``ffn`` is the MLP's inner width (SwiGLU: each of its gate
    and up projections); ``experts > 0`` replaces each MLP by ``experts`` copies and a router
    choosing ``top_k`` of them per token (computed densely, see :class:`MoE`)."""

    vocab: int = 256
    layers: int = 2
    hidden: int = 64
    heads: int = 4
    kv_heads: Optional[int] = None
    ffn: int = 256
    norm: str = "rms"          # "rms" | "layer"
    positions: str = "rotary"  # "rotary" | "learned"
    mlp: str = "swiglu"        # "swiglu" | "gelu"
    bias: bool = False         # biases on the attention and MLP projections
    max_positions: int = 4096
    experts: int = 0
    top_k: int = 2
    eps: float = 1e-5
    lazy: bool = False

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def n_kv(self) -> int:
        return self.kv_heads or self.heads

    def validate(self) -> "DecoderConfig":
        if self.hidden % self.heads or self.heads % self.n_kv:
            raise ValueError(f"hidden ({self.hidden}) must divide by heads ({self.heads}) and heads by "
                             f"kv_heads ({self.n_kv})")
        if self.norm not in ("rms", "layer") or self.positions not in ("rotary", "learned") \
                or self.mlp not in ("swiglu", "gelu"):
            raise ValueError("norm must be 'rms'|'layer', positions 'rotary'|'learned', mlp 'swiglu'|'gelu'")
        if self.experts and not 0 < self.top_k <= self.experts:
            raise ValueError(f"top_k must be in 1..experts ({self.experts}), got {self.top_k}")
        return self


def gpt2_medium(**kw: Any) -> DecoderConfig:
    """GPT-2 medium: 24 layers, width 1024, 16 heads, vocabulary 50257, 1024 learned positions,
    LayerNorm, GELU MLP of 4096, biases (the LM head has none and is not tied here)."""
    base = dict(vocab=50257, layers=24, hidden=1024, heads=16, ffn=4096, norm="layer",
                positions="learned", mlp="gelu", bias=True, max_positions=1024)
    return DecoderConfig(**{**base, **kw})


def llama2_70b(**kw: Any) -> DecoderConfig:
    """LLaMA-2-70B's shape: 80 layers, hidden 8192, 64 query and 8 key/value heads, SwiGLU of
    28672, RMSNorm, rotary positions, vocabulary 32000, no biases, untied head."""
    base = dict(vocab=32000, layers=80, hidden=8192, heads=64, kv_heads=8, ffn=28672,
                norm="rms", positions="rotary", mlp="swiglu", max_positions=4096)
    return DecoderConfig(**{**base, **kw})


# -- parameters ----------------------------------------------------------------------------

def _tensor(shape: Sequence[int], lazy: bool, fill: str = "normal") -> flow.Tensor:
    """A float32 tensor: on untouched zero pages (``lazy``), or initialised (``normal``:
    N(0, 0.02), ``ones``, ``zeros``)."""
    if lazy:
        return flow.from_numpy(np.zeros(tuple(shape), np.float32))
    if fill == "ones":
        return flow.ones(*shape)
    if fill == "zeros":
        return flow.zeros(*shape)
    return flow.randn(*shape) * 0.02


def _param(shape: Sequence[int], lazy: bool, fill: str = "normal") -> nn.Parameter:
    return nn.Parameter(_tensor(shape, lazy, fill))


class Linear(nn.Linear):
    """``nn.Linear`` (same forward, so counted as one) whose weight may be lazy."""

    def __init__(self, i: int, o: int, bias: bool, lazy: bool) -> None:
        nn.Module.__init__(self)
        self.in_features, self.out_features, self.use_fused_matmul_bias = i, o, False
        self.weight = _param((o, i), lazy)
        self.bias = _param((o,), lazy, "zeros") if bias else None


class Embedding(nn.Embedding):
    """``nn.Embedding`` (a lookup, no arithmetic) whose table may be lazy."""

    def __init__(self, n: int, d: int, lazy: bool) -> None:
        nn.Module.__init__(self)
        self.num_embeddings, self.embedding_dim = n, d
        self.padding_idx, self.max_norm, self.norm_type = None, None, 2.0
        self.scale_grad_by_freq, self.sparse = False, False
        self.weight = _param((n, d), lazy)


class RMSNorm(nn.Module):
    """``x * rsqrt(mean(x * x) + eps) * weight``, from primitives. Per row of ``d``: ``x * x``,
    the mean's sum (``d`` each), ``x * r`` and ``* weight`` (``d`` each): 4d; the mean's
    scale, ``+ eps`` and ``rsqrt``: 3 per row."""

    def __init__(self, d: int, eps: float, lazy: bool) -> None:
        super().__init__()
        self.eps = eps
        self.weight = _param((d,), lazy, "ones")

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        r = flow.rsqrt((x * x).mean(dim=-1, keepdim=True) + self.eps)
        return x * r * self.weight


def _norm(cfg: DecoderConfig) -> nn.Module:
    if cfg.norm == "rms":
        return RMSNorm(cfg.hidden, cfg.eps, cfg.lazy)
    return nn.LayerNorm(cfg.hidden, eps=cfg.eps)


class Rotary(nn.Module):
    """Rotary position embedding: ``x * cos + swap(x) * sin_signed`` with ``swap`` exchanging
    the two halves of the head dimension (a concat, no arithmetic) and the sign folded into
    the table, so 3 ops per element of ``x``. The tables are buffers, sliced per position."""

    def __init__(self, head_dim: int, max_positions: int) -> None:
        super().__init__()
        half = head_dim // 2
        inv = 1.0 / (10000.0 ** (np.arange(half, dtype=np.float64) / half))
        ang = np.arange(max_positions, dtype=np.float64)[:, None] * inv[None, :]
        cos, sin = np.cos(ang), np.sin(ang)
        self.register_buffer("cos", flow.tensor(np.concatenate([cos, cos], 1), dtype=flow.float32),
                             persistent=False)
        self.register_buffer("sin", flow.tensor(np.concatenate([-sin, sin], 1), dtype=flow.float32),
                             persistent=False)

    def forward(self, x: flow.Tensor, start: int) -> flow.Tensor:
        T, half = x.shape[2], x.shape[3] // 2
        cos, sin = self.cos[start:start + T], self.sin[start:start + T]
        swapped = flow.cat([x[..., half:], x[..., :half]], dim=-1)
        return x * cos + swapped * sin


class Attention(nn.Module):
    """Causal self-attention with grouped-query heads and a KV cache."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        dh, lz = cfg.head_dim, cfg.lazy
        self.q = Linear(cfg.hidden, cfg.heads * dh, cfg.bias, lz)
        self.k = Linear(cfg.hidden, cfg.n_kv * dh, cfg.bias, lz)
        self.v = Linear(cfg.hidden, cfg.n_kv * dh, cfg.bias, lz)
        self.o = Linear(cfg.heads * dh, cfg.hidden, cfg.bias, lz)
        self.rotary = Rotary(dh, cfg.max_positions) if cfg.positions == "rotary" else None

    def forward(self, x: flow.Tensor, past: Optional[Tuple[flow.Tensor, flow.Tensor]]
                ) -> Tuple[flow.Tensor, Tuple[flow.Tensor, flow.Tensor]]:
        B, T, _ = x.shape
        H, G, dh = self.cfg.heads, self.cfg.n_kv, self.cfg.head_dim
        start = 0 if past is None else past[0].shape[2]
        q = self.q(x).reshape(B, T, H, dh).transpose(1, 2)
        k = self.k(x).reshape(B, T, G, dh).transpose(1, 2)
        v = self.v(x).reshape(B, T, G, dh).transpose(1, 2)
        if self.rotary is not None:
            q, k = self.rotary(q, start), self.rotary(k, start)
        if past is not None:
            k, v = flow.cat([past[0], k], dim=2), flow.cat([past[1], v], dim=2)
        present = (k, v)
        S = k.shape[2]
        if G != H:  # each key/value head serves H / G query heads
            k = k.unsqueeze(2).expand(B, G, H // G, S, dh).reshape(B, H, S, dh)
            v = v.unsqueeze(2).expand(B, G, H // G, S, dh).reshape(B, H, S, dh)
        att = flow.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(dh))
        if T > 1:  # query i sits at position start + i and sees keys 0 .. start + i
            mask = flow.triu(flow._C.constant((T, S), float("-inf"), dtype=att.dtype, device=att.device),
                             diagonal=start + 1)
            att = att + mask
        y = flow.matmul(att.softmax(dim=-1), v)
        return self.o(y.transpose(1, 2).reshape(B, T, H * dh)), present


class MLP(nn.Module):
    """GELU: ``down(gelu(up(x)))``; SwiGLU: ``down(silu(gate(x)) * up(x))``."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        d, f, b, lz = cfg.hidden, cfg.ffn, cfg.bias, cfg.lazy
        self.swiglu = cfg.mlp == "swiglu"
        self.up, self.down = Linear(d, f, b, lz), Linear(f, d, b, lz)
        self.gate = Linear(d, f, b, lz) if self.swiglu else None
        self.act = nn.SiLU() if self.swiglu else nn.GELU()

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        if self.gate is not None:
            return self.down(self.act(self.gate(x)) * self.up(x))
        return self.down(self.act(self.up(x)))


class MoE(nn.Module):
    """A mixture of ``experts`` MLPs with a router picking ``top_k`` per token, computed densely
    (every expert on every token, weighted by the router's gates, zero for the experts not
    chosen) so that it compiles to a static graph. A sparse kernel runs each token through its
    ``top_k`` experts only: see ``flowflops.llm.active_experts``, which counts that."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        self.top_k = cfg.top_k
        self.router = Linear(cfg.hidden, cfg.experts, False, cfg.lazy)
        self.experts = nn.ModuleList([MLP(cfg) for _ in range(cfg.experts)])

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        probs = self.router(x).softmax(dim=-1)                        # (B, T, E)
        kth = flow.topk(probs, self.top_k, dim=-1)[0][..., -1:]     # the k-th largest gate
        gates = probs * (probs >= kth).to(probs.dtype)  # the top_k gates, 0 elsewhere
        out = None
        for e, expert in enumerate(self.experts):
            y = expert(x) * gates[..., e:e + 1]
            out = y if out is None else out + y
        return out


class Block(nn.Module):
    """Pre-norm decoder block: ``x + attn(norm(x))``, then ``x + mlp(norm(x))``."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        self.attn_norm, self.attn = _norm(cfg), Attention(cfg)
        self.mlp_norm = _norm(cfg)
        self.mlp = MoE(cfg) if cfg.experts else MLP(cfg)

    def forward(self, x: flow.Tensor, past: Any) -> Tuple[flow.Tensor, Any]:
        a, present = self.attn(self.attn_norm(x), past)
        x = x + a
        return x + self.mlp(self.mlp_norm(x)), present


class Decoder(nn.Module):
    """The reference decoder (see the module docstring)."""

    def __init__(self, cfg: Optional[DecoderConfig] = None, **kw: Any) -> None:
        super().__init__()
        cfg = replace(cfg or DecoderConfig(), **kw).validate()
        self.config = cfg
        self.embed = Embedding(cfg.vocab, cfg.hidden, cfg.lazy)
        self.pos = Embedding(cfg.max_positions, cfg.hidden, cfg.lazy) if cfg.positions == "learned" else None
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.layers)])
        self.norm = _norm(cfg)
        self.head = Linear(cfg.hidden, cfg.vocab, False, cfg.lazy)

    def empty_cache(self, batch: int, length: int) -> Cache:
        """A cache of ``length`` positions: one ``(k, v)`` of ``(batch, kv_heads, length,
        head_dim)`` per layer (zeros; untouched zero pages when the config is lazy)."""
        c = self.config
        shape = (batch, c.n_kv, length, c.head_dim)
        return tuple((_tensor(shape, c.lazy, "zeros"), _tensor(shape, c.lazy, "zeros"))
                     for _ in range(c.layers))

    def forward(self, idx: flow.Tensor, past: Optional[Cache] = None, use_cache: bool = False) -> Any:
        T = idx.shape[1]
        start = 0 if past is None else past[0][0].shape[2]
        x = self.embed(idx)
        if self.pos is not None:
            x = x + self.pos(flow.arange(start, start + T, device=idx.device))
        presents: List[Any] = []
        for i, block in enumerate(self.blocks):
            x, present = block(x, None if past is None else past[i])
            presents.append(present)
        logits = self.head(self.norm(x))
        if not use_cache:
            return logits
        return logits, tuple(presents)
