"""How bright painted clouds are at each ``cloud_density``, against real clouds.

The shipped cloud inpainter paints over the ground: an opacity and a radiance per
pixel and band (:class:`~torchgeo_csia.models.Inpainter`, mode ``'over'``).
:class:`~torchgeo_csia.transforms.RandomCloudShadow`'s *cloud_density* makes that
opacity so many times as thick (:func:`~torchgeo_csia.models.inpainter.thicken`).
This module paints the same label-free patches of a split's scenes at each density
(the same draws: the shipped mode at ``p=1``, the shipped structure bank, the sun
geometry, the shadow first, as the two-sample test paints them,
:func:`~.two_sample.as_painter`) and compares the brightness (mean over bands, ``photo
/ 255``) of the pixels it labels cloud with that of the split's real cloud pixels:
the density whose quantiles come nearest real ones' is drawn from real statistics,
not chosen by a score.

``python -m torchgeo_csia.experiments.cloud_density --root DIR`` prints the table
(the train scenes by default, so the choice never sees val or test).

.. versionadded:: 0.1
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from ..constants import CLASSES
from .two_sample import (
    Scene,
    as_painter,
    background_patches,
    load_scenes,
    patch_batch,
)

CLOUD = CLASSES.index('cloud')
#: the quantiles the table shows
QUANTILES = (0.25, 0.5, 0.75)


def real_pixels(scenes: Sequence[Scene], cls: int = CLOUD) -> Tensor:
    """``N x C`` values (``photo / 255``) of every pixel of *scenes* labelled *cls*."""
    parts = [
        s.normalised(0, 0, max(s.image.shape[-2:]))[:, s.labels == cls].T
        for s in scenes
    ]
    bands = scenes[0].image.shape[0] if scenes else 3
    return torch.cat(parts) if parts else torch.zeros(0, bands)


@torch.no_grad()
def painted_and_ground(
    scenes: Sequence[Scene],
    cls: int = CLOUD,
    patches: int = 96,
    patch: int = 256,
    seed: int = 0,
    batch: int = 16,
    **mode: Any,
) -> tuple[Tensor, Tensor]:
    """``N x C`` values of the pixels the shipped mode labels *cls*, and beneath.

    Args:
        scenes: the scenes whose label-free patches are painted.
        cls: the class whose painted pixels are read (cloud or shadow: the shipped
            cloud and shadow mode paints both).
        patches: label-free patches painted.
        patch: their size (px).
        seed: seeds the patches and the painting, so every setting paints the same
            structures in the same places.
        batch: patches painted per call.
        mode: settings of the mode (:func:`~.two_sample.as_painter`:
            *cloud_density*, *shadow_depth*).

    Returns:
        The painted values of each pixel, and the ground's before painting.
    """
    gen = torch.Generator().manual_seed(seed)
    grounds = background_patches(scenes, patches, patch, 1.0, len(scenes), gen)
    ((paint, _),) = as_painter('shipped', (CLASSES[cls],), **mode)
    torch.manual_seed(seed)
    after, before = [], []
    for i in range(0, len(grounds), batch):
        image, labels, az, el = patch_batch(grounds[i : i + batch], patch)
        painted, mask = paint(image, labels, az, el)
        where = (mask.long() == cls) & (labels != cls)
        after.append(painted.float().permute(0, 2, 3, 1)[where])
        before.append(image.float().permute(0, 2, 3, 1)[where])
    if not after:
        return torch.zeros(0, 3), torch.zeros(0, 3)
    return torch.cat(after), torch.cat(before)


def painted_pixels(
    scenes: Sequence[Scene],
    density: float | Sequence[float],
    patches: int = 96,
    patch: int = 256,
    seed: int = 0,
    batch: int = 16,
) -> Tensor:
    """``N x C`` values of the pixels the shipped cloud mode labels cloud.

    Args:
        scenes: the scenes whose label-free patches are painted.
        density: the mode's ``cloud_density`` (one number or one per band).
        patches: label-free patches painted.
        patch: their size (px).
        seed: seeds the patches and the painting, so every density paints the same
            clouds in the same places.
        batch: patches painted per call.

    Returns:
        The values of each painted cloud pixel.
    """
    return painted_and_ground(
        scenes, CLOUD, patches, patch, seed, batch, cloud_density=density
    )[0]


def nearest_per_band(
    real: Sequence[float], painted: Mapping[float, Sequence[float]]
) -> list[float]:
    """Per band, the density of *painted* whose band median is nearest *real*'s.

    Args:
        real: the real median of each band.
        painted: per density, the painted median of each band.

    Returns:
        One density per band.
    """
    return [
        min(painted, key=lambda d: abs(painted[d][b] - real[b]))
        for b in range(len(real))
    ]


def quantiles(values: Tensor, qs: Sequence[float] = QUANTILES) -> list[float]:
    """*qs* quantiles of *values* (from at most 10^6 of them, evenly spaced)."""
    if len(values) == 0:
        return [float('nan')] * len(qs)
    step = max(1, len(values) // 1_000_000)
    v = values.sort().values[::step].float()
    return torch.quantile(v, torch.tensor(list(qs))).tolist()


def band_quantile(values: Tensor, q: float = 0.5) -> list[float]:
    """The *q* quantile of each band (column) of ``N x C`` *values* (0.5: median)."""
    if q == 0.5:  # torch's median, as the first records used
        return values.median(0).values.tolist()
    return [quantiles(values[:, b], (q,))[0] for b in range(values.shape[1])]


def main(argv: Sequence[str] | None = None) -> int:
    """Print painted against real cloud brightness for each density."""
    parser = argparse.ArgumentParser(
        prog='python -m torchgeo_csia.experiments.cloud_density', description=__doc__
    )
    parser.add_argument('--root', required=True, help='SPARCS folder')
    parser.add_argument('--split', default='train')
    parser.add_argument(
        '--densities', type=float, nargs='+', default=[1.0, 1.5, 2.0, 3.0, 4.0]
    )
    parser.add_argument('--patches', type=int, default=96)
    parser.add_argument('--patch', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--quantile',
        type=float,
        default=0.5,
        help='the per-band quantile matched (0.5: the median; higher: the bright tail)',
    )
    args = parser.parse_args(argv)
    q = args.quantile
    name = 'median' if q == 0.5 else f'q{round(q * 100)}'
    scenes = load_scenes(args.root, [args.split])
    real_px = real_pixels(scenes)
    real = quantiles(real_px.mean(1))
    real_bands = band_quantile(real_px, q)
    names = ' | '.join(f'q{round(q * 100)}' for q in QUANTILES)
    print(
        f'Cloud brightness (mean over bands, photo / 255) on the {len(scenes)} '
        f'{args.split} scenes of {args.root}: real cloud pixels, and the pixels the '
        f'shipped cloud mode labels cloud in {args.patches} label-free patches of '
        f'{args.patch} px (seed {args.seed}; the same clouds at every density)\n'
    )
    print(f'| clouds | pixels | {names} | {name} per band |')
    print('|---|---|' + '---|' * len(QUANTILES) + '---|')

    def bands(values: Sequence[float]) -> str:
        return ' / '.join(f'{v:.3f}' for v in values)

    row = ' | '.join(f'{v:.3f}' for v in real)
    print(f'| real | {len(real_px)} | {row} | {bands(real_bands)} |')
    medians: dict[float, list[float]] = {}
    for density in args.densities:
        values = painted_pixels(scenes, density, args.patches, args.patch, args.seed)
        medians[density] = band_quantile(values, q) if len(values) else []
        row = ' | '.join(f'{v:.3f}' for v in quantiles(values.mean(1)))
        print(
            f'| painted, density {density:g} | {len(values)} | {row} | '
            f'{bands(medians[density])} |'
        )
    if all(medians.values()):
        fit = nearest_per_band(real_bands, medians)
        print(
            f'\nPer band, the density whose {name} is nearest the real one: '
            + ' / '.join(f'{d:g}' for d in fit)
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
