"""Golden reference model: the convolution loop nest, int8 quantization, quantized layers."""

from accel.ref.layer import QuantizedLayer, random_layer, run_layer, run_layer_loopnest
from accel.ref.loopnest import (
    conv2d,
    conv2d_loopnest,
    fully_connected,
    macs,
    maxpool2x2,
    output_size,
)
from accel.ref.quant import (
    INT32_MAX,
    INT32_MIN,
    choose_activation_qparams,
    dequantize,
    multiply_by_quantized_multiplier,
    quantize,
    quantize_bias,
    quantize_multiplier,
    quantize_weights_per_channel,
    requantize,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)

__all__ = [
    "QuantizedLayer",
    "random_layer",
    "run_layer",
    "run_layer_loopnest",
    "conv2d",
    "conv2d_loopnest",
    "fully_connected",
    "macs",
    "maxpool2x2",
    "output_size",
    "INT32_MAX",
    "INT32_MIN",
    "choose_activation_qparams",
    "dequantize",
    "multiply_by_quantized_multiplier",
    "quantize",
    "quantize_bias",
    "quantize_multiplier",
    "quantize_weights_per_channel",
    "requantize",
    "rounding_divide_by_pot",
    "saturating_rounding_doubling_high_mul",
    "wrap_int32",
]
