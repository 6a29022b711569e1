"""Inpainting networks: the builder and the forward contract the augmentations use."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: smp U-Net++ (and U-Net) need height and width divisible by this.
DIVISOR = 32

#: the inpainter modes: ``'fill'`` predicts the pixels of a zeroed hole,
#: ``'over'`` paints the structure over the ground (see :class:`Inpainter`)
MODES = ('fill', 'over')


def smooth_fill(image: Tensor, hole: Tensor) -> Tensor:
    """The image with its hole filled smoothly from the pixels outside it.

    A push-pull (normalised-convolution) pyramid: the image premultiplied by the
    known weight (1 outside the hole, 0 inside) and the weight itself are
    average-pooled down to one pixel; then, coarse to fine, each level's estimate is
    ``x + (1 - w) * up``, with ``x`` the level's premultiplied image, ``w`` its known
    weight and ``up`` the coarser estimate upsampled bilinearly. Each estimate is a
    convex blend of means of known pixels, so the fill stays within their range and
    a constant image is filled exactly. The pixels inside the hole are never read
    (not even NaNs there reach the fill). Static shapes and one loop over the
    pyramid's levels: it runs batched on any device and inside CUDA graphs.

    Args:
        image: ``B x C x H x W``.
        hole: ``B x H x W`` (or ``B x 1 x H x W``) boolean.

    Returns:
        ``B x C x H x W``: *image* outside the hole, the fill inside it (a sample
        without a known pixel is filled with zeros).

    .. versionadded:: 0.1
    """
    if hole.ndim == 4:
        hole = hole[:, 0]
    h = hole[:, None]
    known = (~h).to(image.dtype)
    x = torch.where(h, 0, image)  # where(), not a product: NaN * 0 is NaN
    levels = [(x, known)]
    for _ in range(math.ceil(math.log2(max(image.shape[-2:], default=1)))):
        x, known = levels[-1]
        # ceil_mode keeps odd sizes' last row and column; pooling both terms alike
        # makes the estimate x / w independent of how border windows are divided
        levels.append(
            (
                F.avg_pool2d(x, 2, ceil_mode=True),
                F.avg_pool2d(known, 2, ceil_mode=True),
            )
        )
    x, known = levels[-1]
    est = x / known.clamp(min=torch.finfo(known.dtype).tiny)
    for x, known in reversed(levels[:-1]):
        up = F.interpolate(est, size=x.shape[-2:], mode='bilinear', align_corners=False)
        est = x + (1 - known) * up
    return torch.where(h, est, image)


def thicken(alpha: Tensor, density: float | Tensor) -> Tensor:
    """An opacity made *density* times as thick: ``1 - (1 - alpha) ** density``.

    The ground seen through a layer of opacity *alpha* keeps ``1 - alpha`` of its
    radiance; *density* such layers stacked keep that to the power *density*. So
    opacity 0 stays 0 (the ground itself), 1 stays 1, and in between a density above
    1 thickens the layer and one below 1 thins it, with the layer's own radiance and
    shape unchanged.

    Args:
        alpha: opacities in ``[0, 1]``.
        density: the power, > 0 (1: *alpha* itself): one number, or a tensor that
            broadcasts against *alpha* (a thickness that varies across the image).

    Returns:
        The thickened opacities, in ``[0, 1]``.

    .. versionadded:: 0.1
    """
    if isinstance(density, float | int) and density == 1:
        return alpha
    return 1 - (1 - alpha) ** density


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

    Two modes:

    * ``'fill'`` (the shipped weights): the network sees the image zeroed inside
      the hole (:func:`holed_input`) and predicts the pixels there.
    * ``'over'``: the network sees the image with the hole filled by
      :func:`smooth_fill` and predicts a per-band opacity ``alpha`` (sigmoid of its
      first *bands* outputs) and radiance ``r`` (the other *bands*); the prediction
      is ``(1 - alpha) * image + alpha * r``, composited over the *given* image. On
      clear ground the ground's texture so survives wherever ``alpha < 1``: a
      shadow is the ground times the gain ``1 - alpha`` plus ``alpha * r``, a thin
      cloud the ground blended toward its radiance.

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
        mode: Literal['fill', 'over'] = 'fill',
    ) -> None:
        """Wrap a network.

        Args:
            net: maps ``B x (bands + hole_channel) x H x W`` to ``B x bands x H x W``
                (``B x 2 bands x H x W`` in the ``'over'`` mode).
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
            mode: ``'fill'`` (predict the holed pixels) or ``'over'`` (paint an
                opacity and a radiance over the image); see :class:`Inpainter`.

        Raises:
            ValueError: If *margin* or *mode* is invalid, or *hole_value* is given
                in the ``'over'`` mode (its hole holds the smooth fill), or the
                ``'over'`` mode comes without *hole_channel*.
        """
        if mode not in MODES:
            raise ValueError(f'mode must be one of {list(MODES)}, got {mode!r}')
        if mode == 'over' and not hole_channel:
            # the smooth fill leaves no mark of the hole: only the channel tells it
            raise ValueError("mode='over' needs hole_channel=True")
        if mode == 'over' and hole_value is not None:
            raise ValueError(
                "hole_value is for mode 'fill': in mode 'over' the hole holds the "
                'smooth fill of its surroundings'
            )
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
        #: ``'fill'`` or ``'over'``: part of the network's contract, as its output
        #: width and what its input holds in the hole depend on it
        self.mode = mode
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
        self,
        image: Tensor,
        hole: Tensor,
        fill: Tensor | None = None,
        density: float | Tensor = 1.0,
        scale: int = 1,
    ) -> Tensor:
        """Predict the image inside *hole*.

        Args:
            image: ``B x bands x H x W`` normalised image (in the ``'over'`` mode
                the ground the structure is painted over; its pixels inside the
                hole reach the network only through the composite).
            hole: ``B x H x W`` (or ``B x 1 x H x W``) boolean.
            fill: ``B x bands`` values for the hole (default: :attr:`hole_value`;
                ``'fill'`` mode only).
            density: in the ``'over'`` mode, the predicted opacity is made this
                many times as thick (:func:`thicken`; 1: as predicted): a number,
                or a ``B x 1 x H x W`` tensor of positive values (not checked: a
                check would wait for the device).
            scale: in the ``'over'`` mode, run the network on the input
                average-pooled by this factor (the hole max-pooled, so it still
                covers every hole pixel) and upsample its opacity and radiance
                bilinearly before compositing over the full-resolution image: the
                ground's texture stays whole while the network costs about
                ``1 / scale ** 2`` of its arithmetic (1: full resolution).

        Raises:
            ValueError: If the image or the hole do not fit, *fill* is given in
                the ``'over'`` mode, *density* is not 1 in the ``'fill'`` mode
                or not > 0, or *scale* is not a positive integer, or above 1 in
                the ``'fill'`` mode.

        Returns:
            ``B x bands x H x W`` prediction (not yet pasted or clipped).
        """
        self.check(image)
        # a tensor of densities is not read (that would wait for the device)
        thickens = not isinstance(density, float | int) or density != 1
        if (thickens and self.mode != 'over') or not (
            isinstance(density, Tensor) or density > 0
        ):
            raise ValueError(
                f"density must be > 0, and 1 unless mode is 'over' (an opacity to "
                f'thicken); got {density} in mode {self.mode!r}'
            )
        if (
            not isinstance(scale, int)
            or scale < 1
            or (scale > 1 and self.mode != 'over')
        ):
            raise ValueError(
                f"scale must be an integer >= 1, and 1 unless mode is 'over' (a fill "
                f'must be predicted at full resolution); got {scale!r} in mode '
                f'{self.mode!r}'
            )
        if hole.ndim == 4 and hole.shape[1] == 1:  # a mask with a channel axis
            hole = hole[:, 0]
        if hole.shape != (image.shape[0], *image.shape[2:]):
            raise ValueError(
                f'hole must be B x H x W (or B x 1 x H x W) matching the image '
                f'{tuple(image.shape)}, got {tuple(hole.shape)}'
            )
        if self.mode == 'over':
            if fill is not None:
                raise ValueError("fill is for mode 'fill', not 'over'")
            smooth = smooth_fill(image, hole)
            h = hole[:, None].to(image.dtype)
            x = torch.cat([smooth, h], 1) if self.hole_channel else smooth
        else:
            if fill is None:
                fill = self.hole_fill  # type: ignore[assignment]
                if fill is not None and fill.ndim == 2:  # a table: a row per sample
                    pick = torch.randint(len(fill), (len(image),), device=fill.device)
                    fill = fill[pick]
            x = holed_input(image, hole, self.hole_channel, fill)
        if scale > 1:
            x = _pooled(x, scale, self.bands)
        out = self._net(x)
        if self.mode == 'fill':
            return out
        if scale > 1:  # the opacity and radiance, not the composite: the ground stays
            # by the factor, then cropped: a size not divisible by it stays aligned
            out = F.interpolate(
                out, scale_factor=scale, mode='bilinear', align_corners=False
            )[..., : image.shape[-2], : image.shape[-1]]
        alpha = thicken(torch.sigmoid(out[:, : self.bands]), density)
        radiance = out[:, self.bands :]
        composite: Tensor = (1 - alpha) * image + alpha * radiance
        return composite

    def _net(self, x: Tensor) -> Tensor:
        """The network on *x*, padded to a multiple of :data:`DIVISOR` and back."""
        h, w = x.shape[-2:]
        ph, pw = (-h) % DIVISOR, (-w) % DIVISOR
        if ph or pw:
            x = F.pad(
                x, (0, pw, 0, ph), mode='reflect' if min(h, w) > 32 else 'constant'
            )
        out: Tensor = self.net(x)
        return out[..., :h, :w]


def _pooled(x: Tensor, scale: int, bands: int) -> Tensor:
    """*x* at ``1 / scale`` resolution: the bands averaged, the hole channel maxed."""
    image = F.avg_pool2d(x[:, :bands], scale, ceil_mode=True)
    if x.shape[1] == bands:
        return image
    hole = F.max_pool2d(x[:, bands:], scale, ceil_mode=True)
    return torch.cat([image, hole], 1)


def inpainter(
    bands: int = 3,
    encoder: str = 'tu-efficientnet_b0',
    arch: str = 'UnetPlusPlus',
    hole_channel: bool = True,
    value_range: tuple[float, float] = (0.0, 1.0),
    hole_value: Sequence[float] | Sequence[Sequence[float]] | None = None,
    margin: int = 0,
    mode: Literal['fill', 'over'] = 'fill',
    **kwargs: Any,
) -> Inpainter:
    """Build an (untrained) inpainter: an smp network of the image bands plus the hole.

    The authors used U-Net++ with an EfficientNet-b0 encoder and no hole channel
    (``hole_channel=False`` builds that seed-compatible variant). In the ``'over'``
    mode the network's head has ``2 * bands`` outputs (opacity and radiance).

    Args:
        bands: image bands in and out.
        encoder: smp encoder name (never downloads: ``encoder_weights=None``).
        arch: smp architecture name (``UnetPlusPlus``, ``Unet``, ...).
        hole_channel: append the hole mask as an input channel.
        value_range: range of the normalised image; fills are clipped to it.
        hole_value: values put into the hole (see :class:`Inpainter`).
        margin: the training holes' reach beyond the structure (see
            :class:`Inpainter`).
        mode: ``'fill'`` or ``'over'`` (see :class:`Inpainter`).
        **kwargs: passed to the smp architecture (``decoder_channels``, ...).

    Returns:
        The wrapped network.

    Raises:
        ValueError: If *mode* is not one of :data:`MODES`.

    .. versionadded:: 0.1
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {list(MODES)}, got {mode!r}')
    net = smp.create_model(
        arch,
        encoder_name=encoder,
        encoder_weights=None,
        in_channels=bands + int(hole_channel),
        classes=2 * bands if mode == 'over' else bands,
        **kwargs,
    )
    return Inpainter(net, bands, hole_channel, value_range, hole_value, margin, mode)
