"""Hardware profiles: peak FLOP/s per dtype, memory bandwidth and memory size of named devices,
plus the local CPU measured by a short micro-benchmark.

Every GPU figure is the dense (no structured sparsity) peak printed in the vendor's datasheet
or architecture whitepaper named in its ``source``; FLOP/s count a multiply-accumulate as 2.
``fp32`` is the plain (non-tensor-core) FP32 rate; ``tf32``, ``fp16``, ``bf16``, ``fp8`` and
``int8`` are tensor-core rates (fp16/bf16 with FP32 accumulation on consumer cards).
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, Optional

__all__ = [
    "T", "GB", "Device", "DTYPE_ALIASES", "DTYPE_BYTES", "DEVICES", "ALIASES", "device_names", "check_device",
    "get_device", "best_time", "cpu_matmul_flops", "cpu_copy_bandwidth", "measure_cpu"
]

T = 1e12
GB = 1e9


@dataclass(frozen=True)
class Device:
    """One device: ``peak_flops`` dtype -> FLOP/s; ``bandwidth`` in bytes/s of its main memory;
    ``memory`` in bytes; ``efficiency`` op family -> fraction of the roofline rate reached
    (empty: peak rates; filled by :func:`flowflops.calibrate`); ``overhead`` seconds per op
    (launch cost, from a calibration); ``source`` where the figures come from."""

    name: str
    peak_flops: Dict[str, float]
    bandwidth: float
    memory: float
    source: str
    measured: bool = False
    kind: str = "cuda"
    efficiency: Dict[str, float] = field(default_factory=dict)
    overhead: float = 0.0

    def peak(self, dtype: str) -> float:
        """Peak FLOP/s for ``dtype``; a clear error listing the dtypes the device has."""
        dtype = DTYPE_ALIASES.get(dtype, dtype)
        if dtype not in self.peak_flops:
            raise ValueError(f"{self.name} has no {dtype!r} rate: known dtypes are {sorted(self.peak_flops)}")
        return self.peak_flops[dtype]

    def calibrated(self, efficiency: Dict[str, float], overhead: float = 0.0) -> "Device":
        """A copy that predicts with the given per-family efficiencies and per-op overhead."""
        return replace(self, efficiency=dict(efficiency), overhead=float(overhead))


DTYPE_ALIASES = {"float32": "fp32", "float": "fp32", "float16": "fp16", "half": "fp16",
                 "bfloat16": "bf16", "float64": "fp64", "double": "fp64"}
#: Bytes per element of each dtype name the profiles use.
DTYPE_BYTES = {"fp64": 8, "fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "fp8": 1, "int8": 1}

_V100 = "NVIDIA Tesla V100 datasheet (SXM2), nvidia.com, 2020: 7.8 FP64, 15.7 FP32, 125 tensor TFLOPS; 900 GB/s HBM2"
_A100 = ("NVIDIA A100 Tensor Core GPU datasheet (SXM), nvidia.com, 2021: 9.7 FP64, 19.5 FP32, 156 TF32, "
         "312 BF16/FP16, 624 INT8 TOPS (dense); 40GB HBM2 1,555 GB/s; 80GB HBM2e 2,039 GB/s")
_H100 = ("NVIDIA H100 Tensor Core GPU datasheet (SXM), nvidia.com, 2023: 34 FP64, 67 FP32, 989 TF32*, "
         "1,979 BF16/FP16*, 3,958 FP8/INT8* (*with sparsity; dense is half); 80GB HBM3 3.35 TB/s")
_H200 = ("NVIDIA H200 Tensor Core GPU datasheet (SXM), nvidia.com, 2023: compute as H100 SXM "
         "(1,979 BF16/FP16 TFLOPS with sparsity, 989 dense); 141GB HBM3e 4.8 TB/s")
_ADA = ("NVIDIA Ada GPU architecture whitepaper v2.1, appendix table (GeForce RTX 4090): 82.6 FP32, "
        "165.2 FP16/BF16 tensor TFLOPS with FP32 accumulate (dense), 660.6 INT8 TOPS*; 24 GB GDDR6X 1,008 GB/s")
_GA102 = ("NVIDIA Ampere GA102 GPU architecture whitepaper v2 (GeForce RTX 3090): 35.6 FP32, 71 FP16/BF16 "
          "tensor TFLOPS with FP32 accumulate (dense), 35.6 TF32, 284 INT8 TOPS; 24 GB GDDR6X 936 GB/s")

DEVICES: Dict[str, Device] = {d.name: d for d in (
    Device("V100", {"fp64": 7.8 * T, "fp32": 15.7 * T, "fp16": 125 * T}, 900 * GB, 32 * GB, _V100),
    Device("A100-40GB", {"fp64": 9.7 * T, "fp32": 19.5 * T, "tf32": 156 * T, "fp16": 312 * T,
                         "bf16": 312 * T, "int8": 624 * T}, 1555 * GB, 40 * GB, _A100),
    Device("A100-80GB", {"fp64": 9.7 * T, "fp32": 19.5 * T, "tf32": 156 * T, "fp16": 312 * T,
                         "bf16": 312 * T, "int8": 624 * T}, 2039 * GB, 80 * GB, _A100),
    Device("H100", {"fp64": 34 * T, "fp32": 67 * T, "tf32": 494.5 * T, "fp16": 989.5 * T,
                    "bf16": 989.5 * T, "fp8": 1979 * T, "int8": 1979 * T}, 3350 * GB, 80 * GB, _H100),
    Device("H200", {"fp64": 34 * T, "fp32": 67 * T, "tf32": 494.5 * T, "fp16": 989.5 * T,
                    "bf16": 989.5 * T, "fp8": 1979 * T, "int8": 1979 * T}, 4800 * GB, 141 * GB, _H200),
    Device("RTX-4090", {"fp32": 82.6 * T, "fp16": 165.2 * T, "bf16": 165.2 * T, "int8": 660.6 * T},
           1008 * GB, 24 * GB, _ADA),
    Device("RTX-3090", {"fp32": 35.6 * T, "tf32": 35.6 * T, "fp16": 71 * T, "bf16": 71 * T,
                        "int8": 284 * T}, 936 * GB, 24 * GB, _GA102),
)}
ALIASES = {"A100": "A100-80GB", "H100-SXM": "H100", "H200-SXM": "H200", "4090": "RTX-4090", "3090": "RTX-3090"}


def device_names() -> list:
    """Names :func:`get_device` accepts: the table's and ``"cpu"`` (measured here)."""
    return sorted(DEVICES) + ["cpu"]


def check_device(device: "str | Device", dtype: Optional[str] = None) -> None:
    """Raise ``ValueError`` (listing the known names / dtypes) unless ``device`` and ``dtype``
    are known; measures nothing."""
    if isinstance(device, str) and device.lower() == "cpu":
        if dtype is not None and DTYPE_ALIASES.get(dtype, dtype) != "fp32":
            raise ValueError(f"cpu has no {dtype!r} rate: the measured profile has ['fp32']")
        return
    dev = get_device(device)
    if dtype is not None:
        dev.peak(dtype)


def get_device(device: "str | Device") -> Device:
    """A profile by name (case-insensitive; ``"cpu"`` measures this machine once per process),
    or ``device`` itself when it is already a :class:`Device`."""
    if isinstance(device, Device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be a name such as 'A100-80GB' or a flowflops.Device, got {device!r}")
    if device.lower() == "cpu":
        return measure_cpu()
    by_lower = {k.lower(): v for k, v in DEVICES.items()}
    key = ALIASES.get(device, device).lower()
    if key not in by_lower:
        raise ValueError(f"unknown device {device!r}: known devices are {', '.join(device_names())}")
    return by_lower[key]


def best_time(fn: Callable[[], Any], repeats: int) -> float:
    """The fastest of ``repeats`` synchronised runs of ``fn`` (seconds)."""
    import oneflow as flow

    sync = flow._oneflow_internal.eager.Sync
    best = float("inf")
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def cpu_matmul_flops(n: int = 512, repeats: int = 10) -> float:
    """FLOP/s of an ``n x n`` float32 matmul on the CPU (best of ``repeats``; 2 n^3 FLOPs)."""
    import oneflow as flow

    a, b = flow.randn(n, n), flow.randn(n, n)
    flow.matmul(a, b).numpy()  # warm-up
    return 2 * n ** 3 / best_time(lambda: flow.matmul(a, b), repeats)


def cpu_copy_bandwidth(mb: int = 32, repeats: int = 10) -> float:
    """Bytes/s of a float32 copy of ``mb`` MB (read + written, best of ``repeats``)."""
    import oneflow as flow

    x = flow.ones(mb * 1024 * 1024 // 4)
    y = flow.zeros_like(x)
    y.copy_(x)
    return float(2 * x.numel() * 4 / best_time(lambda: y.copy_(x), repeats))


@functools.lru_cache(maxsize=1)
def measure_cpu() -> Device:
    """The local CPU, measured now (under a second): float32 matmul FLOP/s and copy bandwidth
    (the best of several short runs, so that a moment without other load sets the peak).
    The result is kept for the rest of the process. Memory is the machine's total RAM."""
    import os

    flops = cpu_matmul_flops()
    bw = cpu_copy_bandwidth()
    try:
        memory = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        memory = 0.0
    source = (f"measured on this machine at {time.strftime('%Y-%m-%d %H:%M:%S')}: best of 10 "
              "512x512 float32 matmuls and of 10 32 MB float32 copies")
    return Device("cpu", {"fp32": flops}, bw, memory, source, measured=True, kind="cpu")
