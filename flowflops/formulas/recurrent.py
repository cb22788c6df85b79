"""Recurrent cells. Eager hooks emit one record per layer and direction, with
``inputs = ((batch, input_size), (batch, hidden_size))`` and ``attrs = {"steps": T, "bias": bool}``;
the cost is ``steps`` times the cost of one step, counted as the ops OneFlow runs for it.

One step of a cell with G gates (RNN 1, GRU 3, LSTM 4), batch B, input I, hidden H:
- the two gate matmuls ``x @ W_ih^T`` and ``h @ W_hh^T``: ``B*G*H*(I + H)`` MACs;
- the two biases, when present: ``2*B*G*H`` adds;
- the elementwise work per hidden unit and batch row:
  RNN 2: the sum of the two products, the activation;
  LSTM 13: four gate sums, three sigmoids, two tanh, ``f*c + i*g`` (3), ``o * tanh(c)`` (1);
  GRU 10: the r and z gate sums (2), two sigmoids, ``n = tanh(x_n + r * h_n)`` (3),
  ``h' = n + z * (h - n)`` (3).
An LSTM with ``attrs["proj_size"] = P`` (> 0) carries a projected state ``h = W_hr @ h_full``
of size P: its recurrent matmul is ``B*G*H*P`` instead of ``B*G*H*H``, and the projection
adds ``B*P*H`` MACs per step.
Matmul work costs 2 FLOPs per MAC; everything else 1.
"""
from __future__ import annotations

from ..records import Cost, OpRecord, elementwise, mac
from ..registry import register

__all__ = ["GATES", "CELL_ELEMENTWISE", "recurrent_cell"]

GATES = {"rnn_tanh_cell": 1, "rnn_relu_cell": 1, "gru_cell": 3, "lstm_cell": 4}
CELL_ELEMENTWISE = {"rnn_tanh_cell": 2, "rnn_relu_cell": 2, "gru_cell": 10, "lstm_cell": 13}


@register(*GATES)
def recurrent_cell(rec: OpRecord) -> Cost:
    """Cost of ``attrs["steps"]`` steps of the cell (see the module docstring)."""
    (batch, input_size), (_, hidden) = rec.inputs[0], rec.inputs[1]
    gates = GATES[rec.op_type]
    proj = int(rec.attrs.get("proj_size", 0) or 0)
    matmuls = mac(batch * gates * hidden * (input_size + (proj or hidden)) + batch * proj * hidden)
    bias = 2 * batch * gates * hidden if rec.attrs.get("bias", True) else 0
    cell = batch * hidden * CELL_ELEMENTWISE[rec.op_type]
    return (matmuls + elementwise(bias + cell)) * int(rec.attrs.get("steps", 1))
