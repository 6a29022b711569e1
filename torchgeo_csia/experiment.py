"""BASE vs CSIA segmentation on a scene pack, evaluation and the realism measure.

Torch, kornia and smp only, so it runs on a GPU machine without the geo stack (the
LightningCLI configs in ``configs/`` run the same recipe through TorchGeo where the
geo stack is installed). BASE and CSIA runs differ only in the CSIA step.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .constants import CLASSES, IGNORE_INDEX, STRUCTURES
from .inpainting import FREE, Pack, crop_batch, crop_sites, crops, pick
from .models.inpainter import Inpainter
from .models.segmenter import segmenter
from .transforms import (
    RandomCloudShadow,
    RandomShadowForClouds,
    RandomSnow,
    StructureSource,
    sun_geometry,
)
from .transforms.csia import CSIAAugmentationBase
from .transforms.structures import (
    BACKGROUND,
    CLOUD,
    NUM_CLASSES,
    SHADOW,
    SNOW,
    random_flips,
    transplant,
)


def random_batch(
    pack: Pack, scenes: list[int], batch: int, size: int
) -> dict[str, Tensor]:
    """Random crops of the given scenes, with their sun geometry."""
    h, w = pack.images.shape[-2:]
    scene = torch.tensor(scenes)[torch.randint(len(scenes), (batch,))]
    ys = torch.randint(h - size + 1, (batch,))
    xs = torch.randint(w - size + 1, (batch,))
    return crop_batch(pack, torch.stack([scene, ys, xs], 1), size)


@torch.no_grad()
def predict_scene(
    model: nn.Module, image: Tensor, tile: int = 512, overlap: int = 64
) -> Tensor:
    """Full-scene sliding-window logits (``K x H x W``) of a ``C x H x W`` image.

    Tiles overlap and their logits are averaged; the scene is reflect-padded so
    every tile is whole.
    """
    h, w = image.shape[-2:]
    step = tile - overlap
    ph = max(tile, math.ceil((h - overlap) / step) * step + overlap) - h
    pw = max(tile, math.ceil((w - overlap) / step) * step + overlap) - w
    mode = 'reflect' if ph < h and pw < w else 'replicate'  # reflect needs pad < size
    x = F.pad(image[None], (0, pw, 0, ph), mode=mode)
    corners = [
        (y0, x0)
        for y0 in range(0, x.shape[-2] - overlap, step)
        for x0 in range(0, x.shape[-1] - overlap, step)
    ]
    tiles = torch.cat([x[..., y : y + tile, c : c + tile] for y, c in corners])
    with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=image.is_cuda):
        logits = torch.cat(
            [model(tiles[i : i + 8]).float() for i in range(0, len(tiles), 8)]
        )
    out = torch.zeros(logits.shape[1], *x.shape[-2:], device=image.device)
    count = torch.zeros(1, *x.shape[-2:], device=image.device)
    for (y, c), tile_logits in zip(corners, logits, strict=True):
        out[:, y : y + tile, c : c + tile] += tile_logits
        count[:, y : y + tile, c : c + tile] += 1
    return (out / count)[:, :h, :w]


@torch.no_grad()
def confusion(model: nn.Module, pack: Pack, scenes: list[int]) -> Tensor:
    """``K x K`` confusion matrix over full scenes (rows truth, columns prediction).

    Labels outside the scheme are ignored.
    """
    model.eval()
    conf = torch.zeros(
        NUM_CLASSES, NUM_CLASSES, dtype=torch.long, device=pack.images.device
    )
    for s in scenes:
        pred = predict_scene(model, pack.images[s]).argmax(0)
        truth = pack.labels[s].long()
        ok = truth < NUM_CLASSES
        conf += torch.bincount(
            truth[ok] * NUM_CLASSES + pred[ok], minlength=NUM_CLASSES**2
        ).reshape(NUM_CLASSES, NUM_CLASSES)
    return conf


def iou(conf: Tensor) -> dict[str, float]:
    """Per-class IoU, mean IoU and per-class recall from a confusion matrix.

    A class absent from the truth (an empty row of *conf*) has IoU and recall 0 but
    is left out of ``'mean'``, which averages the present classes only (NaN when
    none is present): a split without snow is not scored as if snow were missed.
    """
    c = conf.double()
    tp = c.diag()
    ious = tp / (c.sum(0) + c.sum(1) - tp).clamp(min=1)
    recall = tp / c.sum(1).clamp(min=1)
    present = c.sum(1) > 0
    out = {name: ious[i].item() for i, name in enumerate(CLASSES)}
    out['mean'] = ious[present].mean().item() if present.any() else math.nan
    out.update({f'recall_{name}': recall[i].item() for i, name in enumerate(CLASSES)})
    return out


@dataclass
class SegConfig:
    """One segmentation run (recorded with its results)."""

    variant: str = 'base'
    seed: int = 0
    steps: int = 2500
    batch_size: int = 32
    size: int = 256
    lr: float = 2e-3
    p: float = 0.5
    min_free: float = 0.25  # chosen on val (docs/results.rst)
    #: RandomCloudShadow paints the shadow before the cloud
    shadow_first: bool = True
    encoder: str = 'tu-efficientnet_b0'


def csia_modes(
    cfg: SegConfig, inpainters: dict[str, Inpainter], source: StructureSource | str
) -> list[CSIAAugmentationBase]:
    """The CSIA modes the shipped inpainters support, at the config's p and reach."""
    bf16 = torch.bfloat16
    return [
        RandomCloudShadow(
            inpainters['cloud'],
            inpainters['shadow'],
            p=cfg.p,
            min_free=cfg.min_free,
            source=source,
            autocast=bf16,
            shadow_first=cfg.shadow_first,
        ),
        RandomShadowForClouds(inpainters['shadow'], p=cfg.p, autocast=bf16),
        RandomSnow(
            inpainters['snow'],
            p=cfg.p,
            min_free=cfg.min_free,
            source=source,
            autocast=bf16,
        ),
    ]


def apply_modes(
    modes: list[CSIAAugmentationBase],
    batch: dict[str, Tensor],
    reach: dict[str, float] | None = None,
) -> tuple[Tensor, Tensor]:
    """Run the CSIA modes one after the other on a batch, with its sun geometry.

    Adds each mode's count of changed samples to *reach*.
    """
    image, mask = batch['image'], batch['mask']
    for mode in modes:
        with sun_geometry(mode, batch['sun_azimuth'], batch['sun_elevation']):
            out = mode(image, mask)
        image, mask = out[0], out[1]
        if reach is not None:
            name = type(mode).__name__
            reach[name] = reach.get(name, 0.0) + len(mode.last_params['indices'])
    return image, mask


def train_segmenter(
    pack: Pack,
    cfg: SegConfig,
    inpainters: dict[str, Inpainter] | None = None,
    source: StructureSource | str = 'sparcs',
    max_minutes: float | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train a U-Net++ on random crops of the pack's training scenes.

    Cross-entropy, AdamW with a one-cycle schedule, bf16 autocast on CUDA, random
    flips and transposes; the ``csia`` variant runs :func:`csia_modes` first.

    Returns:
        The model and a log (steps done, losses, reach of each CSIA mode).
    """
    device = pack.images.device
    torch.manual_seed(cfg.seed)
    model = segmenter(pack.images.shape[1], NUM_CLASSES, cfg.encoder).to(device)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, cfg.lr, total_steps=cfg.steps, pct_start=0.05
    )
    modes = csia_modes(cfg, inpainters or {}, source) if cfg.variant == 'csia' else []
    train_ids = pack.split('train')
    reach: dict[str, float] = {}
    log: dict[str, Any] = {'config': asdict(cfg), 'loss': []}
    t0 = time.time()
    step = 0
    for step in range(cfg.steps):
        batch = random_batch(pack, train_ids, cfg.batch_size, cfg.size)
        image, mask = (
            apply_modes(modes, batch, reach)
            if modes
            else (batch['image'], batch['mask'])
        )
        image, mask = random_flips(image, mask)
        model.train()
        with torch.autocast(
            device.type, dtype=torch.bfloat16, enabled=device.type == 'cuda'
        ):
            logits = model(image.contiguous(memory_format=torch.channels_last))
        loss = F.cross_entropy(logits.float(), mask, ignore_index=IGNORE_INDEX)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        sched.step()
        if (step + 1) % 100 == 0:
            log['loss'].append(loss.item())
            print(
                f'{cfg.variant} seed {cfg.seed} step {step + 1}/{cfg.steps} '
                f'loss {loss.item():.4f} {time.time() - t0:.0f}s',
                flush=True,
            )
        if max_minutes is not None and time.time() - t0 > 60 * max_minutes:
            print(f'{cfg.variant} seed {cfg.seed}: time limit at step {step + 1}')
            break
    log['steps_done'] = step + 1
    log['seconds'] = time.time() - t0
    log['reach'] = {
        k: v / (log['steps_done'] * cfg.batch_size) for k, v in reach.items()
    }
    model.eval()
    return model, log


#: class shares of the training crops whose real structures :func:`realism` moves
#: onto the crops for its reference (those of the shipped bank's patches,
#: ``build-bank``)
SOURCE_SHARE = {CLOUD: (0.02, 0.6), SNOW: (0.02, 0.8)}


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
def realism(
    pack: Pack,
    model: nn.Module,
    inpainters: dict[str, Inpainter],
    source: StructureSource | str,
    scenes: list[int],
    count: int = 256,
    size: int = 256,
    examples: int = 6,
    min_free: float = FREE,
    shadow_first: bool = True,
) -> tuple[dict[str, float], dict[str, Tensor]]:
    """Share of painted pixels that *model* labels as the painted class.

    Structures are painted with the CSIA modes into label-free crops (at least
    *min_free* background) of *scenes*; the shares sit next to *model*'s recall of
    each class on real structures of the same scenes (full-scene inference), and
    next to a reference without a network: real structures of the training scenes
    moved onto the same crops with their pixels and as wide a ring of their own
    surroundings as the inpainters paint (``pasted_<class>``), which tells how
    much of the gap to the recall comes from the new context alone.

    Returns:
        ``{class: share, recall_<class>: recall, pasted_<class>: share, ...}`` and
        example crops (painted and real, uint8) for a figure.
    """
    model.eval()
    size = min(size, *pack.labels.shape[1:])
    sites = crop_sites(pack.labels, scenes, BACKGROUND, size, (min_free, 1.0))
    sites = pick(sites, count, seed=99)
    if len(sites) == 0:
        raise ValueError(
            f'no {size} px crop with >= {min_free:.0%} background in the scenes'
        )
    batch = crop_batch(pack, sites, size)
    cfg = SegConfig(p=1.0, min_free=min_free, shadow_first=shadow_first)
    cloudshadow, _, snow = csia_modes(cfg, inpainters, source)
    result: dict[str, float] = {}
    shots: dict[str, Tensor] = {}
    torch.manual_seed(0)
    order = (SHADOW, CLOUD) if shadow_first else (CLOUD, SHADOW)
    for mode, classes in ((cloudshadow, order), (snow, (SNOW,))):
        painted, mask = apply_modes([mode], batch)
        pred = _labels_of(model, painted)
        # the reference: real structures, cut from training crops like the bank's
        cut = crop_sites(
            pack.labels,
            pack.split('train'),
            classes[-1],
            size,
            SOURCE_SHARE[classes[-1]],
        )
        cut = pick(cut, count, seed=3)
        moved_pred = moved_mask = None
        if len(cut):  # else no reference (no training crop holds the class)
            src = crops(pack, cut[torch.arange(len(sites)) % len(cut)], size)
            moved, moved_mask = transplant(
                batch['image'],
                batch['mask'],
                src[0],
                src[1].long(),
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
    rec = iou(confusion(model, pack, scenes))
    for cls in (SHADOW, SNOW, CLOUD):
        name = CLASSES[cls]
        result[f'recall_{name}'] = rec[f'recall_{name}']
        result[f'ratio_{name}'] = result[name] / max(rec[f'recall_{name}'], 1e-9)
        if f'pasted_{name}' in result:
            result[f'ratio_pasted_{name}'] = result[f'pasted_{name}'] / max(
                rec[f'recall_{name}'], 1e-9
            )
        real = pick(
            crop_sites(pack.labels, scenes, cls, size, (0.2, 0.6)), examples, cls
        )
        if len(real):
            img, lab = crops(pack, real, size)
            shots[f'real_{name}'] = (img * 255).round().byte().cpu()
            shots[f'real_{name}_mask'] = lab.byte().cpu()
    return result, shots


@torch.no_grad()
def reach(
    pack: Pack,
    inpainters: dict[str, Inpainter],
    source: StructureSource | str,
    p: float,
    min_free: float,
    count: int = 1024,
    size: int = 256,
    shadow_first: bool = True,
    seed: int = 0,
    chunk: int = 128,
) -> dict[str, dict[str, float]]:
    """Share of training crops each CSIA mode may change and does change.

    Random crops of the pack's training scenes, as the segmenter trainer draws
    them, go through the modes in training order (cloud + shadow, shadow for
    clouds, snow; each sees the labels the one before wrote). Only the masks go
    through: the random parameters and labels are drawn as in training, but no
    network runs, so it is quick on a CPU.

    Returns:
        ``{mode: {'eligible': share, 'changed': share}}``: eligible by the mode's
        rule when it runs, changed (eligible and drawn with probability *p*).
    """
    cfg = SegConfig(p=p, min_free=min_free, shadow_first=shadow_first)
    modes = csia_modes(cfg, inpainters, source)
    size = min(size, *pack.labels.shape[1:])
    torch.manual_seed(seed)
    tally = {type(m).__name__: [0.0, 0.0] for m in modes}
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        batch = random_batch(pack, pack.split('train'), n, size)
        mask = batch['mask']
        for mode in modes:
            with sun_geometry(mode, batch['sun_azimuth'], batch['sun_elevation']):
                mask = mode(mask, data_keys=['mask'])
            t = tally[type(mode).__name__]
            t[0] += mode.last_params['eligible'].sum().item()
            # the painted samples: the selected ones within the mode's capacity
            t[1] += mode.last_params['valid'].sum().item()
    return {
        k: {'eligible': e / count, 'changed': c / count} for k, (e, c) in tally.items()
    }


def load_segmenter(
    path: str, in_channels: int, device: str | torch.device = 'cpu'
) -> nn.Module:
    """Rebuild a segmenter saved by ``train-segmenter`` (config in the ``.json``)."""
    with open(path.rsplit('.', 1)[0] + '.json') as f:
        cfg = SegConfig(**json.load(f)['config'])
    model = segmenter(in_channels, NUM_CLASSES, cfg.encoder)
    model.load_state_dict(torch.load(path, map_location='cpu', weights_only=True))
    return model.to(device).eval()


def dump(obj: Any, path: str) -> None:
    """Write *obj* as JSON."""
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1)


def realism_figure(shots: dict[str, Tensor], out: str) -> None:
    """Painted structures beside real ones, per class (from :func:`realism`)."""
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


def confusion_figure(conf: Tensor, out: str, title: str = '') -> None:
    """Row-normalised confusion matrix as a figure."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    c = conf.double()
    norm = (c / c.sum(1, keepdim=True).clamp(min=1)).cpu().numpy()
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.imshow(norm, cmap='Blues', vmin=0, vmax=1)
    for i in range(len(CLASSES)):
        for j in range(len(CLASSES)):
            ax.text(j, i, f'{norm[i, j]:.2f}', ha='center', va='center', fontsize=8)
    ax.set_xticks(range(len(CLASSES)), CLASSES, rotation=30)
    ax.set_yticks(range(len(CLASSES)), CLASSES)
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
