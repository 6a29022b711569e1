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
from collections.abc import Sequence

import torch
from torch import Tensor

from ..constants import CLASSES
from .two_sample import Scene, as_painter, background_patches, load_scenes

CLOUD = CLASSES.index('cloud')
#: the quantiles the table shows
QUANTILES = (0.25, 0.5, 0.75)


def real_brightness(scenes: Sequence[Scene], cls: int = CLOUD) -> Tensor:
    """Brightness (mean over bands) of every pixel of *scenes* labelled *cls*."""
    parts = [
        s.normalised(0, 0, max(s.image.shape[-2:])).mean(0)[s.labels == cls]
        for s in scenes
    ]
    return torch.cat(parts) if parts else torch.zeros(0)


@torch.no_grad()
def painted_brightness(
    scenes: Sequence[Scene],
    density: float,
    patches: int = 96,
    patch: int = 256,
    seed: int = 0,
    batch: int = 16,
) -> Tensor:
    """Brightness of the pixels the shipped cloud mode labels cloud at *density*.

    Args:
        scenes: the scenes whose label-free patches are painted.
        density: the mode's ``cloud_density``.
        patches: label-free patches painted.
        patch: their size (px).
        seed: seeds the patches and the painting, so every density paints the same
            clouds in the same places.
        batch: patches painted per call.

    Returns:
        The brightness of each painted cloud pixel.
    """
    gen = torch.Generator().manual_seed(seed)
    grounds = background_patches(scenes, patches, patch, 1.0, len(scenes), gen)
    ((paint, _),) = as_painter('shipped', ('cloud',), cloud_density=density)
    torch.manual_seed(seed)
    out = []
    for i in range(0, len(grounds), batch):
        chunk = grounds[i : i + batch]
        image = torch.stack([s.normalised(t, left, patch) for s, t, left in chunk])
        labels = torch.stack(
            [s.labels[t : t + patch, left : left + patch] for s, t, left in chunk]
        ).long()
        az = torch.tensor([s.sun[0] for s, _, _ in chunk])
        el = torch.tensor([s.sun[1] for s, _, _ in chunk])
        painted, mask = paint(image, labels, az, el)
        where = (mask.long() == CLOUD) & (labels != CLOUD)
        out.append(painted.float().mean(1)[where])
    return torch.cat(out) if out else torch.zeros(0)


def quantiles(values: Tensor, qs: Sequence[float] = QUANTILES) -> list[float]:
    """*qs* quantiles of *values* (from at most 10^6 of them, evenly spaced)."""
    if len(values) == 0:
        return [float('nan')] * len(qs)
    step = max(1, len(values) // 1_000_000)
    v = values.sort().values[::step].float()
    return torch.quantile(v, torch.tensor(list(qs))).tolist()


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
    args = parser.parse_args(argv)
    scenes = load_scenes(args.root, [args.split])
    real = quantiles(real_brightness(scenes))
    names = ' | '.join(f'q{round(q * 100)}' for q in QUANTILES)
    print(
        f'Cloud brightness (mean over bands, photo / 255) on the {len(scenes)} '
        f'{args.split} scenes of {args.root}: real cloud pixels, and the pixels the '
        f'shipped cloud mode labels cloud in {args.patches} label-free patches of '
        f'{args.patch} px (seed {args.seed}; the same clouds at every density)\n'
    )
    print(f'| clouds | pixels | {names} |')
    print('|---|---|' + '---|' * len(QUANTILES))
    count = sum(int((s.labels == CLOUD).sum()) for s in scenes)
    print(f'| real | {count} | ' + ' | '.join(f'{v:.3f}' for v in real) + ' |')
    for density in args.densities:
        values = painted_brightness(
            scenes, density, args.patches, args.patch, args.seed
        )
        row = ' | '.join(f'{v:.3f}' for v in quantiles(values))
        print(f'| painted, density {density:g} | {len(values)} | {row} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
