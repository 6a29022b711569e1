"""Inpainter evaluation: hole reconstruction on held-out scenes, and its figure.

Each inpainter refills real structures of held-out crops, holed whole (the class's
pixels dilated by the training margin), beside two fills without a network: the
class's mean radiance and a diffusion fill. L1, PSNR and texture ratio inside the
hole are :class:`~torchgeo_csia.tasks.inpainting.HoleReconstruction`'s, the metric
:class:`~torchgeo_csia.tasks.InpaintingTask` validates with.

.. versionadded:: 0.1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ..constants import CLASS_INDEX
from ..models.inpainter import Inpainter
from ..tasks.inpainting import HoleReconstruction
from ..transforms.structures import dilate, paste
from .scenes import Scenes


def class_mean(scenes: Scenes, cls: int) -> Tensor:
    """Per-band mean of the class's pixels in the training scenes.

    Args:
        scenes: the scenes.
        cls: the class index.

    Returns:
        ``C`` means.
    """
    pixels = []
    for s in scenes.split('train'):
        image, labels = scenes.scene(s)
        pixels.append(image[:, labels == cls])
    return torch.cat(pixels, 1).mean(1)


def diffusion_fill(image: Tensor, hole: Tensor, iters: int = 60) -> Tensor:
    """Harmonic (diffusion) inpainting, coarse to fine: a Telea-style baseline.

    Args:
        image: ``B x C x H x W``.
        hole: ``B x H x W`` boolean.
        iters: Jacobi iterations per scale.

    Returns:
        The image with its holes filled.
    """
    if min(image.shape[-2:]) >= 16:
        coarse_img = F.avg_pool2d(image * ~hole[:, None], 2)
        weight = F.avg_pool2d((~hole[:, None]).float(), 2)
        coarse = coarse_img / weight.clamp(min=1e-6)
        coarse_hole = weight[:, 0] < 0.5
        init = F.interpolate(diffusion_fill(coarse, coarse_hole, iters), scale_factor=2)
        x = torch.where(hole[:, None], init, image)
    else:
        x = torch.where(
            hole[:, None], image[~hole[:, None].expand_as(image)].mean(), image
        )
    kernel = torch.tensor(
        [[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=image.dtype, device=image.device
    )
    kernel = (kernel / 4).expand(image.shape[1], 1, 3, 3)
    for _ in range(iters):
        avg = F.conv2d(
            F.pad(x, (1, 1, 1, 1), mode='replicate'), kernel, groups=image.shape[1]
        )
        x = torch.where(hole[:, None], avg, image)
    return x


def heldout_crops(
    scenes: Scenes,
    cls: int,
    size: int,
    count: int,
    share: tuple[float, float],
    margin: int,
    seed: int,
    splits: Sequence[str] = ('val', 'test'),
) -> tuple[Tensor, Tensor]:
    """Seeded crops of held-out scenes holding *cls*, with whole-object holes.

    Args:
        scenes: the scenes.
        cls: the class index.
        size: crop size (px; at most the scenes' size).
        count: most crops.
        share: least and most share of the class in a crop.
        margin: pixels the hole reaches beyond the structure.
        seed: seed of the draw.
        splits: the scenes' splits.

    Returns:
        Images and holes.

    Raises:
        ValueError: If no crop of those scenes holds the class in *share*.
    """
    size = scenes.crop_size(size)
    sites = scenes.share_sites(scenes.split(*splits), cls, size, share, count, seed)
    batch = scenes.batch(sites, size)
    return batch['image'], dilate(batch['mask'] == cls, margin)


@torch.no_grad()
def evaluate(
    scenes: Scenes,
    models: dict[str, Inpainter],
    cls_name: str,
    margin: int = 4,
    size: int = 256,
    count: int = 256,
    share: tuple[float, float] = (0.03, 0.7),
    splits: Sequence[str] = ('val', 'test'),
) -> list[dict[str, Any]]:
    """Hole reconstruction on held-out scenes, each model against two baselines.

    1. Draw up to *count* seeded crops of the scenes of *splits* whose share of the
       class lies in *share*; hole the class's pixels dilated by *margin*.
    2. Fill the holes with the class-mean radiance of the training scenes, with a
       diffusion fill, and with each model; paste each fill into its hole (clipped
       to the photo's range for quicklooks).
    3. Score each with :class:`~torchgeo_csia.tasks.inpainting.HoleReconstruction`.

    Args:
        scenes: the scenes.
        models: inpainters by name.
        cls_name: the class painted.
        margin: pixels the hole reaches beyond the structure.
        size: crop size (px).
        count: most crops.
        share: least and most share of the class in a crop.
        splits: the held-out scenes' splits.

    Returns:
        One row per method: ``l1``, ``psnr`` (dB, for a value range of 1),
        ``texture`` (ratio), ``crops`` and ``hole_share``.
    """
    cls = CLASS_INDEX[cls_name]
    img, hole = heldout_crops(scenes, cls, size, count, share, margin, 1234, splits)
    mean = class_mean(scenes, cls)
    fills: dict[str, Tensor] = {
        'class mean': mean[None, :, None, None].expand_as(img),
        'diffusion': diffusion_fill(img, hole),
    }
    for name, m in models.items():
        m.eval()
        outs = []
        for i in range(0, len(img), 32):
            with torch.autocast(
                img.device.type, dtype=torch.bfloat16, enabled=img.is_cuda
            ):
                outs.append(m(img[i : i + 32], hole[i : i + 32]).float())
        fills[name] = torch.cat(outs)
    rows = []
    for name, fill in fills.items():
        filled = (
            paste(img, fill, hole, 0.0, 1.0)
            if scenes.image == 'photo'
            else torch.where(hole[:, None], fill, img)
        )
        metric = HoleReconstruction().to(img.device)
        metric.update(filled, img, hole)
        scores = metric.compute()
        rows.append(
            {
                'class': cls_name,
                'method': name,
                **{k: v.item() for k, v in scores.items()},
                'crops': len(img),
                'hole_share': hole.float().mean().item(),
            }
        )
    return rows


def evaluation_table(rows: list[dict[str, Any]]) -> str:
    """Rows of :func:`evaluate` as a Markdown table.

    Args:
        rows: the rows.

    Returns:
        The table.
    """
    lines = [
        '| class | method | L1 | PSNR (dB) | texture ratio | crops |',
        '|---|---|---|---|---|---|',
    ]
    for r in rows:
        lines.append(
            f'| {r["class"]} | {r["method"]} | {r["l1"]:.4f} | {r["psnr"]:.2f} | '
            f'{r["texture"]:.2f} | {r["crops"]} |'
        )
    return '\n'.join(lines)


@torch.no_grad()
def figure(
    scenes: Scenes,
    models: Sequence[tuple[str, str, Inpainter]],
    out: str,
    per_class: int = 4,
    size: int = 256,
) -> None:
    """Held-out patches before and after inpainting.

    One row per ``(class, name, model)``: the real patch, the holed input, and the
    network's fill pasted into the hole (the hole outlined), on crops of the val
    and test scenes; each model holes as far as it was trained to (its margin).

    Args:
        scenes: the scenes.
        models: ``(class, name, inpainter)`` per row.
        out: the PNG to write.
        per_class: crops per row.
        size: crop size (px).
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = []
    for cls_name, name, model in models:
        cls = CLASS_INDEX[cls_name]
        img, hole = heldout_crops(
            scenes, cls, size, per_class, (0.1, 0.5), model.margin, 7
        )
        low, high = model.value_range
        filled = paste(img, model.eval()(img, hole), hole, low, high)
        rows.append((name, img, hole, filled))
    fig, axs = plt.subplots(
        len(rows),
        3 * per_class,
        figsize=(2.2 * 3 * per_class, 2.4 * len(rows)),
        squeeze=False,
    )
    for r, (name, img, hole, filled) in enumerate(rows):
        for i in range(len(img)):
            views = (img[i], img[i] * ~hole[i], filled[i])
            for j, (view, title) in enumerate(
                zip(views, ('real', 'holed', name), strict=True)
            ):
                ax = axs[r, 3 * i + j]
                if len(view) > 3:  # 10-band data: B4 B3 B2, stretched
                    view = view[[3, 2, 1]]
                    view = (view - view.min()) / (view.max() - view.min()).clamp(
                        min=1e-6
                    )
                ax.imshow(view.permute(1, 2, 0).clamp(0, 1).cpu().numpy())
                ax.contour(
                    hole[i].cpu().numpy(), levels=[0.5], colors='red', linewidths=0.6
                )
                ax.set_title(title, fontsize=8)
        for ax in axs[r]:
            ax.axis('off')
    fig.suptitle('held-out SPARCS quicklooks: real, holed (whole structure), inpainted')
    fig.tight_layout()
    fig.savefig(out, dpi=70)
    plt.close(fig)
