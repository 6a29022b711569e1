"""Inpainting networks: the builder and the forward contract the augmentations use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: smp U-Net++ (and U-Net) need height and width divisible by this.
DIVISOR = 32


def holed_input(
    image: Tensor, hole: Tensor, hole_channel: bool, fill: Tensor | None = None
) -> Tensor:
    """The network input: the image blanked inside the hole, plus the hole as a channel.

    Args:
        image: ``B x C x H x W``.
        hole: ``B x H x W`` boolean.
        hole_channel: append the hole as a last channel (otherwise the zeroed hole
            alone marks it, as in the authors' networks).
        fill: values put into the hole (default zeros): ``C`` for every sample or
            ``B x C`` per sample; a radiance conditions the network on what to paint.

    Returns:
        ``B x (C + hole_channel) x H x W``.
    """
    h = hole[:, None].to(image.dtype)
    x = image * (1 - h)
    if fill is not None:
        f = fill.to(image.dtype)
        x = x + (f if f.ndim == 2 else f[None])[:, :, None, None] * h
    return torch.cat([x, h], 1) if hole_channel else x


class Inpainter(nn.Module):
    """Fills holes in multispectral patches with a segmentation-style network.

    ``forward(image, hole)`` returns the network's prediction for every pixel (the
    caller pastes it inside the hole, clipped to :attr:`value_range`). Any height and
    width work: the input is reflect-padded to a multiple of 32 and cropped back.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        net: nn.Module,
        bands: int,
        hole_channel: bool = True,
        value_range: tuple[float, float] = (0.0, 1.0),
        hole_value: Sequence[float] | Sequence[Sequence[float]] | None = None,
        margin: int = 0,
    ) -> None:
        """Wrap a network.

        Args:
            net: maps ``B x (bands + hole_channel) x H x W`` to ``B x bands x H x W``.
            bands: number of image bands.
            hole_channel: whether *net* takes the hole mask as a last input channel.
            value_range: the range of the normalised image the network was trained on;
                fills are clipped to it.
            hole_value: per-band values the hole holds in the input (zeros if
                ``None``), or a ``K x bands`` table of which each call draws one row
                per sample (radiances of real structures); part of the network's
                contract, recorded in its weights' metadata.
            margin: how many pixels beyond the structure the training holes reached
                (the structure's pixels dilated by this much). The augmentations
                hole that far too, so the network paints the structure's edge and its
                transition to the ground as it learnt to, while only the structure's
                own pixels take its label.
        """
        super().__init__()
        fill = (
            None if hole_value is None else torch.tensor(hole_value, dtype=torch.float)
        )
        self.hole_value = None if fill is None else fill.tolist()
        self.register_buffer('hole_fill', fill, persistent=False)
        self.net = net
        self.bands = bands
        self.hole_channel = hole_channel
        self.value_range = value_range
        if margin < 0:
            raise ValueError(f'margin must be >= 0, got {margin}')
        self.margin = margin
        #: the class it paints (``'cloud'``, ``'shadow'``, ``'snow'``), set when it
        #: is loaded from weights (``None`` for an untrained or hand-built network)
        self.structure: str | None = None

    def check(self, image: Tensor) -> None:
        """Raise a clear error if *image* does not fit this network.

        Raises:
            ValueError: If the band count differs from :attr:`bands`.
        """
        if image.ndim != 4 or image.shape[1] != self.bands:
            raise ValueError(
                f'the inpainter takes B x {self.bands} x H x W images, got '
                f'{tuple(image.shape)}'
            )

    def forward(
        self, image: Tensor, hole: Tensor, fill: Tensor | None = None
    ) -> Tensor:
        """Predict the image inside *hole*.

        Args:
            image: ``B x bands x H x W`` normalised image.
            hole: ``B x H x W`` (or ``B x 1 x H x W``) boolean.
            fill: ``B x bands`` values for the hole (default: :attr:`hole_value`).

        Raises:
            ValueError: If the image or the hole do not fit.

        Returns:
            ``B x bands x H x W`` prediction (not yet pasted or clipped).
        """
        self.check(image)
        if hole.ndim == 4 and hole.shape[1] == 1:  # a mask with a channel axis
            hole = hole[:, 0]
        if hole.shape != (image.shape[0], *image.shape[2:]):
            raise ValueError(
                f'hole must be B x H x W (or B x 1 x H x W) matching the image '
                f'{tuple(image.shape)}, got {tuple(hole.shape)}'
            )
        if fill is None:
            fill = self.hole_fill  # type: ignore[assignment]
            if fill is not None and fill.ndim == 2:  # a table: one row per sample
                fill = fill[torch.randint(len(fill), (len(image),), device=fill.device)]
        x = holed_input(image, hole, self.hole_channel, fill)
        h, w = x.shape[-2:]
        ph, pw = (-h) % DIVISOR, (-w) % DIVISOR
        if ph or pw:
            x = F.pad(
                x, (0, pw, 0, ph), mode='reflect' if min(h, w) > 32 else 'constant'
            )
        out: Tensor = self.net(x)
        return out[..., :h, :w]


def inpainter(
    bands: int = 3,
    encoder: str = 'tu-efficientnet_b0',
    arch: str = 'UnetPlusPlus',
    hole_channel: bool = True,
    value_range: tuple[float, float] = (0.0, 1.0),
    hole_value: Sequence[float] | Sequence[Sequence[float]] | None = None,
    margin: int = 0,
    **kwargs: Any,
) -> Inpainter:
    """Build an (untrained) inpainter: an smp network of the image bands plus the hole.

    The authors used U-Net++ with an EfficientNet-b0 encoder and no hole channel
    (``hole_channel=False`` builds that seed-compatible variant).

    Args:
        bands: image bands in and out.
        encoder: smp encoder name (never downloads: ``encoder_weights=None``).
        arch: smp architecture name (``UnetPlusPlus``, ``Unet``, ...).
        hole_channel: append the hole mask as an input channel.
        value_range: range of the normalised image; fills are clipped to it.
        hole_value: values put into the hole (see :class:`Inpainter`).
        margin: the training holes' reach beyond the structure (see
            :class:`Inpainter`).
        **kwargs: passed to the smp architecture (``decoder_channels``, ...).

    Returns:
        The wrapped network.

    .. versionadded:: 0.1
    """
    net = smp.create_model(
        arch,
        encoder_name=encoder,
        encoder_weights=None,
        in_channels=bands + int(hole_channel),
        classes=bands,
        **kwargs,
    )
    return Inpainter(net, bands, hole_channel, value_range, hole_value, margin)
