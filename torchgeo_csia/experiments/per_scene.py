"""Per-scene paired IoU of two segmenters: which scenes decide a split's difference.

Two segmenters (say ``BASE_SPARCS_PHOTO`` and ``CSIA_SPARCS_PHOTO``) label the same
whole scenes through the task's evaluation (:func:`~torchgeo_csia.tasks.segmentation.
sliding_window`, the photo normalisation of :class:`~.scenes.Scenes`). Per scene this
measures each class's IoU for each segmenter (:func:`scene_iou`: NaN where neither
the labels nor the prediction hold the class), the pixels of each class in the
labels, and the difference second minus first. Per split it measures the pooled IoU
(one confusion over the split's scenes, the present classes only, as ``torchgeo
test`` scores: :func:`pooled_iou`), its difference, and each scene's *influence* on
that difference: the pooled difference minus the pooled difference without the scene
(:func:`leave_one_out`). A difference decided by a few scenes shows as a few large
influences; one spread evenly, as many small ones. Beside it, the pooled
difference's 95 % bootstrap interval over the split's scenes
(:func:`~.ablation.scene_bootstrap`): how far another draw of scenes like these could
move it.

``python -m torchgeo_csia.experiments.per_scene --root DIR --weights FIRST SECOND``
prints one Markdown table per split (default ``val`` and ``test``), scenes sorted by
their shadow difference, the pooled IoU of each segmenter and the pooled difference
with the most influential scene of each class left out; ``--json OUT`` also writes
the numbers.

.. versionadded:: 0.1
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..constants import CLASSES, IGNORE_INDEX, NUM_CLASSES, SHADOW
from ..tasks.segmentation import confusions, sliding_window
from .ablation import pooled_iou as ablation_iou
from .ablation import scene_bootstrap
from .networks import load_segmenter
from .scenes import Scenes, load_scenes


def confusion(logits: Tensor, labels: Tensor) -> Tensor:
    """The confusion of one scene, as the task's IoU metric counts it.

    Args:
        logits: ``1 x K x H x W`` logits (or ``1 x H x W`` class indices).
        labels: ``1 x H x W`` labels (the ignore index left out).

    Returns:
        ``K x K`` pixel counts, rows the labels, columns the prediction, int64.
    """
    return confusions(logits, labels, NUM_CLASSES, IGNORE_INDEX)[0].cpu()


def scene_iou(confmat: Tensor) -> Tensor:
    """Per-class IoU of one confusion, NaN where labels and prediction lack the class.

    Unlike :func:`pooled_iou`, a class the prediction holds but the labels lack
    scores 0 (a false alarm on that scene), not NaN.

    Args:
        confmat: ``K x K`` counts, rows the labels, columns the prediction.

    Returns:
        ``K`` IoU values, float64.
    """
    c = confmat.double()
    tp = c.diag()
    union = c.sum(0) + c.sum(1) - tp
    return torch.where(union > 0, tp / union.clamp(min=1), math.nan)


def pooled_iou(confmats: Sequence[Tensor]) -> Tensor:
    """Per-class IoU of the summed confusions, as ``torchgeo test`` scores a split.

    One confusion over the split's scenes, NaN where no scene's labels hold the
    class (:class:`~torchgeo_csia.tasks.segmentation.PresentClassJaccardIndex`).

    Args:
        confmats: ``K x K`` counts of each scene (at least one).

    Returns:
        ``K`` IoU values, float64.
    """
    summed = torch.stack(list(confmats)).sum(0).numpy()
    return torch.from_numpy(ablation_iou(summed)[:-1])  # the classes, not their mean


def leave_one_out(first: Sequence[Tensor], second: Sequence[Tensor]) -> Tensor:
    """Each scene's influence on the pooled difference of two segmenters.

    Args:
        first: confusions of the first segmenter, one per scene.
        second: confusions of the second, on the same scenes in the same order.

    Returns:
        ``S x K``: the pooled difference (second minus first) minus the pooled
        difference without the scene, float64; NaN where the class is left in no
        scene without it (or in none at all).

    Raises:
        ValueError: If the two hold different numbers of scenes, or none.
    """
    if len(first) != len(second) or not first:
        raise ValueError(
            f'leave_one_out needs confusions of the same scenes, got {len(first)} '
            f'and {len(second)}'
        )
    a, b = torch.stack(list(first)), torch.stack(list(second))
    whole = pooled_iou([b.sum(0)]) - pooled_iou([a.sum(0)])
    if len(first) == 1:
        return torch.full((1, NUM_CLASSES), math.nan, dtype=torch.float64)
    out = []
    for s in range(len(first)):
        keep = [i for i in range(len(first)) if i != s]
        without = pooled_iou([b[keep].sum(0)]) - pooled_iou([a[keep].sum(0)])
        out.append(whole - without)
    return torch.stack(out)


def most_influential(influence: Tensor) -> list[int | None]:
    """The scene of largest absolute influence on each class (``None``: all NaN).

    Args:
        influence: ``S x K``, as :func:`leave_one_out` gives.

    Returns:
        One scene index (into the rows) per class.
    """
    out: list[int | None] = []
    for k in range(influence.shape[1]):
        col = influence[:, k].abs()
        out.append(
            None if bool(col.isnan().all()) else int(col.nan_to_num(-1).argmax())
        )
    return out


@torch.no_grad()
def scene_confusions(
    model: nn.Module, scenes: Scenes, ids: Sequence[int]
) -> list[Tensor]:
    """The confusion of *model* on each whole scene (the task's evaluation).

    Args:
        model: a segmenter.
        scenes: the scenes, normalised as the segmenters expect.
        ids: the scenes scored.

    Returns:
        One ``K x K`` confusion per scene of *ids*.
    """
    model.eval()
    out = []
    for s in ids:
        image, labels = scenes.scene(s)
        logits = sliding_window(model, image[None]).cpu()
        out.append(confusion(logits, labels[None].cpu()))
    return out


def _by_class(values: Tensor) -> dict[str, float]:
    return {c: float(v) for c, v in zip(CLASSES, values.tolist(), strict=True)}


def _mean(values: Tensor) -> float:
    return float(values.nanmean()) if bool((~values.isnan()).any()) else math.nan


def compare(
    names: Sequence[str],
    first: Sequence[Tensor],
    second: Sequence[Tensor],
    specs: tuple[str, str],
) -> dict[str, Any]:
    """The per-scene and pooled comparison of two segmenters on one split.

    Args:
        names: scene ids.
        first: confusions of the first segmenter, one per scene.
        second: confusions of the second, on the same scenes.
        specs: names of the two segmenters.

    Returns:
        ``scenes`` (per scene: ``scene``, label ``pixels``, ``iou`` of each
        segmenter, ``diff`` second minus first and ``influence`` on the pooled
        difference, all by class; sorted by shadow difference, NaN last),
        ``pooled`` (IoU of each segmenter by class, with ``mean``), ``pooled_diff``
        and ``leave_one_out`` (per class: the most influential ``scene``, its
        ``influence`` and the pooled difference ``without`` it), ``interval``
        (per class and ``mean``: the pooled difference's 95 % bootstrap interval
        over the scenes, :func:`~.ablation.scene_bootstrap`).
    """
    influence = leave_one_out(first, second)
    rows = []
    for s, name in enumerate(names):
        iou = [scene_iou(first[s]), scene_iou(second[s])]
        rows.append(
            {
                'scene': name,
                'pixels': {
                    c: int(n)
                    for c, n in zip(CLASSES, first[s].sum(1).tolist(), strict=True)
                },
                'iou': {spec: _by_class(v) for spec, v in zip(specs, iou, strict=True)},
                'diff': _by_class(iou[1] - iou[0]),
                'mean_diff': _mean(iou[1]) - _mean(iou[0]),
                'influence': _by_class(influence[s]),
            }
        )
    pooled = [pooled_iou(first), pooled_iou(second)]
    diff = pooled[1] - pooled[0]
    loo: dict[str, Any] = {}
    for k, top in enumerate(most_influential(influence)):
        if top is None:
            loo[CLASSES[k]] = None
            continue
        effect = float(influence[top, k])
        loo[CLASSES[k]] = {
            'scene': names[top],
            'influence': effect,
            'without': float(diff[k]) - effect,
        }

    def key(row: dict[str, Any]) -> tuple[bool, float]:
        d = row['diff'][CLASSES[SHADOW]]
        return (math.isnan(d), d)

    # one pair of runs: the interval is over the scenes only
    interval = scene_bootstrap(
        {0: {n: c.numpy() for n, c in zip(names, second, strict=True)}},
        {0: {n: c.numpy() for n, c in zip(names, first, strict=True)}},
    )
    return {
        'scenes': sorted(rows, key=key),
        'pooled': {
            spec: {**_by_class(v), 'mean': _mean(v)}
            for spec, v in zip(specs, pooled, strict=True)
        },
        'pooled_diff': {**_by_class(diff), 'mean': _mean(pooled[1]) - _mean(pooled[0])},
        'leave_one_out': loo,
        'interval': {
            c: [d.low, d.high]
            for c, d in zip((*CLASSES, 'mean'), interval, strict=True)
        },
    }


def _f(v: float, sign: bool = False) -> str:
    if math.isnan(v):
        return 'n/a'
    return f'{v:+.4f}' if sign else f'{v:.4f}'


def table(split: str, result: dict[str, Any], specs: tuple[str, str]) -> str:
    """The Markdown text of one split's comparison (:func:`compare`).

    Args:
        split: the split's name.
        result: what :func:`compare` gives.
        specs: names of the two segmenters.

    Returns:
        The per-scene table, the pooled table and the leave-one-out line.
    """
    first, second = specs
    rows = result['scenes']
    lines = [
        f'### {split} ({len(rows)} scenes): {second} - {first}, '
        'sorted by the shadow difference\n',
        '| scene | label % shadow / snow / cloud | shadow first / second '
        '| cloud first / second | Δ background | Δ shadow | Δ snow | Δ cloud '
        '| Δ mean | influence shadow | influence cloud |',
        '|---' * 11 + '|',
    ]
    for r in rows:
        px = r['pixels']
        total = max(sum(px.values()), 1)
        share = ' / '.join(f'{100 * px[c] / total:.1f}' for c in CLASSES[1:])
        a, b = r['iou'][first], r['iou'][second]
        d, inf = r['diff'], r['influence']
        lines.append(
            f'| {r["scene"]} | {share} | {_f(a["shadow"])} / {_f(b["shadow"])} '
            f'| {_f(a["cloud"])} / {_f(b["cloud"])} | '
            + ' | '.join(_f(d[c], True) for c in CLASSES)
            + f' | {_f(r["mean_diff"], True)} | {_f(inf["shadow"], True)} '
            f'| {_f(inf["cloud"], True)} |'
        )
    lines += [
        f'\npooled IoU ({split}, one confusion over its scenes):\n',
        '| weights | ' + ' | '.join(CLASSES) + ' | mean |',
        '|---' * (NUM_CLASSES + 2) + '|',
    ]
    pooled = [(name, v, False) for name, v in result['pooled'].items()]
    for name, values, sign in [*pooled, ('difference', result['pooled_diff'], True)]:
        cells = ' | '.join(_f(values[c], sign) for c in (*CLASSES, 'mean'))
        lines.append(f'| {name} | {cells} |')
    cells = ' | '.join(
        f'[{_f(lo, True)}, {_f(hi, True)}]'
        for lo, hi in (result['interval'][c] for c in (*CLASSES, 'mean'))
    )
    lines.append(f'| 95 % over scenes | {cells} |')
    loo = []
    for c in CLASSES:
        entry = result['leave_one_out'][c]
        if entry is None:
            loo.append(f'{c} n/a')
            continue
        loo.append(
            f'{c} {_f(result["pooled_diff"][c], True)} -> '
            f'{_f(entry["without"], True)} without {entry["scene"]}'
        )
    lines.append('\nleave one scene out (the most influential): ' + '; '.join(loo))
    return '\n'.join(lines)


def _jsonable(value: Any) -> Any:
    """*value* with NaN as ``None`` (strict JSON)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Print the per-scene comparison of two segmenters on each split."""
    parser = argparse.ArgumentParser(
        prog='python -m torchgeo_csia.experiments.per_scene', description=__doc__
    )
    parser.add_argument('--root', required=True, help='SPARCS folder')
    parser.add_argument(
        '--weights',
        nargs=2,
        required=True,
        metavar=('FIRST', 'SECOND'),
        help='the two segmenters; differences are SECOND - FIRST',
    )
    parser.add_argument('--splits', nargs='+', default=['val', 'test'])
    parser.add_argument('--json', default=None, help='also write the numbers here')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    specs: tuple[str, str] = (args.weights[0], args.weights[1])
    started = time.perf_counter()
    scenes = load_scenes(args.root, 'photo', args.device)
    # each scene's split is SPARCS.split_of its id
    ids = {split: scenes.split(split) for split in args.splits}
    everything = [s for split in args.splits for s in ids[split]]
    confs: dict[str, dict[int, Tensor]] = {}
    for spec in specs:
        model = load_segmenter(spec, scenes.bands, args.device)
        confs[spec] = dict(
            zip(everything, scene_confusions(model, scenes, everything), strict=True)
        )
    seconds = time.perf_counter() - started
    print(
        f'{len(everything)} whole scenes of {args.root} ({", ".join(args.splits)}), '
        f'photo, on {args.device} (torch {torch.__version__}, '
        f'{torch.get_num_threads()} threads), {seconds:.0f} s\n'
    )
    out: dict[str, Any] = {'weights': list(specs), 'seconds': seconds, 'splits': {}}
    for split in args.splits:
        if not ids[split]:
            print(f'### {split}: no scenes\n')
            continue
        result = compare(
            [scenes.ids[s] for s in ids[split]],
            [confs[specs[0]][s] for s in ids[split]],
            [confs[specs[1]][s] for s in ids[split]],
            specs,
        )
        out['splits'][split] = result
        print(table(split, result, specs) + '\n')
    if args.json:
        Path(args.json).write_text(json.dumps(_jsonable(out), indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
