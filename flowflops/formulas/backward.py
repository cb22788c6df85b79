"""Gradient ops of a compiled training graph (``loss.backward()`` inside ``nn.Graph.build``).

Conventions, as everywhere in flowflops (see :class:`flowflops.Cost`): a product accumulated
into a sum (a matmul or convolution step, a dot product inside a reduction) is 1 MAC = 2 FLOPs;
any other arithmetic step (add, subtract, multiply, divide, compare-and-select, one
elementary function such as ``exp`` or an activation's derivative) is 1 elementwise op =
1 MAC in the seed's convention = 1 FLOP. Scalars computed once per channel or per row (a mean
divided by its count, ``gamma * inv_std``) are not counted.

Much of a backward pass needs no formula here: a Linear's data and weight gradients are plain
``matmul`` ops, its bias gradient a ``reduce_sum_like``; broadcasts and reshapes of gradients
are ``broadcast_like``/``reshape_like`` (all registered elsewhere). Each count below follows
what OneFlow 0.9's CPU kernel computes for the op.
"""
from __future__ import annotations

from ..records import Cost, OpRecord, elementwise, mac, numel
from ..registry import register, register_zero
from ._shapes import in_numel, out_numel
from .pool import POOLS

__all__ = [
    "broadcast_matmul_grad_b", "conv_data_grad", "conv_filter_grad", "conv_bias_grad", "batch_norm_grad",
    "MASK_GRADS", "mask_grad", "UNARY_GRADS", "unary_grad", "softmax_grad", "log_softmax_grad", "POOL_GRADS",
    "pool_grad", "nll_grad", "broadcast_div_grad"
]


# -- matrix products -----------------------------------------------------------------------
@register("broadcast_matmul_grad_b")
def broadcast_matmul_grad_b(rec: OpRecord) -> Cost:
    """Weight gradient of a batched ``x @ W``: ``dW = sum over batch of a^T @ b`` with ``a``
    ``(..., M, K)``, ``b`` ``(..., M, N)``, output ``(K, N)``: every output element is a dot
    product over all ``numel(a) / K`` rows, so MACs = ``numel(out) * numel(a) / a[-1]``."""
    a = rec.inputs[0]
    return mac(out_numel(rec) * numel(a) // a[-1])


# -- convolutions --------------------------------------------------------------------------
@register("conv_data_grad")
def conv_data_grad(rec: OpRecord) -> Cost:
    """``dx`` of a convolution, inputs ``(dy, filter, x_like)``: a transposed convolution of
    ``dy`` with the same filter, which visits every (output position, weight element) pair
    the forward did: the forward's MACs, ``numel(dy) * numel(filter) / out_channels``."""
    dy, weight = rec.inputs[0], rec.inputs[1]
    return mac(numel(dy) * numel(weight[1:]))


@register("conv_filter_grad")
def conv_filter_grad(rec: OpRecord) -> Cost:
    """``dW`` of a convolution, inputs ``(dy, x)``, output the filter's shape: each weight
    element accumulates one product per output position it touched in the forward, so again
    the forward's MACs, ``numel(dy) * numel(filter) / out_channels``."""
    dy, weight = rec.inputs[0], rec.outputs[0]
    return mac(numel(dy) * numel(weight[1:]))


@register("conv_bias_grad")
def conv_bias_grad(rec: OpRecord) -> Cost:
    """``db``: the sum of ``dy`` over all but the channel axis, one add per element of dy."""
    return elementwise(in_numel(rec))


# -- normalisation -------------------------------------------------------------------------
@register("normalization_grad")
def batch_norm_grad(rec: OpRecord) -> Cost:
    """BatchNorm backward, inputs ``(dy, x, mean, inv_variance, gamma)``, outputs
    ``(dx, gamma_diff, beta_diff)``. Per element of ``x`` (the kernel's four passes):
    ``sum_dy += dy`` (1 elementwise); ``dot += (x - mean) * dy`` (1 subtract + 1 MAC);
    ``t = (x - mean) * k`` (2); ``dx = (dy - mean_dy - t) * gamma * inv_std`` (2 subtracts +
    1 multiply = 3). ``gamma_diff = dot * inv_std`` and ``beta_diff = sum_dy`` are per channel.
    So 1 MAC + 7 elementwise per element: ``8n`` MACs, ``9n`` FLOPs."""
    n = in_numel(rec)
    return mac(n) + elementwise(7 * n)


# -- activations and elementwise math ------------------------------------------------------
MASK_GRADS = ("relu_grad", "hardtanh_grad", "threshold_grad", "hardshrink_grad", "softshrink_grad")


@register(*MASK_GRADS)
def mask_grad(rec: OpRecord) -> Cost:
    """``dx = dy`` where the forward passed its input through, else 0 (or ``dy`` shifted, for
    the shrink ops): one select per element of dx."""
    return elementwise(out_numel(rec))


UNARY_GRADS = (
    # activations
    "gelu_grad", "fast_gelu_grad", "quick_gelu_grad", "silu_grad", "sigmoid_grad", "tanh_grad",
    "elu_grad", "celu_grad", "selu_grad", "leaky_relu_grad", "hardswish_grad", "hardsigmoid_grad",
    "mish_grad", "softplus_grad", "softsign_grad", "log_sigmoid_grad",
    # elementary functions
    "sqrt_grad", "rsqrt_grad", "square_grad", "exp_grad", "expm1_grad", "log_grad", "log2_grad",
    "log10_grad", "log1p_grad", "reciprocal_grad", "reciprocal_no_nan_grad", "sin_grad",
    "cos_grad", "tan_grad", "erf_grad", "erfc_grad", "abs_grad",
)


@register(*UNARY_GRADS)
def unary_grad(rec: OpRecord) -> Cost:
    """``dx = dy * f'(x)``: the derivative counts 1 per element, as the forward counts the
    function itself 1 per element, and the product with ``dy`` 1 more: 2 per element of dx."""
    return elementwise(2 * out_numel(rec))


@register("softmax_grad")
def softmax_grad(rec: OpRecord) -> Cost:
    """Inputs ``(y, dy)``: per row ``s = sum(y * dy)`` (1 MAC per element), then
    ``dx = (dy - s) * y`` (2 per element): ``n`` MACs + ``2n`` elementwise."""
    n = out_numel(rec)
    return mac(n) + elementwise(2 * n)


@register("log_softmax_grad")
def log_softmax_grad(rec: OpRecord) -> Cost:
    """Inputs ``(prob, dy)`` (``prob`` is the forward's log-softmax output): per row
    ``s = sum(dy)`` (1 per element), then ``dx = dy - exp(prob) * s`` (exp, multiply,
    subtract: 3 per element): 4 elementwise per element."""
    return elementwise(4 * out_numel(rec))


# -- pooling and resampling ----------------------------------------------------------------
POOL_GRADS = tuple(f"{name}_grad" for name in POOLS)


@register(*POOL_GRADS)
def pool_grad(rec: OpRecord) -> Cost:
    """A pooling gradient costs what its forward does: one op per element of ``dx`` (the
    forward's input), each receiving its share of ``dy`` (max pooling: the routed ``dy`` or 0;
    average pooling: the window's ``dy / window`` terms)."""
    return elementwise(out_numel(rec))


# -- losses --------------------------------------------------------------------------------
@register("nll_grad")
def nll_grad(rec: OpRecord) -> Cost:
    """Inputs ``(out_grad, input, target[, weight])``: ``dx[i, t_i] = -w * dy[i]``, one
    multiply per sample (``w`` is -1 without class weights, still one multiply; the
    rest of dx is zero-filled, no arithmetic)."""
    return elementwise(numel(rec.inputs[0]))


@register("broadcast_div_grad")
def broadcast_div_grad(rec: OpRecord) -> Cost:
    """The divisor's gradient of ``z = x / y``, inputs ``(dz, z, y)``, output ``dy``:
    ``dy = -sum(z / y * dz)``: per element of dz a divide and a multiply (2), the sum down to
    y's shape 1 per element of dz when y was broadcast (none when the shapes match), and
    the negation 1 per element of dy."""
    dz, y = rec.inputs[0], rec.inputs[2]
    n = numel(dz)
    reduce = n if tuple(dz) != tuple(y) else 0
    return elementwise(2 * n + reduce + out_numel(rec))


# -- gradient bookkeeping: moves and views, no arithmetic -----------------------------------
register_zero((
    "slice_grad",    # dy written into a zero tensor of the sliced input's shape
    "narrow_grad",   # the same for narrow
    "dropout_grad",  # mirrors the forward `dropout`, which flowflops counts as zero (zero.py)
))
