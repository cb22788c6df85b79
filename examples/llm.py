"""A language model's generation cost: the reference decoder (a small LLaMA-shaped one, so the
example runs in seconds), counted in graph mode without running it.

For GPT-2-medium or LLaMA-2-70B use ``Decoder(gpt2_medium(lazy=True))`` or
``Decoder(llama2_70b(lazy=True))``: lazy parameters sit on untouched zero pages, so the 70B
shape counts in about 1 GB of memory (see benchmarks/RESULTS.md)."""
import flowflops
from flowflops import llm
from flowflops.models import Decoder, DecoderConfig

model = Decoder(DecoderConfig(vocab=1000, layers=4, hidden=256, heads=8, kv_heads=2, ffn=688,
                              max_positions=2048))

# one decode step against a cache of 1000 positions, dense and as a causal kernel does it
for attention in ("dense", "causal"):
    r = llm.decode_step(model, 1000, attention=attention)
    print(f"decode step at L=1000 ({attention}): {flowflops.flops_to_string(r.macs)}")

# prefill of 512 tokens: a causal kernel computes half the scores (plus the diagonal)
r = llm.count_step(model, tokens=512, attention="causal")
print(f"prefill 512 (causal): {flowflops.flops_to_string(r.macs)}, "
      f"dense upper bound {flowflops.flops_to_string(r.upper_bounds['dense'].macs)}")

# a whole generation: prompt 512, 512 new tokens, from 5 counted forwards
print(llm.generation(model, 512, 512, attention="causal").summary())

# cost against sequence length: the exact polynomial
print(llm.sweep(model, [128, 256, 512, 1024]).summary())
