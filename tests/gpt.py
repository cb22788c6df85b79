"""A GPT-style decoder block written with explicit matmuls (test model)."""
import math

import oneflow as flow
import oneflow.nn as nn


class GPTBlock(nn.Module):
    """Embeddings, one pre-LN causal self-attention block, an MLP with GELU, a final LayerNorm
    and a language-model head without bias."""

    def __init__(self, vocab: int = 100, d: int = 32, heads: int = 4, seq: int = 16):
        super().__init__()
        self.d, self.heads = d, heads
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(seq, d)
        self.ln1, self.ln2, self.lnf = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.act, self.fc2 = nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d)
        self.head = nn.Linear(d, vocab, bias=False)
        causal = flow.tril(flow.ones(seq, seq))
        self.register_buffer("mask", ((1.0 - causal) * -1e9).reshape(1, 1, seq, seq))

    def forward(self, idx):
        B, T = idx.shape
        H, dh = self.heads, self.d // self.heads
        x = self.wte(idx) + self.wpe(flow.arange(T, device=idx.device))
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=2)
        q = q.reshape(B, T, H, dh).transpose(1, 2)
        k = k.reshape(B, T, H, dh).transpose(1, 2)
        v = v.reshape(B, T, H, dh).transpose(1, 2)
        att = flow.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(dh))
        att = (att + self.mask[:, :, :T, :T]).softmax(dim=-1)
        y = flow.matmul(att, v).transpose(1, 2).reshape(B, T, self.d)
        x = x + self.proj(y)
        x = x + self.fc2(self.act(self.fc1(self.ln2(x))))
        return self.head(self.lnf(x))
