"""Number formatting, as ptflops formats it (same units, same rounding), and thop's
``clever_format``."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

__all__ = [
    "flops_to_string", "real_flops_to_string", "params_to_string", "bytes_to_string", "seconds_to_string",
    "clever_format"
]

_MAC_UNITS = (("GMac", 10 ** 9), ("MMac", 10 ** 6), ("KMac", 10 ** 3))
_FLOP_UNITS = (("TFLOPs", 10 ** 12), ("GFLOPs", 10 ** 9), ("MFLOPs", 10 ** 6), ("KFLOPs", 10 ** 3))
_PARAM_UNITS = (("B", 10 ** 9), ("M", 10 ** 6), ("K", 10 ** 3))


def _scaled(value: float, scale: int, precision: int) -> str:
    return str(round(value / float(scale), precision))


def flops_to_string(flops: float, units: Optional[str] = None, precision: int = 2) -> str:
    """MACs as ptflops 0.7.5 prints them: ``4121925096 -> "4.12 GMac"``.

    With ``units=None`` the largest of GMac/MMac/KMac that the number reaches is used, else
    ``"<n> Mac"``. ``units`` in ``("GMac", "MMac", "KMac")`` fixes the unit; any other value
    (``"Mac"``, ``"TMac"``, ...) gives the plain number with ``" Mac"``, as ptflops does.
    """
    if units is None:
        for name, scale in _MAC_UNITS:
            if flops // scale > 0:
                return f"{_scaled(flops, scale, precision)} {name}"
        return f"{flops} Mac"
    fixed = dict(_MAC_UNITS).get(units)
    if fixed is None:
        return f"{flops} Mac"
    return f"{_scaled(flops, fixed, precision)} {units}"


def real_flops_to_string(flops: float, units: Optional[str] = None, precision: int = 2) -> str:
    """FLOPs (2 per MAC) in the same style: ``"8.24 GFLOPs"``."""
    table = dict(_FLOP_UNITS)
    if units is None:
        for name, scale in _FLOP_UNITS:
            if flops // scale > 0:
                return f"{_scaled(flops, scale, precision)} {name}"
        return f"{flops} FLOPs"
    if units == "FLOPs":
        return f"{flops} FLOPs"
    if units not in table:
        raise ValueError(f"unknown FLOP unit {units!r}: use one of {', '.join(table)}, FLOPs")
    return f"{_scaled(flops, table[units], precision)} {units}"


def params_to_string(params_num: float, units: Optional[str] = None, precision: int = 2) -> str:
    """Parameters as ptflops 0.7.5 prints them: ``25557032 -> "25.56 M"``, ``22784 -> "22.78 k"``.

    With ``units=None``: ``M`` from a million, lowercase ``k`` from a thousand (ptflops' choice),
    else the bare number. ``units`` in ``("M", "K", "B")`` fixes the unit (``B``: billions);
    any other value gives the bare number, as ptflops does.
    """
    if units is None:
        if params_num // 10 ** 6 > 0:
            return f"{_scaled(params_num, 10 ** 6, precision)} M"
        if params_num // 10 ** 3 > 0:
            return f"{_scaled(params_num, 10 ** 3, precision)} k"
        return str(params_num)
    scale = dict(_PARAM_UNITS).get(units)
    if scale is None:
        return str(params_num)
    return f"{_scaled(params_num, scale, precision)} {units}"


_BYTE_UNITS = (("GB", 10 ** 9), ("MB", 10 ** 6), ("KB", 10 ** 3))
_TIME_UNITS = (("s", 1.0), ("ms", 1e-3), ("us", 1e-6))


def bytes_to_string(n: float, precision: int = 2) -> str:
    """Bytes in decimal units, the one byte unit of every output (tables, HTML, plots):
    ``25557032 -> "25.56 MB"``, ``512 -> "512 B"``."""
    for name, scale in _BYTE_UNITS:
        if n >= scale:
            return f"{_scaled(n, scale, precision)} {name}"
    return f"{int(n)} B"


def seconds_to_string(t: float, precision: int = 2) -> str:
    """A duration: ``0.0123 -> "12.3 ms"``; below a microsecond in ns."""
    for name, scale in _TIME_UNITS:
        if t >= scale:
            return f"{round(t / scale, precision)} {name}"
    return f"{round(t * 1e9, precision)} ns"


def clever_format(nums: Any, format: str = "%.2f") -> Any:
    """thop 0.1.1's formatting: ``clever_format(1) -> "1.00B"``,
    ``clever_format([4.1e9, 2.5e7]) -> ("4.10G", "25.00M")``: ``T``/``G``/``M``/``K`` above
    1e12/1e9/1e6/1e3 (strictly), else ``B``. One number gives a string, several a tuple."""
    items = list(nums) if isinstance(nums, Iterable) else [nums]
    out = []
    for num in items:
        for suffix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
            if num > scale:
                out.append(format % (num / scale) + suffix)
                break
        else:
            out.append(format % num + "B")
    return out[0] if len(out) == 1 else tuple(out)
