"""The realism measure: how often a segmenter takes painted structures for their class.

Structures painted by the CSIA modes into label-free crops of held-out scenes are
labelled by a segmenter trained without CSIA; the share of painted pixels it gives
the painted class is set beside its recall of real structures over the same whole
scenes, and beside real structures moved onto the same crops (how much of the gap
comes from the new context alone). A ratio near 1 means the painting reads as the
class as well as real structures do.

.. versionadded:: 0.1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torchmetrics.classification import MulticlassRecall

from ..constants import (
    BACKGROUND,
    CLASSES,
    CLOUD,
    IGNORE_INDEX,
    NUM_CLASSES,
    SHADOW,
    SNOW,
    STRUCTURES,
)
from ..models.inpainter import Inpainter
from ..tasks.segmentation import sliding_window
from ..transforms import (
    RandomCloudShadow,
    RandomShadowForClouds,
    RandomSnow,
    StructureSource,
    sun_geometry,
)
from ..transforms.csia import CSIAAugmentationBase
from ..transforms.structures import transplant
from .scenes import Scenes

#: least background share of a crop that counts as label-free
FREE = 0.95
#: class shares of the training crops whose real structures :func:`realism` moves
#: onto the crops for its reference (those of the shipped bank's patches)
SOURCE_SHARE = {CLOUD: (0.02, 0.6), SNOW: (0.02, 0.8)}


def csia_modes(
    inpainters: dict[str, Inpainter],
    source: StructureSource | str = 'sparcs',
    p: float = 0.5,
    min_free: float = 0.25,
    shadow_first: bool = True,
    min_change: float = 0.0,
    shadow_depth: float | Sequence[float] = 1.0,
) -> list[CSIAAugmentationBase]:
    """The CSIA modes the shipped inpainters support, in training order.

    Args:
        inpainters: by class (``cloud``, ``shadow``, ``snow``).
        source: structure shapes (``'sparcs'``: the shipped bank).
        p: probability of each mode.
        min_free: least background share that makes a sample eligible.
        shadow_first: :class:`RandomCloudShadow` paints the shadow first.
        min_change: each mode's ``min_change`` (labels only where the painting
            shows).
        shadow_depth: the ``shadow_depth`` of the two modes that paint shadows (the
            shadow fill's gain over the ground raised to this power; one number or
            one per band).

    Returns:
        cloud + shadow, shadow for clouds, snow (bf16 autocast, as the recipe).
    """
    # every mode alike; the two that paint into free patches also take the shapes
    common: dict[str, Any] = {
        'p': p,
        'autocast': torch.bfloat16,
        'min_change': min_change,
    }
    free: dict[str, Any] = {**common, 'min_free': min_free, 'source': source}
    return [
        RandomCloudShadow(
            inpainters['cloud'],
            inpainters['shadow'],
            shadow_first=shadow_first,
            shadow_depth=shadow_depth,
            **free,
        ),
        RandomShadowForClouds(
            inpainters['shadow'], shadow_depth=shadow_depth, **common
        ),
        RandomSnow(inpainters['snow'], **free),
    ]


def apply_modes(
    modes: Sequence[CSIAAugmentationBase], batch: dict[str, Tensor]
) -> tuple[Tensor, Tensor]:
    """Run CSIA modes one after the other on a batch, with its sun geometry.

    Args:
        modes: the modes.
        batch: ``image``, ``mask``, ``sun_azimuth``, ``sun_elevation``.

    Returns:
        The image and mask after the last mode.
    """
    image, mask = batch['image'], batch['mask']
    for mode in modes:
        with sun_geometry(mode, batch['sun_azimuth'], batch['sun_elevation']):
            out = mode(image, mask)
        image, mask = out[0], out[1]
    return image, mask


def _labels_of(model: nn.Module, images: Tensor) -> Tensor:
    """*model*'s class per pixel, in batches of 32."""
    return torch.cat(
        [model(images[i : i + 32]).argmax(1) for i in range(0, len(images), 32)]
    )


def _shares(pred: Tensor, where: Tensor) -> list[float]:
    """Share of the pixels in *where* that *pred* gives each class."""
    taken = torch.bincount(pred[where], minlength=NUM_CLASSES).float()
    return (taken / where.sum().clamp(min=1)).tolist()


@torch.no_grad()
def scene_recall(model: nn.Module, scenes: Scenes, ids: list[int]) -> list[float]:
    """Per-class recall of *model* over whole scenes (sliding window, as the task).

    Args:
        model: a segmenter.
        scenes: the scenes.
        ids: the scenes scored.

    Returns:
        Recall of each class of :data:`~torchgeo_csia.constants.CLASSES` (0 where
        the scenes hold none of it).
    """
    model.eval()
    recall = MulticlassRecall(
        NUM_CLASSES, average='none', ignore_index=IGNORE_INDEX, zero_division=0
    )
    for s in ids:
        image, labels = scenes.scene(s)
        with torch.autocast(
            image.device.type, dtype=torch.bfloat16, enabled=image.is_cuda
        ):
            logits = sliding_window(model, image[None])
        recall.update(logits.argmax(1).cpu(), labels[None].cpu())
    values: list[float] = recall.compute().tolist()
    return values


def _some_sites(
    scenes: Scenes,
    ids: list[int],
    cls: int,
    size: int,
    share: tuple[float, float],
    count: int,
    seed: int,
) -> list[tuple[int, int, int]]:
    """:meth:`Scenes.share_sites`, or no crop where none qualifies."""
    try:
        return scenes.share_sites(ids, cls, size, share, count, seed)
    except ValueError:
        return []


@torch.no_grad()
def realism(
    scenes: Scenes,
    model: nn.Module,
    inpainters: dict[str, Inpainter],
    ids: list[int],
    source: StructureSource | str = 'sparcs',
    count: int = 256,
    size: int = 256,
    examples: int = 6,
    min_free: float = FREE,
    shadow_first: bool = True,
    shadow_depth: float | Sequence[float] = 1.0,
) -> tuple[dict[str, float], dict[str, Tensor]]:
    """Share of painted pixels that *model* labels as the painted class.

    1. Draw up to *count* seeded crops of the scenes *ids* that are at least
       *min_free* background (and hold no nodata).
    2. Paint cloud + shadow into them, then (apart) snow, each mode at p = 1.
    3. Label the painted crops with *model*; per class, the share of its painted
       pixels labelled as the class (and as each other class).
    4. Reference without a network: real structures of training crops moved onto
       the same crops with as wide a ring of their own surroundings as the
       inpainters paint (``pasted_<class>``).
    5. *model*'s recall of each class over the whole scenes *ids*, and the ratios
       of 3 and 4 to it.

    Args:
        scenes: the scenes.
        model: a segmenter trained without CSIA.
        inpainters: the inpainters by class.
        ids: the (held-out) scenes painted and scored.
        source: structure shapes (``'sparcs'``: the shipped bank).
        count: crops painted.
        size: crop size (px; at most the scenes' size).
        examples: example crops kept per class, for a figure.
        min_free: least background share of the painted crops.
        shadow_first: :class:`RandomCloudShadow` paints the shadow first.
        shadow_depth: its ``shadow_depth`` (the shadow fill's gain over the ground
            raised to this power; 1: as the network paints it).

    Returns:
        A dict of, per class, ``class``: the painted share labelled as the class,
        ``recall_<class>``, ``pasted_<class>`` and ``ratio_<class>`` (share over
        recall), and example crops (painted and real, uint8) for
        :func:`realism_figure`.

    Raises:
        ValueError: If no crop of the scenes is label-free enough.
    """
    model.eval()
    size = scenes.crop_size(size)
    sites = scenes.share_sites(ids, BACKGROUND, size, (min_free, 1.0), count, 99)
    batch = scenes.batch(sites, size)
    cloudshadow, _, snow = csia_modes(
        inpainters,
        source,
        p=1.0,
        min_free=min_free,
        shadow_first=shadow_first,
        shadow_depth=shadow_depth,
    )
    result: dict[str, float] = {}
    shots: dict[str, Tensor] = {}
    torch.manual_seed(0)
    order = (SHADOW, CLOUD) if shadow_first else (CLOUD, SHADOW)
    for mode, classes in ((cloudshadow, order), (snow, (SNOW,))):
        painted, mask = apply_modes([mode], batch)
        pred = _labels_of(model, painted)
        # the reference: real structures, cut from training crops like the bank's
        source_share = SOURCE_SHARE[classes[-1]]
        train = scenes.split('train')
        cut = _some_sites(scenes, train, classes[-1], size, source_share, count, 3)
        moved_pred = moved_mask = None
        if cut:  # else no reference (no training crop holds the class)
            src = scenes.batch([cut[i % len(cut)] for i in range(len(sites))], size)
            moved, moved_mask = transplant(
                batch['image'],
                batch['mask'],
                src['image'],
                src['mask'],
                classes,
                mode.margin(classes[-1]),
            )
            moved_pred = _labels_of(model, moved)
        for cls in classes:
            where = (mask == cls) & (batch['mask'] != cls)
            name = CLASSES[cls]
            shares = _shares(pred, where)
            result[name] = shares[cls]
            for other, share in zip(CLASSES, shares, strict=True):
                result[f'{name}_as_{other}'] = share  # what it is taken for
            result[f'painted_pixels_{name}'] = float(where.sum().item())
            if moved_pred is not None and moved_mask is not None:
                real = (moved_mask == cls) & (batch['mask'] != cls)
                result[f'pasted_{name}'] = _shares(moved_pred, real)[cls]
            has = where.flatten(1).float().mean(1).argsort(descending=True)[:examples]
            shots[f'painted_{name}'] = (painted[has] * 255).round().byte().cpu()
            shots[f'painted_{name}_mask'] = mask[has].byte().cpu()
    recall = scene_recall(model, scenes, ids)
    for cls in (SHADOW, SNOW, CLOUD):
        name = CLASSES[cls]
        result[f'recall_{name}'] = recall[cls]
        result[f'ratio_{name}'] = result[name] / max(recall[cls], 1e-9)
        if f'pasted_{name}' in result:
            result[f'ratio_pasted_{name}'] = result[f'pasted_{name}'] / max(
                recall[cls], 1e-9
            )
        found = _some_sites(scenes, ids, cls, size, (0.2, 0.6), examples, cls)
        if found:
            crops = scenes.batch(found, size)
            shots[f'real_{name}'] = (crops['image'] * 255).round().byte().cpu()
            shots[f'real_{name}_mask'] = crops['mask'].byte().cpu()
    return result, shots


def realism_table(result: dict[str, float]) -> str:
    """The result of :func:`realism` as a Markdown table.

    Args:
        result: the shares.

    Returns:
        The table, one line per structure.
    """
    lines = [
        '| class | painted labelled as class | real, moved onto the crops | '
        'recall on real | ratio painted | ratio moved |',
        '|---|---|---|---|---|---|',
    ]
    for c in STRUCTURES:
        moved = result.get('pasted_' + c)
        ratio = result.get('ratio_pasted_' + c)
        lines.append(
            f'| {c} | {result[c]:.3f} | '
            f'{"-" if moved is None else f"{moved:.3f}"} | '
            f'{result["recall_" + c]:.3f} | {result["ratio_" + c]:.2f} | '
            f'{"-" if ratio is None else f"{ratio:.2f}"} |'
        )
    return '\n'.join(lines)


def realism_figure(shots: dict[str, Tensor], out: str) -> None:
    """Painted structures beside real ones, per class (from :func:`realism`).

    Args:
        shots: the examples :func:`realism` returns.
        out: the PNG to write.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    names = [c for c in STRUCTURES if f'painted_{c}' in shots]
    n = max(len(shots[f'painted_{c}']) for c in names)
    fig, axs = plt.subplots(
        2 * len(names), n, figsize=(2.2 * n, 4.6 * len(names)), squeeze=False
    )
    for r, c in enumerate(names):
        for k, kind in enumerate(('painted', 'real')):
            imgs = shots.get(f'{kind}_{c}')
            masks = shots.get(f'{kind}_{c}_mask')
            for i in range(n):
                ax = axs[2 * r + k, i]
                ax.axis('off')
                if imgs is None or masks is None or i >= len(imgs):
                    continue
                ax.imshow(imgs[i].permute(1, 2, 0).numpy())
                ax.contour(
                    (masks[i] == CLASSES.index(c)).numpy(),
                    levels=[0.5],
                    colors='red',
                    linewidths=0.6,
                )
                ax.set_title(f'{kind} {c}', fontsize=8)
    fig.suptitle(
        'CSIA-painted structures (into label-free held-out crops) beside real ones'
    )
    fig.tight_layout()
    fig.savefig(out, dpi=70)
    plt.close(fig)
