"""How much of what the CSIA modes relabel their painting barely changes.

Training crops come from :class:`~torchgeo_csia.datamodules.SPARCSDataModule` (the
shipped recipe's crops: native grids, 256 px, batch 32), are normalised as in
training, and go through the three CSIA modes of ``docs/configs/sparcs_csia.yaml``
(:func:`~.realism.csia_modes`: the shipped inpainters, p 0.5, ``min_free`` 0.25,
shadow first), each with *min_change* set. For every layer a mode paints this
module counts the pixels it labels and, among them, those whose brightness the
painting changed by less than *min_change*
(:func:`~torchgeo_csia.transforms.structures.unseen`): the labels that row
``csia_all_seen`` of the ablation gives the ignore index.

``python -m torchgeo_csia.experiments.unseen --root DIR`` prints the shares.

.. versionadded:: 0.1
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch
from torch import nn

from ..constants import CLASSES
from ..datamodules.sparcs import BatchAugmentation
from ..transforms.csia import CSIAAugmentationBase
from .networks import load_inpainters
from .realism import csia_modes
from .scenes import training_batches

#: per mode and class: [pixels labelled, of them barely changed]
Counts = dict[str, dict[str, list[int]]]


def count_unseen(
    modes: Sequence[CSIAAugmentationBase],
    batches: Sequence[dict[str, torch.Tensor]],
    normalize: nn.Module,
) -> Counts:
    """Run *modes* in turn on each batch and count labelled and unseen pixels.

    Args:
        modes: CSIA modes with ``min_change > 0``.
        batches: TorchGeo batch dicts (``image``, ``mask``, optionally the sun).
        normalize: the datamodule's normalisation, run first.

    Returns:
        Per mode (class name) and painted class: ``[labelled, unseen]``.
    """
    first = BatchAugmentation(normalize)
    stages = [(mode, BatchAugmentation(mode)) for mode in modes]
    counts: Counts = {}
    for batch in batches:
        batch = first(batch)
        for mode, stage in stages:
            batch = stage(batch)
            params = mode.last_params
            per = counts.setdefault(type(mode).__name__, {})
            if 'unseen' not in params:  # nothing selected
                continue
            unseen = params['unseen']
            for cls, hole in zip(
                params['classes'].tolist(), params['holes'], strict=True
            ):
                c = per.setdefault(CLASSES[cls], [0, 0])
                c[0] += int(hole.sum())
                c[1] += int((hole & unseen).sum())
    return counts


def format_counts(counts: Counts, min_change: float) -> str:
    """A Markdown table of :func:`count_unseen`'s result."""
    lines = [
        f'| mode | class | pixels labelled | changed by < {min_change:.0%} | share |',
        '|---|---|---|---|---|',
    ]
    for mode, per in counts.items():
        for cls, (labelled, unseen) in per.items():
            share = unseen / labelled if labelled else float('nan')
            lines.append(f'| {mode} | {cls} | {labelled} | {unseen} | {share:.3f} |')
    return '\n'.join(lines) + '\n'


def main(argv: Sequence[str] | None = None) -> int:
    """Print the shares for training crops of a SPARCS folder."""
    parser = argparse.ArgumentParser(
        prog='python -m torchgeo_csia.experiments.unseen', description=__doc__
    )
    parser.add_argument('--root', required=True, help='SPARCS folder')
    parser.add_argument('--min-change', type=float, default=0.1)
    parser.add_argument(
        '--shadow-depth',
        type=float,
        default=1.0,
        help="the shadow modes' shadow_depth (1: as the network paints)",
    )
    parser.add_argument('--batches', type=int, default=4)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--patch-size', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    batches, normalize = training_batches(
        args.root, args.batches, args.batch_size, args.patch_size, args.seed
    )
    counts = count_unseen(
        csia_modes(
            load_inpainters('cpu'),
            min_change=args.min_change,
            shadow_depth=args.shadow_depth,
        ),
        batches,
        normalize,
    )
    print(
        f'{args.batches} batches of {args.batch_size} training crops '
        f'({args.patch_size} px) from {args.root}, seed {args.seed}'
        + (f', shadow depth {args.shadow_depth:g}' if args.shadow_depth != 1 else '')
    )
    print(format_counts(counts, args.min_change))
    return 0


if __name__ == '__main__':
    sys.exit(main())
