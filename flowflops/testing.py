"""Cost assertions for a project's own tests (pytest or any runner)::

    from flowflops.testing import assert_cost

    def test_backbone_cost():
        # 2 x 64*56*56 outputs x 64*3*3 ... derived by hand, or the number your paper reports
        assert_cost(MyNet(), (1, 3, 224, 224), macs=1_822_177_768, params=11_689_512, rel=0.005)

It counts ``model`` with :func:`flowflops.profile` (keyword arguments passed on: ``mode``,
``convention``, ``backend_specific_config``...) and raises ``AssertionError`` naming every
number that is off by more than ``rel`` (a fraction of the expected value; 0: exact), with the
counted and expected values and the difference. Returns the report, for further checks.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

__all__ = ["assert_cost"]


def assert_cost(model: Any, input_res: Optional[Sequence[int]] = None, *, macs: Optional[int] = None,
                params: Optional[int] = None, flops: Optional[int] = None, bytes: Optional[int] = None,
                rel: float = 0.0, **profile_kwargs: Any) -> Any:
    """Count ``model`` on ``input_res`` (batch included) and check the given totals: ``macs``,
    ``params`` (all parameters), ``flops``, ``bytes`` (moved, read + written), each within
    ``rel`` of the expected value. A :class:`flowflops.Report` may be passed instead of a model
    (``input_res`` then unused)."""
    from .api import profile
    from .report import Aggregate

    if not isinstance(rel, (int, float)) or rel < 0:
        raise ValueError(f"rel must be a fraction >= 0 (0.005 = 0.5%), got {rel!r}")
    expected = {"macs": macs, "params": params, "flops": flops, "bytes": bytes}
    if all(v is None for v in expected.values()):
        raise ValueError("give at least one of macs=, params=, flops=, bytes= to check")
    report = model if isinstance(model, Aggregate) else profile(model, input_res, **profile_kwargs)
    problems: List[str] = []
    for name, want in expected.items():
        if want is None:
            continue
        got = int(getattr(report, name))
        if abs(got - want) > rel * abs(want):
            diff = f"{(got - want) / want:+.3%}" if want else f"{got - want:+,}"
            problems.append(f"{name}: counted {got:,}, expected {want:,} ({diff}, allowed ±{rel:.3%})")
    if problems:
        raise AssertionError(f"{type(model).__name__} on {input_res}: " + "; ".join(problems)
                             + f" [{report.mode} count, {report.convention} convention]")
    return report
