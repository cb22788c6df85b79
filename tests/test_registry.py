"""Registry policy (built-ins first, duplicates refused unless override=True) and formula errors
that name the op, the module and the shapes."""
import oneflow.nn as nn
import pytest

import flowflops
from flowflops import Cost, FormulaError, OpRecord, register
from flowflops import registry
from flowflops.records import elementwise


@pytest.fixture
def restore_registry():
    saved = dict(registry._FORMULAS)
    yield
    registry._FORMULAS.clear()
    registry._FORMULAS.update(saved)


def test_builtins_are_loaded_on_import():
    # relu is a built-in: it has a formula before any count ran
    assert registry.lookup("relu") is not None
    assert "conv2d" in registry.known_op_types()


def test_duplicate_registration_raises(restore_registry):
    with pytest.raises(ValueError, match="'relu' already has a formula.*override=True"):
        register("relu")(lambda rec: Cost(1, 1))


def test_override_replaces_a_builtin_for_later_counts(restore_registry):
    @register("relu", override=True)
    def seven(rec: OpRecord) -> Cost:
        return Cost(7, 7)

    # nn.ReLU on (1, 4) is one relu record: 7 MACs by the user's formula (the built-in gives 4)
    assert flowflops.profile(nn.ReLU(), (1, 4)).macs == 7


def test_new_op_type_registers(restore_registry):
    @register("my_swish")
    def my_swish(rec: OpRecord) -> Cost:
        return elementwise(3)

    assert registry.price(OpRecord("my_swish", "m")) == Cost(3, 3)


def test_a_formula_that_raises_names_op_module_and_shapes(restore_registry):
    @register("relu", override=True)
    def broken(rec: OpRecord) -> Cost:
        return Cost(rec.inputs[5][0], 0)  # IndexError

    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    for mode in ("eager", "graph"):
        with pytest.raises(FormulaError) as info:
            flowflops.profile(model, (2, 4), mode=mode)
        msg = str(info.value)
        assert "'relu'" in msg and "module '1'" in msg and "(2, 4)" in msg and "IndexError" in msg
        assert "broken" in msg
        assert isinstance(info.value.__cause__, IndexError)


def test_a_formula_must_return_a_cost(restore_registry):
    register("relu", override=True)(lambda rec: 12)
    with pytest.raises(FormulaError, match="returned 12 .*not a flowflops.Cost"):
        flowflops.profile(nn.ReLU(), (1, 4))


def test_unreadable_functional_call_is_listed_not_dropped():
    class Odd(nn.Module):
        def forward(self, x):
            return x.add(x)

    # an emitter that cannot read the call (simulated): the call is listed, the forward runs
    # (x.add is a Python method over flow._C.add, the patched primitive)
    import oneflow as flow

    from flowflops.eager import functional_table

    targets = functional_table.patch_targets()
    broken = [(o, n, (lambda args, kwargs, out: 1 / 0) if (o, n) == (flow._C, "add") else e)
              for o, n, e in targets]
    saved = list(functional_table._TARGETS)
    functional_table._TARGETS[:] = broken
    try:
        r = flowflops.profile(Odd(), (1, 4), backend_specific_config={"count_functional": True})
    finally:
        functional_table._TARGETS[:] = saved
    assert r.unsupported == {"call:add": 1}
