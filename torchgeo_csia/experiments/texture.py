"""Texture statistics inside structures: what tells painted structures from real ones.

Pure batched tensor functions over crops (``N x C x H x W``, the normalised image) and
the pixels of a structure in them (``N x H x W`` boolean). Each statistic is pooled
over all the structure pixels of all crops, so large structures weigh by their size,
and each is measured on the structure's interior (the region eroded by one pixel), so
the step at its edge does not count as texture.

.. versionadded:: 0.1
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

#: the radial frequency (cycles per pixel) above which power counts as high
#: frequency: periods shorter than 4 px
HIGH_FREQUENCY = 0.25


def _check(x: Tensor, region: Tensor) -> None:
    if x.ndim != 4 or not x.is_floating_point():
        raise ValueError(
            f'x must be floating N x C x H x W crops, got shape {tuple(x.shape)} '
            f'and dtype {x.dtype}'
        )
    if region.shape != (x.shape[0], *x.shape[2:]) or region.dtype != torch.bool:
        raise ValueError(
            f'region must be N x H x W boolean matching x {tuple(x.shape)}, got '
            f'shape {tuple(region.shape)} and dtype {region.dtype}'
        )


def erode(region: Tensor, pixels: int = 1) -> Tensor:
    """Shrink ``N x H x W`` boolean regions by *pixels* (a square neighbourhood).

    Pixels nearer than *pixels* to the crop's border are dropped too.

    Args:
        region: ``N x H x W`` boolean.
        pixels: how far to shrink.

    Returns:
        ``N x H x W`` boolean.
    """
    if pixels <= 0:
        return region
    outside = (~region)[:, None].float()
    grown = F.max_pool2d(F.pad(outside, (pixels,) * 4, value=1.0), 2 * pixels + 1, 1, 0)
    return grown[:, 0] == 0


def gradient_magnitude(x: Tensor, region: Tensor) -> Tensor:
    """Mean gradient magnitude inside the regions, pooled over their pixels.

    Forward differences per band, ``sqrt(dx**2 + dy**2)``, averaged over the bands,
    at the pixels whose right and lower neighbours are in the region too.

    Args:
        x: ``N x C x H x W`` crops.
        region: ``N x H x W`` boolean structure pixels.

    Returns:
        A 0-d tensor (NaN if no pixel qualifies).

    Raises:
        ValueError: If the shapes or dtypes do not fit.
    """
    _check(x, region)
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    g = (dy.square() + dx.square()).sqrt().mean(1)
    inside = region[:, :-1, :-1] & region[:, 1:, :-1] & region[:, :-1, 1:]
    w = inside.to(x.dtype)
    return (g * w).sum() / w.sum()


def high_frequency_power(
    x: Tensor, region: Tensor, cutoff: float = HIGH_FREQUENCY
) -> Tensor:
    """Power at high spatial frequencies inside the regions, per region pixel.

    Each crop's band mean, less its mean over the region's interior (the region
    eroded by one pixel) and zeroed outside it, is Fourier transformed; the power
    above *cutoff* cycles per pixel (radially) is summed and, by Parseval, divided by
    the pixel count, so it is the variance that short-period texture carries. Pooled
    over all crops, per interior pixel. Painted and real structures of the same
    shapes share the edge's leakage, so their ratio compares texture.

    Args:
        x: ``N x C x H x W`` crops.
        region: ``N x H x W`` boolean structure pixels.
        cutoff: frequency in cycles per pixel, in ``(0, 0.5 * sqrt(2))``.

    Returns:
        A 0-d tensor (NaN if no pixel qualifies).

    Raises:
        ValueError: If the shapes or dtypes do not fit, or *cutoff* is out of range.
    """
    _check(x, region)
    if not 0.0 < cutoff < 0.5 * 2**0.5:
        raise ValueError(f'cutoff must be in (0, 0.707) cycles/pixel, got {cutoff}')
    h, w = x.shape[-2:]
    inner = erode(region, 1).to(x.dtype)
    gray = x.mean(1)
    count = inner.flatten(1).sum(1)
    mean = (gray * inner).flatten(1).sum(1) / count.clamp(min=1)
    d = (gray - mean[:, None, None]) * inner
    power = torch.fft.fft2(d.float()).abs().square()
    fy = torch.fft.fftfreq(h, device=x.device)[:, None]
    fx = torch.fft.fftfreq(w, device=x.device)[None, :]
    high = (fy.square() + fx.square()).sqrt() > cutoff
    hf = (power * high).flatten(1).sum(1) / (h * w)
    out: Tensor = hf.sum() / count.sum()
    return out


def band_means(x: Tensor, region: Tensor) -> Tensor:
    """Mean value of each band inside the regions, pooled over their pixels.

    Args:
        x: ``N x C x H x W`` crops.
        region: ``N x H x W`` boolean structure pixels.

    Returns:
        ``C`` means (NaN if the regions are empty).

    Raises:
        ValueError: If the shapes or dtypes do not fit.
    """
    _check(x, region)
    w = region[:, None].to(x.dtype)
    return (x * w).sum((0, 2, 3)) / w.sum()


def texture_statistics(
    x: Tensor, region: Tensor, cutoff: float = HIGH_FREQUENCY
) -> dict[str, float | list[float]]:
    """The texture statistics of a set of crops, as plain numbers.

    Args:
        x: ``N x C x H x W`` crops.
        region: ``N x H x W`` boolean structure pixels.
        cutoff: high-frequency cutoff of :func:`high_frequency_power`.

    Returns:
        ``gradient`` (:func:`gradient_magnitude`), ``high_frequency``
        (:func:`high_frequency_power`), ``brightness`` (:func:`band_means`, a list)
        and ``pixels`` (how many structure pixels).
    """
    return {
        'gradient': float(gradient_magnitude(x, region)),
        'high_frequency': float(high_frequency_power(x, region, cutoff)),
        'brightness': [float(v) for v in band_means(x, region)],
        'pixels': float(region.sum()),
    }
