"""How CSIA shifts the class prior of training batches, and what that does to scores.

CSIA paints cloud, shadow and snow into background, so a batch after the CSIA modes
holds more of those classes than the scenes do. A segmenter learns the prior of what
it is trained on: by Bayes' rule its posterior on real scenes is off by the ratio of
the two priors, ``p_real(y | x) ∝ p_aug(y | x) π_real(y) / π_aug(y)`` (where painted
structures look like real ones), which would show as CSIA's higher recall and lower
precision for the painted classes. This module measures the two priors on training
crops of the shipped recipe (:func:`class_shares`) and scores a segmenter on whole
scenes with per-class offsets added to its logits (:func:`offset_scores`): an offset
of ``-log(π_aug / π_real)`` undoes the prior shift after training.

``python -m torchgeo_csia.experiments.prior --root DIR`` prints the shares, their log
ratios and, with ``--weights``, the IoU of each segmenter on the val scenes with the
offsets scaled by each ``--scales`` value (0: as trained).

.. versionadded:: 0.1
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..constants import CLASSES, IGNORE_INDEX, NUM_CLASSES
from ..datamodules.sparcs import BatchAugmentation
from ..tasks.segmentation import PresentClassJaccardIndex, sliding_window
from ..transforms.csia import CSIAAugmentationBase
from .networks import load_inpainters, load_segmenter
from .realism import csia_modes
from .scenes import Scenes, load_scenes, training_batches


def label_counts(mask: Tensor) -> Tensor:
    """Pixels of each class in *mask* (the ignore index left out), int64."""
    valid = mask[mask != IGNORE_INDEX].long()
    return torch.bincount(valid.flatten(), minlength=NUM_CLASSES)[:NUM_CLASSES]


@torch.no_grad()
def class_shares(
    modes: Sequence[CSIAAugmentationBase],
    batches: Sequence[dict[str, Tensor]],
    normalize: nn.Module,
) -> tuple[Tensor, Tensor]:
    """Class shares of training batches before and after the CSIA *modes*.

    Args:
        modes: CSIA modes, run in turn after *normalize* as the datamodule does.
        batches: TorchGeo batch dicts (``image``, ``mask``, the sun geometry).
        normalize: the datamodule's normalisation.

    Returns:
        The share of each class of :data:`~torchgeo_csia.constants.CLASSES` among
        the labelled pixels before and after, float64.
    """
    stages = BatchAugmentation(normalize, *modes)
    before = torch.zeros(NUM_CLASSES, dtype=torch.int64)
    after = torch.zeros(NUM_CLASSES, dtype=torch.int64)
    for batch in batches:
        before += label_counts(batch['mask'])
        after += label_counts(stages(dict(batch))['mask'])
    return before.double() / before.sum(), after.double() / after.sum()


def prior_offset(before: Tensor, after: Tensor) -> Tensor:
    """The logit offset that undoes a prior shift, ``log(before / after)``.

    Args:
        before: class shares of the real batches (all positive).
        after: class shares of the augmented batches (all positive).

    Returns:
        Per-class offsets to add to logits of a segmenter trained on *after*.

    Raises:
        ValueError: If a share is not positive or the shapes differ.
    """
    if before.shape != after.shape or bool((before <= 0).any() | (after <= 0).any()):
        raise ValueError(
            f'prior_offset needs positive shares of one shape, got {before.tolist()} '
            f'and {after.tolist()}'
        )
    return (before / after).log()


@torch.no_grad()
def offset_scores(
    model: nn.Module,
    scenes: Scenes,
    ids: Sequence[int],
    offsets: Sequence[Tensor],
) -> list[PresentClassJaccardIndex]:
    """IoU of *model* on whole scenes with each per-class logit offset.

    The offsets are added to the sliding-window logits (the task's evaluation); one
    pass over the scenes serves every offset.

    Args:
        model: a segmenter.
        scenes: the scenes.
        ids: the scenes scored.
        offsets: per-class offsets (``K`` values each).

    Returns:
        One per-class IoU metric per offset (the task's, classes absent from the
        truth left out), updated over all the scenes (pooled).
    """
    model.eval()
    out = [
        PresentClassJaccardIndex(NUM_CLASSES, average='none', ignore_index=IGNORE_INDEX)
        for _ in offsets
    ]
    for s in ids:
        image, labels = scenes.scene(s)
        logits = sliding_window(model, image[None]).cpu()
        for metric, offset in zip(out, offsets, strict=True):
            metric.update(logits + offset.view(1, -1, 1, 1).float(), labels[None].cpu())
    return out


def _row(values: Sequence[float]) -> str:
    return ' | '.join(f'{v:.4f}' for v in values)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the class shares and, with ``--weights``, the offset scores."""
    parser = argparse.ArgumentParser(
        prog='python -m torchgeo_csia.experiments.prior', description=__doc__
    )
    parser.add_argument('--root', required=True, help='SPARCS folder')
    parser.add_argument('--shadow-depth', type=float, default=1.9)
    parser.add_argument('--batches', type=int, default=8)
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--patch-size', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--weights', nargs='*', default=[], help='segmenters scored on val'
    )
    parser.add_argument(
        '--scales',
        type=float,
        nargs='+',
        default=[0.0, 0.5, 1.0],
        help='multiples of the offset log(before / after) added to the logits',
    )
    args = parser.parse_args(argv)
    batches, normalize = training_batches(
        args.root, args.batches, args.batch_size, args.patch_size, args.seed
    )
    modes = csia_modes(load_inpainters('cpu'), shadow_depth=args.shadow_depth)
    before, after = class_shares(modes, batches, normalize)
    offset = prior_offset(before, after)
    print(
        f'{args.batches} batches of {args.batch_size} training crops '
        f'({args.patch_size} px) from '
        f'{args.root}, seed {args.seed}, the CSIA modes of the shipped recipe '
        f'(shadow depth {args.shadow_depth:g})\n'
    )
    print('| share | ' + ' | '.join(CLASSES) + ' |')
    print('|---' * (NUM_CLASSES + 1) + '|')
    print(f'| before CSIA | {_row(before.tolist())} |')
    print(f'| after CSIA | {_row(after.tolist())} |')
    print(f'| log(before / after) | {_row(offset.tolist())} |')
    if not args.weights:
        return 0
    scenes = load_scenes(args.root, 'photo')
    val = scenes.split('val')
    print(f'\nIoU on the {len(val)} val scenes, logits + scale x log(before / after)\n')
    print('| weights | scale | ' + ' | '.join(CLASSES) + ' | mean |')
    print('|---' * (NUM_CLASSES + 3) + '|')
    for spec in args.weights:
        model = load_segmenter(spec, scenes.bands, 'cpu')
        metrics = offset_scores(model, scenes, val, [s * offset for s in args.scales])
        for scale, metric in zip(args.scales, metrics, strict=True):
            values = metric.compute()
            mean = float(values.nanmean())
            print(f'| {spec} | {scale:g} | {_row(values.tolist())} | {mean:.4f} |')
    return 0


if __name__ == '__main__':
    sys.exit(main())
