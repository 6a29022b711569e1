"""Build a :class:`~torchgeo_csia.transforms.StructureBank` from SPARCS labels."""

from __future__ import annotations

import os

import torch

from .datasets import SPARCS
from .samplers import SceneGriddedSampler
from .transforms import StructureBank
from .transforms.structures import CLOUD, SHADOW, SNOW


def build_bank(
    root: str | os.PathLike[str],
    split: str = 'train',
    size: int = 256,
    stride: int | None = None,
    cloud: tuple[float, float] = (0.02, 0.6),
    min_shadow: float = 0.005,
    snow: tuple[float, float] = (0.02, 0.8),
    limit: int = 400,
    seed: int = 0,
) -> StructureBank:
    """Cut structure shapes from the labels of a split of SPARCS scenes.

    Every gridded patch whose cloud share lies in *cloud* and that holds at least
    *min_shadow* shadow gives a cloud/shadow pair (the shadows in the same patch, so
    the pair's geometry is real); every patch whose snow share lies in *snow* gives a
    snow mask. Patches with pixels outside the scene are skipped.

    Args:
        root: SPARCS folder (either layout).
        split: which scenes (``SPARCS.split_of``); keep it to ``'train'`` so no
            held-out shape leaks into training.
        size: patch size in pixels.
        stride: grid stride (default ``size // 2``).
        cloud: range of cloud share for a pair.
        min_shadow: least shadow share for a pair.
        snow: range of snow share for a snow mask.
        limit: most entries of each kind (a seeded random subset above it).
        seed: seed of that subset.

    Returns:
        The bank; its ``meta`` records the scenes and thresholds.

    Raises:
        ValueError: If no patch qualifies.
    """
    ds = SPARCS(root, split=split, image='photo', classes='csia')  # type: ignore[arg-type]
    sampler = SceneGriddedSampler(ds, size=size, stride=stride or size // 2)
    pairs: list[torch.Tensor] = []
    snows: list[torch.Tensor] = []
    for query in sampler:
        mask = ds[query]['mask']
        if mask.shape != (size, size) or (mask > CLOUD).any():
            continue
        share = {c: (mask == c).float().mean().item() for c in (SHADOW, SNOW, CLOUD)}
        if cloud[0] <= share[CLOUD] <= cloud[1] and share[SHADOW] >= min_shadow:
            pairs.append(torch.stack([mask == CLOUD, mask == SHADOW]))
        if snow[0] <= share[SNOW] <= snow[1]:
            snows.append(mask == SNOW)
    if not pairs and not snows:
        raise ValueError(
            f'no {size} px patch of the {split!r} scenes in {root} qualifies'
        )
    g = torch.Generator().manual_seed(seed)

    def subset(xs: list[torch.Tensor], shape: tuple[int, ...]) -> torch.Tensor:
        if not xs:
            return torch.zeros(0, *shape, dtype=torch.bool)
        keep = torch.randperm(len(xs), generator=g)[:limit].sort().values
        return torch.stack([xs[i] for i in keep.tolist()])

    p = subset(pairs, (2, size, size))
    s = subset(snows, (size, size))
    meta = {
        'dataset': 'SPARCS',
        'split': split,
        'scenes': sorted(ds.index['scene'].unique().tolist()),
        'size': size,
        'stride': stride or size // 2,
        'cloud': list(cloud),
        'min_shadow': min_shadow,
        'snow': list(snow),
        'pairs': len(p),
        'snow_masks': len(s),
        'candidates': {'pairs': len(pairs), 'snow': len(snows)},
    }
    return StructureBank(p[:, 0], p[:, 1], s, meta)
