"""Recurrent cells. Eager hooks emit one record per layer and direction, with
``inputs = ((batch, input_size), (batch, hidden_size))`` and ``attrs = {"steps": T, "bias": bool}``;
the cost is ``steps`` times the cost of one step.

One step of a cell with G gates (RNN 1, GRU 3, LSTM 4), batch B, input I, hidden H:
- the two gate matmuls ``x @ W_ih^T`` and ``h @ W_hh^T``: ``B*G*H*(I + H)`` MACs;
- adding the two products: ``B*G*H``; the two biases, when present: ``2*B*G*H``;
- the cell's own elementwise work, per hidden unit and batch row:
  RNN: 1 (the activation);
  GRU: 2 sigmoids, ``r * (W_hn h + b_hn)``, the add into n, tanh, ``1 - z``, two products
  and their sum: 9;
  LSTM: 3 sigmoids and 1 tanh on the gates, ``f*c + i*g`` (3), tanh(c), ``o * tanh(c)``: 9.
Matmul work costs 2 FLOPs per MAC; everything else 1.
"""
from __future__ import annotations

from ..records import Cost, OpRecord, elementwise, mac
from ..registry import register

GATES = {"rnn_tanh_cell": 1, "rnn_relu_cell": 1, "gru_cell": 3, "lstm_cell": 4}
CELL_ELEMENTWISE = {"rnn_tanh_cell": 1, "rnn_relu_cell": 1, "gru_cell": 9, "lstm_cell": 9}


@register(*GATES)
def recurrent_cell(rec: OpRecord) -> Cost:
    """Cost of ``attrs["steps"]`` steps of the cell (see the module docstring)."""
    (batch, input_size), (_, hidden) = rec.inputs[0], rec.inputs[1]
    gates = GATES[rec.op_type]
    matmuls = mac(batch * gates * hidden * (input_size + hidden))
    adds = batch * gates * hidden * (3 if rec.attrs.get("bias", True) else 1)
    cell = batch * hidden * CELL_ELEMENTWISE[rec.op_type]
    return (matmuls + elementwise(adds + cell)) * int(rec.attrs.get("steps", 1))
