"""Per-rank cost of a global model: a transformer MLP block, data parallel and tensor parallel.

Run it on two CPU processes::

    python -m oneflow.distributed.launch --nproc_per_node 2 examples/distributed.py

Every rank counts (graph mode compiles the job on all ranks); rank 0 prints. The logical total is
the block on one device; the table says what each rank computes and how many bytes it sends and
receives in one forward call:

* data parallel: the batch is split ``S(0)``, the weights broadcast: each rank does half, and
  nothing moves until the output is gathered;
* tensor parallel (Megatron style): the first Linear's weight is split on its output dimension,
  the second's on its input dimension, so the second matmul ends in partial sums that an
  all-reduce makes whole; the second bias is added to the partial sums on both ranks.
"""
import oneflow as flow
import oneflow.nn as nn

import flowflops

TOKENS, WIDTH, HIDDEN = 64, 512, 2048
BOTH = flow.placement("cpu", ranks=[0, 1])
B, S0, S1 = flow.sbp.broadcast, flow.sbp.split(0), flow.sbp.split(1)


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(WIDTH, HIDDEN)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(HIDDEN, WIDTH)

    def forward(self, x: flow.Tensor) -> flow.Tensor:
        y = self.fc2(self.act(self.fc1(x)))
        return y.to_global(sbp=B) if y.is_global else y


def split(p: nn.Parameter, sbp: flow.sbp.sbp) -> nn.Parameter:
    """A global parameter of the same logical shape: broadcast, then cut."""
    return nn.Parameter(p.to_global(BOTH, B).to_global(BOTH, sbp))


def data_parallel() -> MLP:
    return MLP().to_global(BOTH, B)


def tensor_parallel() -> MLP:
    m = MLP()
    m.fc1.weight, m.fc1.bias = split(m.fc1.weight, S0), split(m.fc1.bias, S0)  # output dim
    m.fc2.weight, m.fc2.bias = split(m.fc2.weight, S1), split(m.fc2.bias, B)  # input dim
    return m


if __name__ == "__main__":
    rank = flow.env.get_rank()
    local = flowflops.profile(MLP(), (TOKENS, WIDTH), mode="graph")
    for name, model, sbp in (("data parallel", data_parallel(), S0), ("tensor parallel", tensor_parallel(), B)):
        report = flowflops.profile(
            model, input_constructor=lambda _: flow.ones(TOKENS, WIDTH, placement=BOTH, sbp=sbp),
            mode="graph",
        )
        if rank == 0:
            print(f"{name}: logical {report.macs:,} MACs (one device: {local.macs:,})")
            print(report.rank_table())
