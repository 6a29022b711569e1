"""How far painted shadows darken the ground, per band, against real shadows.

A shadow is the ground darkened: each band keeps a share of its light, the shadow's
gain. :class:`~torchgeo_csia.transforms.RandomCloudShadow`'s *shadow_depth* raises the
shadow network's gain over the ground to a power
(:func:`~torchgeo_csia.transforms.structures.deepen`), one number or one per band.
This module measures the gain per band of the split's real shadows (each shadow
pixel over the mean of the background pixels within *window* of it) and of the
shadows the shipped mode paints into label-free patches (each painted pixel over the
ground it was painted on; the shipped structure bank, the sun geometry, the shadow
first, as the two-sample test paints them, :func:`~.two_sample.as_painter`). A power
``d`` takes a painted gain ``g`` to ``g ** d`` pixel by pixel, so the median too:
the depth per band that gives the painted shadows real shadows' median gain is
``log(real) / log(painted)``, drawn from real statistics, not chosen by a score.

``python -m torchgeo_csia.experiments.shadow_depth --root DIR`` prints the table (the
train scenes by default, so the choice never sees val or test).

.. versionadded:: 0.1
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ..constants import CLASSES
from .cloud_density import painted_and_ground
from .two_sample import Scene, load_scenes

BACKGROUND = CLASSES.index('background')
SHADOW = CLASSES.index('shadow')
#: the least background share of the window for a real shadow pixel to count
MIN_GROUND = 0.25
#: gains are taken over ground at least this bright (photo / 255)
FLOOR = 1e-3


def box_mean(x: Tensor, window: int) -> Tensor:
    """Mean of ``C x H x W`` *x* over a *window* x *window* box at each pixel.

    Zero outside the image (count the same box of a mask to correct for it).
    """
    pad = window // 2
    rows = F.avg_pool2d(x[None], (window, 1), 1, (pad, 0), count_include_pad=True)
    return F.avg_pool2d(rows, (1, window), 1, (0, pad), count_include_pad=True)[0]


def real_gains(scenes: Sequence[Scene], window: int = 63) -> Tensor:
    """``N x C`` gains of every real shadow pixel of *scenes* over its ground.

    The ground is the mean of the background pixels in the *window* (odd, px)
    around the pixel; shadow pixels with less than :data:`MIN_GROUND` of that window
    background are left out (deep inside a large shadow there is no ground to
    compare with; near the scene's edge the part of the window outside it counts as
    no ground, so fewer edge pixels qualify).

    Raises:
        ValueError: If *window* is not an odd number of pixels.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f'window must be an odd number of pixels, got {window}')
    parts = []
    for s in scenes:
        x = s.normalised(0, 0, max(s.image.shape[-2:])).float()
        ground = (s.labels == BACKGROUND).float()[None]
        share = box_mean(ground, window)[0]
        mean = box_mean(x * ground, window) / share.clamp_min(1e-6)
        use = (s.labels == SHADOW) & (share >= MIN_GROUND)
        use &= (mean >= FLOOR).all(0)
        parts.append((x[:, use] / mean[:, use]).T)
    bands = scenes[0].image.shape[0] if scenes else 3
    return torch.cat(parts) if parts else torch.zeros(0, bands)


def painted_gains(
    scenes: Sequence[Scene], patches: int = 96, patch: int = 256, seed: int = 0
) -> Tensor:
    """``N x C`` gains of the shadow pixels the shipped mode paints, at depth 1."""
    after, before = painted_and_ground(scenes, SHADOW, patches, patch, seed)
    return after / before.clamp_min(FLOOR)


def fit_depth(real: Sequence[float], painted: Sequence[float]) -> list[float]:
    """Per band, the power that takes the *painted* median gain to the *real* one.

    NaN for a band whose painted gain does not darken (>= 1) or whose real gain is
    not in ``(0, 1)``.
    """
    return [
        math.log(r) / math.log(p) if 0 < r < 1 and 0 < p < 1 else math.nan
        for r, p in zip(real, painted, strict=True)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Print painted against real shadow gains per band, and the depth that fits."""
    parser = argparse.ArgumentParser(
        prog='python -m torchgeo_csia.experiments.shadow_depth', description=__doc__
    )
    parser.add_argument('--root', required=True, help='SPARCS folder')
    parser.add_argument('--split', default='train')
    parser.add_argument('--patches', type=int, default=96)
    parser.add_argument('--patch', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--window', type=int, default=63, help='ground window (px)')
    parser.add_argument(
        '--depths', type=float, nargs='*', default=[1.9], help='also shown'
    )
    args = parser.parse_args(argv)
    scenes = load_scenes(args.root, [args.split])
    real = real_gains(scenes, args.window)
    painted = painted_gains(scenes, args.patches, args.patch, args.seed)
    if not len(real) or not len(painted):
        print('no real or no painted shadow pixels', file=sys.stderr)
        return 1
    real_med = real.median(0).values.tolist()
    painted_med = painted.median(0).values.tolist()
    fit = fit_depth(real_med, painted_med)

    def bands(values: Sequence[float]) -> str:
        return ' / '.join(f'{v:.3f}' for v in values)

    print(
        f'Shadow gain per band (shadow over its ground, photo / 255) on the '
        f'{len(scenes)} {args.split} scenes of {args.root}: real shadow pixels '
        f'(ground: the background within {args.window} px), and the pixels the '
        f'shipped cloud and shadow mode labels shadow in {args.patches} '
        f'label-free patches of {args.patch} px (seed {args.seed})\n'
    )
    print('| shadows | pixels | median gain per band |')
    print('|---|---|---|')
    print(f'| real | {len(real)} | {bands(real_med)} |')
    print(f'| painted, depth 1 | {len(painted)} | {bands(painted_med)} |')
    for d in args.depths:
        deeper = [p**d for p in painted_med]
        print(f'| painted, depth {d:g} | {len(painted)} | {bands(deeper)} |')
    print(
        f'| painted, depth {" / ".join(f"{d:.2f}" for d in fit)} | {len(painted)} | '
        f'{bands([p**d for p, d in zip(painted_med, fit, strict=True)])} |'
    )
    print('\nPer band, the depth that gives the real median gain: ' + bands(fit))
    return 0


if __name__ == '__main__':
    sys.exit(main())
