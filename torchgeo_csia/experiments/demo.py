"""The demo: a SPARCS training batch before and after CSIA, as a figure.

.. versionadded:: 0.1
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch import Tensor

#: Colour of nodata mask pixels (:data:`~torchgeo_csia.constants.IGNORE_INDEX`).
NODATA_COLOR = (1.0, 0.0, 1.0)
#: Titles of the CSIA modes the demo runs, by class name.
DEMO_MODES = {
    'RandomCloudShadow': 'cloud + shadow',
    'RandomShadowForClouds': 'shadow for clouds',
    'RandomSnow': 'snow',
}
#: The inpainter weights the demo's modes paint with, by class.
DEMO_WEIGHTS = {
    'cloud': 'CLOUD_SPARCS_PHOTO',
    'shadow': 'SHADOW_SPARCS_PHOTO',
    'snow': 'SNOW_SPARCS_PHOTO',
}
#: Height of one line of notes under the demo's figure (figure fraction).
NOTE_HEIGHT = 0.012


def _scene_of(dataset: Any, bounds: Tensor) -> str:
    """Id of the scene whose footprint holds the centre of a sample's bounds."""
    import shapely

    x0, x1, _, y0, y1 = bounds.tolist()[:5]
    centre = shapely.Point((x0 + x1) / 2, (y0 + y1) / 2)
    hits = dataset.index[dataset.index.geometry.intersects(centre)]
    return str(hits['scene'].iloc[0]) if len(hits) else '?'


def realism_lines(weights: Sequence[Any]) -> list[str]:
    """How real each inpainter's structures look, one line per inpainter.

    The numbers are the inpainters' own measurements (their weights' ``meta``): the
    two-sample classifier test of :mod:`~torchgeo_csia.experiments.two_sample`
    (accuracy of a small CNN telling painted from real crops of the class; 0.5 = it
    cannot tell) beside its moved-real control.

    Args:
        weights: inpainter weights
            (:class:`~torchgeo_csia.models.weights.CSIAInpainter_Weights`).

    Returns:
        One line per inpainter, e.g. ``cloud (CLOUD_SPARCS_PHOTO): painted vs real
        0.773 +- 0.016, moved real 0.530 (10 / 10 scenes)``.
    """
    lines = []
    for member in weights:
        two = member.meta['scores']['two_sample']
        line = (
            f'{member.meta["class"]} ({member.name}): painted vs real '
            f'{two["accuracy"]:.3f} +- {two["sd"]:.3f}, moved real '
            f'{two["moved_control"]:.3f} ({two["train_scenes"]} / '
            f'{two["score_scenes"]} scenes)'
        )
        lines.append(line)
    return lines


def demo_figure(
    before: dict[str, Tensor],
    after: dict[str, Tensor],
    scenes: Sequence[str],
    modes: Sequence[Sequence[str]],
    notes: Sequence[str] = (),
) -> Figure:
    """The demo's figure: each sample's image and mask before and after CSIA.

    One column per sample, titled with its scene and the CSIA modes that changed it.
    Both images of a column share one intensity scale (the before image's 1st-99th
    percentiles over all bands), so a painted structure shows as it compares with
    its scene; masks are drawn in the ``csia`` colours with a legend, nodata
    (:data:`~torchgeo_csia.constants.IGNORE_INDEX`) in magenta, inserted structures
    outlined in red.

    Args:
        before: normalised batch (``image`` ``B x C x H x W`` in [0, 1], ``mask``).
        after: the same batch after the CSIA modes.
        scenes: scene id per sample.
        modes: per sample, the names of the modes that changed it.
        notes: lines written under the legend (the demo: :func:`realism_lines`).

    Returns:
        The figure.
    """
    import textwrap

    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Patch

    from ..constants import IGNORE_INDEX
    from ..datasets import SPARCS

    n = len(before['image'])
    fig, axs = plt.subplots(4, n, figsize=(2.6 * n, 11.4), squeeze=False)
    cmap = SPARCS.colormap('csia').with_extremes(bad=NODATA_COLOR)
    for i in range(n):
        changed = (after['mask'][i] != before['mask'][i]).numpy()
        # one intensity scale per column: the before panel's 1-99th percentiles
        shown = before['image'][i, :3].permute(1, 2, 0).numpy()
        lo, hi = np.percentile(shown, (1, 99))
        hi = max(hi, lo + 1e-6)
        for row, batch in enumerate((before, after)):
            img = batch['image'][i, :3].permute(1, 2, 0).numpy()
            axs[2 * row, i].imshow(np.clip((img - lo) / (hi - lo), 0, 1))
            mask = np.ma.masked_equal(batch['mask'][i].numpy(), IGNORE_INDEX)
            axs[2 * row + 1, i].imshow(
                mask, cmap=cmap, vmin=0, vmax=3, interpolation='none'
            )
        if changed.any():
            for ax in axs[2:, i]:
                ax.contour(changed, levels=[0.5], colors='red', linewidths=0.8)
        axs[0, i].set_title(f'before\n{scenes[i]}', fontsize=8)
        done = ', '.join(modes[i]) if modes[i] else 'unchanged'
        axs[2, i].set_title(textwrap.fill(f'after: {done}', 32), fontsize=8)
        for ax in axs[:, i]:
            ax.set_xticks([])
            ax.set_yticks([])
    legend = [
        Patch(facecolor=(r / 255, g / 255, b / 255), edgecolor='black', label=name)
        for (r, g, b), name in zip(
            SPARCS.colors['csia'], SPARCS.class_schemes['csia'], strict=True
        )
    ]
    legend.append(Patch(facecolor=NODATA_COLOR, edgecolor='black', label='nodata'))
    legend.append(Patch(facecolor='none', edgecolor='red', label='inserted'))
    fig.legend(
        handles=legend,
        loc='lower center',
        ncol=len(legend),
        fontsize=9,
        bbox_to_anchor=(0.5, NOTE_HEIGHT * len(notes)),
    )
    for k, note in enumerate(reversed(notes)):
        fig.text(0.5, 0.004 + NOTE_HEIGHT * k, note, ha='center', fontsize=7)
    fig.suptitle(
        'CSIA on a SPARCS batch: image and mask before (rows 1-2) and after (rows '
        '3-4) the CSIA modes named above each column\n'
        "(each column's images share one intensity scale: the before image's "
        '1st-99th percentiles)'
    )
    fig.tight_layout(rect=(0, 0.03 + NOTE_HEIGHT * len(notes), 1, 1))
    return fig


def demo(
    out: str = 'demo.png',
    root: str | None = None,
    image: str = 'photo',
    batch_size: int = 6,
    patch_size: int = 256,
    p: float = 1.0,
    min_free: float = 0.3,
    source: str = 'bank',
    seed: int = 0,
) -> str:
    """Draw a SPARCS training batch, run the CSIA modes on it, write the figure.

    1. Draw *batch_size* training patches through
       :class:`~torchgeo_csia.datamodules.SPARCSDataModule` (from *root*, or from a
       generated 6-scene sample).
    2. Normalise them (before); run the CSIA modes one at a time, as the
       datamodule does, noting which changed which sample (after).
    3. Print how real the inpainters' structures look (:func:`realism_lines`, their
       two-sample tests) and draw :func:`demo_figure` with those lines under it.

    Args:
        out: the PNG to write.
        root: SPARCS folder; ``None``: a generated 6-scene sample.
        image: image type (the shipped inpainters are 3-band ``'photo'``).
        batch_size: samples drawn.
        patch_size: patch size (px).
        p: probability of each mode (snow: half).
        min_free: least background share that makes a patch eligible.
        source: structure shapes: ``'bank'`` (the shipped bank of real SPARCS
            masks) or ``'procedural'``.
        seed: random seed.

    Returns:
        *out*.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import torch
    from lightning.pytorch import Trainer

    from ..datamodules import SPARCSDataModule
    from ..datamodules.sparcs import BatchAugmentation
    from ..datasets.synthetic import write_sample
    from ..transforms import RandomCloudShadow, RandomShadowForClouds, RandomSnow

    torch.manual_seed(seed)
    shapes = 'sparcs' if source == 'bank' else 'procedural'
    csia: list[torch.nn.Module] = [
        RandomCloudShadow(
            DEMO_WEIGHTS['cloud'],
            DEMO_WEIGHTS['shadow'],
            p=p,
            min_free=min_free,
            source=shapes,
        ),
        RandomShadowForClouds(DEMO_WEIGHTS['shadow'], p=p),
        RandomSnow(DEMO_WEIGHTS['snow'], p=p / 2, min_free=min_free, source=shapes),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        if root is None:
            root = os.path.join(tmp, 'sparcs')
            write_sample(root, count=6, size=512)
            print(
                f'no --root given: generated a 6-scene SPARCS-format sample in {root}'
            )
        dm = SPARCSDataModule(
            batch_size=batch_size,
            patch_size=patch_size,
            length=batch_size,
            paths=root,
            image=image,
            classes='csia',
        )
        dm.setup('fit')
        dm.trainer = Trainer(accelerator='cpu', logger=False)
        dm.trainer.training = True
        raw = next(iter(dm.train_dataloader()))
        scenes = [_scene_of(dm.train_dataset, b) for b in raw['bounds']]
        # before: normalised only; after: the same batch through the CSIA modes,
        # one at a time (as the datamodule runs them), noting which changed what
        before = dm.aug(raw)
        after = dict(before)
        modes: list[list[str]] = [[] for _ in scenes]
        for aug in csia:
            step = BatchAugmentation(aug)(dict(after))
            hit = (step['mask'] != after['mask']).flatten(1).any(1) | (
                step['image'] != after['image']
            ).flatten(1).any(1)
            for i in hit.nonzero().flatten().tolist():
                modes[i].append(DEMO_MODES.get(type(aug).__name__, type(aug).__name__))
            after = step
    from ..models.weights import inpainter_weights

    notes = realism_lines([inpainter_weights(w) for w in DEMO_WEIGHTS.values()])
    print(
        'How real the painted structures look (two-sample classifier test, from the '
        "inpainters' cards; 0.5 = a classifier cannot tell painted from real):"
    )
    for line in notes:
        print(f'  {line}')
    fig = demo_figure(before, after, scenes, modes, notes)
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return out
