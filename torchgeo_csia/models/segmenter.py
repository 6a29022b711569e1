"""Segmentation network builder used for the BASE vs CSIA experiments."""

from __future__ import annotations

from typing import Any

import segmentation_models_pytorch as smp
from torch import nn


def segmenter(
    in_channels: int = 3,
    num_classes: int = 4,
    encoder: str = 'tu-efficientnet_b0',
    decoder_channels: tuple[int, ...] = (128, 64, 32, 16, 16),
    **kwargs: Any,
) -> nn.Module:
    """U-Net++ for cloud, shadow and snow segmentation (as the CSIA authors used).

    The decoder is narrower than smp's default so that fp16 weights stay under
    10 MB (4.6 M parameters with ``tu-efficientnet_b0``).

    Args:
        in_channels: image bands.
        num_classes: classes (4 for the ``csia`` scheme).
        encoder: smp encoder (never downloads: ``encoder_weights=None``).
        decoder_channels: U-Net++ decoder widths.
        **kwargs: passed to :class:`segmentation_models_pytorch.UnetPlusPlus`.

    Returns:
        The network (logits ``B x num_classes x H x W``; H and W multiples of 32).

    .. versionadded:: 0.1
    """
    net: nn.Module = smp.UnetPlusPlus(
        encoder_name=encoder,
        encoder_weights=None,
        in_channels=in_channels,
        classes=num_classes,
        decoder_channels=decoder_channels,
        **kwargs,
    )
    return net
