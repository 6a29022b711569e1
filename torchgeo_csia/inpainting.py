"""Train and evaluate CSIA inpainters on a scene pack (torch, Pillow and smp only).

The network learns to reconstruct real structures whose pixels were holed (the
authors' idea), with holes that cover whole objects (the class's pixels in the crop,
dilated), so no part of the structure is left in the context to copy: at
augmentation time the structure is painted onto clear ground, and training should
look like that. Loss: L1 on the hole plus an L1 on image gradients (a texture term;
see :func:`~torchgeo_csia.losses.texture_ratio` for how it is measured), and
optionally an adversarial term from a patch critic
(:func:`~torchgeo_csia.models.critic.patch_critic`), used to fine-tune trained
networks. The losses, the critic and the context swap are those of
:class:`~torchgeo_csia.tasks.InpaintingTask`, imported from :mod:`torchgeo_csia.losses`,
:mod:`torchgeo_csia.models.critic` and :mod:`torchgeo_csia.transforms.structures`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from .losses import critic_loss, fill_loss, gradient_l1, hole_l1, texture_ratio
from .models.critic import patch_critic
from .models.inpainter import Inpainter, inpainter
from .transforms.csia import CLASS_NAMES
from .transforms.structures import BACKGROUND, paste, swap_context
from .transforms.structures import dilate as grow

#: least background share of a crop that counts as label-free (as in the realism
#: measure)
FREE = 0.95


@dataclass
class Pack:
    """Scenes in memory.

    ``images`` N x C x H x W float (normalised), ``labels`` N x H x W uint8 (csia
    scheme), ``records`` from ``scenes.json``.
    """

    images: Tensor
    labels: Tensor
    records: list[dict[str, Any]]
    image: str

    def split(self, *names: str) -> list[int]:
        """Indices of the scenes in the named splits."""
        return [i for i, r in enumerate(self.records) if r['split'] in names]

    @cached_property
    def sun(self) -> Tensor:
        """``N x 2`` sun azimuth and elevation of each scene, on the images' device."""
        angles = [[r['sun_azimuth'], r['sun_elevation']] for r in self.records]
        return torch.tensor(angles, device=self.images.device)


def load_pack(folder: str, device: str | torch.device = 'cpu') -> Pack:
    """Read a pack written by :func:`torchgeo_csia.pack.pack_scenes`.

    Raises:
        ValueError: If *folder* is not a pack.
    """
    meta_path = os.path.join(folder, 'scenes.json')
    if not os.path.exists(meta_path):
        raise ValueError(f'{folder} is not a scene pack (no scenes.json)')
    with open(meta_path) as f:
        meta = json.load(f)
    images, labels = [], []
    for r in meta['scenes']:
        base = os.path.join(folder, r['scene'])
        if meta['image'] == 'photo':
            img = np.asarray(Image.open(base + '.jpg').convert('RGB')).transpose(
                2, 0, 1
            )
        else:
            img = np.load(base + '.npy')
        images.append(torch.from_numpy(img.astype(np.float32)))
        labels.append(torch.from_numpy(np.array(Image.open(base + '.png'))))
    mean, std = meta['normalization']
    stack = (torch.stack(images) - mean) / std
    return Pack(
        stack.to(device), torch.stack(labels).to(device), meta['scenes'], meta['image']
    )


def class_mean(pack: Pack, cls: int) -> Tensor:
    """Per-band mean of the class's pixels in the training scenes."""
    ids = pack.split('train')
    where = pack.labels[ids] == cls
    return torch.stack(
        [pack.images[ids, b][where].mean() for b in range(pack.images.shape[1])]
    )


def hole_mean(img: Tensor, hole: Tensor) -> Tensor:
    """``B x C`` mean of each sample's pixels inside its hole."""
    h = hole[:, None].to(img.dtype)
    return (img * h).sum((2, 3)) / h.sum((2, 3)).clamp(min=1)


def structure_means(
    pack: Pack, sites: Tensor, cls: int, size: int, count: int = 256
) -> Tensor:
    """``count x C`` radiance means of real structures (training crops at *sites*)."""
    img, lab = crops(pack, pick(sites, count, seed=5), size)
    return hole_mean(img, lab == cls).cpu()


def hole_of(labels: Tensor, cls: int, dilate: int) -> Tensor:
    """The class's pixels, dilated by *dilate* pixels (so the whole object is holed)."""
    return grow(labels == cls, dilate)


#: step in pixels between candidate crop corners
STRIDE = 16


def _share_map(labels: Tensor, cls: int, size: int) -> Tensor:
    """The class's share in each ``size`` crop of one scene, corners every STRIDE."""
    m = (labels == cls).float()[None, None]
    return F.avg_pool2d(m, size, stride=STRIDE)[0, 0]


def crop_sites(
    labels: Tensor, scenes: list[int], cls: int, size: int, share: tuple[float, float]
) -> Tensor:
    """``K x 3`` (scene, row, col) of crops whose class share lies in *share*."""
    sites = []
    for s in scenes:
        frac = _share_map(labels[s], cls, size)
        ok = torch.nonzero((frac >= share[0]) & (frac <= share[1]))
        sites.append(torch.cat([torch.full_like(ok[:, :1], s), ok * STRIDE], 1))
    return torch.cat(sites) if sites else torch.zeros(0, 3, dtype=torch.long)


def site_shares(labels: Tensor, sites: Tensor, cls: int, size: int) -> Tensor:
    """The class's share in each crop at *sites* (from :func:`crop_sites`)."""
    out = torch.zeros(len(sites), device=labels.device)
    for s in set(sites[:, 0].tolist()):
        rows = sites[:, 0] == s
        frac = _share_map(labels[s], cls, size)
        out[rows] = frac[sites[rows, 1] // STRIDE, sites[rows, 2] // STRIDE]
    return out


def pick(sites: Tensor, count: int, seed: int) -> Tensor:
    """Up to *count* of *sites* (on the CPU), drawn without replacement, seeded."""
    g = torch.Generator().manual_seed(seed)
    sites = sites.cpu()
    return sites[torch.randperm(len(sites), generator=g)[:count]]


def crop_batch(pack: Pack, sites: Tensor, size: int) -> dict[str, Tensor]:
    """A TorchGeo-style batch of the crops at *sites*, with each scene's sun."""
    image, labels = crops(pack, sites, size)
    sun = pack.sun[sites[:, 0].to(pack.sun.device)]
    return {
        'image': image,
        'mask': labels.long(),
        'sun_azimuth': sun[:, 0],
        'sun_elevation': sun[:, 1],
    }


def crops(pack: Pack, sites: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """Images and labels of the crops at *sites*."""
    imgs = [pack.images[s, :, y : y + size, x : x + size] for s, y, x in sites.tolist()]
    labs = [pack.labels[s, y : y + size, x : x + size] for s, y, x in sites.tolist()]
    return torch.stack(imgs), torch.stack(labs)


def diffusion_fill(image: Tensor, hole: Tensor, iters: int = 60) -> Tensor:
    """Harmonic (diffusion) inpainting, coarse to fine: a Telea-style baseline."""
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


@dataclass
class TrainConfig:
    """Settings of one inpainter training run (recorded in the checkpoint)."""

    cls: str = 'cloud'
    steps: int = 2000
    batch_size: int = 32
    size: int = 256
    lr: float = 1e-3
    texture: float = 1.0
    dilate: int = 4
    share: tuple[float, float] = (0.03, 0.7)
    arch: str = 'UnetPlusPlus'
    encoder: str = 'tu-tinynet_c'
    decoder_channels: tuple[int, ...] = (128, 64, 32, 16, 16)
    hole_channel: bool = True
    #: what the hole holds: 'none' zeros; 'class' the class's mean radiance; 'sample'
    #: each structure's own mean in training and a table of real structures' means
    #: when painting (a brightness/thickness level)
    condition: str = 'none'
    hole_value: Any = None
    #: weight of the adversarial (hinge, patch critic) term; 0 trains without one
    adversarial: float = 0.0
    #: width of the patch critic's first layer
    critic_width: int = 32
    #: share of each batch whose structure is moved onto a label-free crop of
    #: another training scene (the margin ring then holds that crop's ground), so
    #: the fill cannot lean on a context that already looks like the class
    swap: float = 0.0
    #: draw crops in proportion to the class's pixels in them, so every structure
    #: pixel is seen about as often (uniform draws favour scenes where the class
    #: is patchy over scenes it covers widely)
    weighted: bool = False
    #: least background share of the crops the structures are moved onto
    swap_free: float = FREE
    #: the critic's real examples: 'own' (each crop as it is, the structure in its
    #: own scene) or 'swapped' (the real structure moved onto the same ground as
    #: the fill, so context cannot tell real from painted and the critic judges
    #: the structure alone)
    critic_real: str = 'own'
    #: decay of an exponential moving average of the weights, exported instead of
    #: the last weights (steadies adversarial training); 0 keeps none
    ema: float = 0.0
    #: exported weights to start from (fine-tuning), or None
    init: str | None = None
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def build(cfg: TrainConfig, bands: int) -> Inpainter:
    """The untrained network a config describes."""
    return inpainter(
        bands,
        encoder=cfg.encoder,
        arch=cfg.arch,
        hole_channel=cfg.hole_channel,
        decoder_channels=cfg.decoder_channels,
        hole_value=cfg.hole_value,
        margin=cfg.dilate,
    )


def _augment(img: Tensor, lab: Tensor) -> tuple[Tensor, Tensor]:
    if torch.rand(()) < 0.5:
        img, lab = img.flip(-1), lab.flip(-1)
    if torch.rand(()) < 0.5:
        img, lab = img.flip(-2), lab.flip(-2)
    if torch.rand(()) < 0.5:
        img, lab = img.transpose(-1, -2), lab.transpose(-1, -2)
    return img, lab


def train(
    pack: Pack,
    cfg: TrainConfig,
    out: str,
    resume: bool = True,
    until: int | None = None,
    max_minutes: float | None = None,
) -> Inpainter:
    """Train an inpainter for ``cfg.cls`` on the pack's training scenes.

    Checkpoints go to ``out/last.ckpt`` every 250 steps; with *resume* a run picks up
    from there (with the same config). A progress line is printed every 100 steps.
    *until* stops early after that many steps, *max_minutes* after that much time
    (the run can be resumed; the checkpoint records the steps done).

    Raises:
        ValueError: If no crop holds the class, or a checkpoint in *out* was made
            with another config.
    """
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    if cfg.critic_real not in ('own', 'swapped'):
        raise ValueError(
            f"critic_real must be 'own' or 'swapped', got {cfg.critic_real!r}"
        )
    device = pack.images.device
    cls = CLASS_NAMES[cfg.cls]
    torch.manual_seed(cfg.seed)
    sites = crop_sites(pack.labels, pack.split('train'), cls, cfg.size, cfg.share)
    if len(sites) == 0:
        raise ValueError(f'no training crop holds {cfg.cls} within {cfg.share}')
    weights = (
        site_shares(pack.labels, sites, cls, cfg.size).cpu() if cfg.weighted else None
    )
    if cfg.swap:
        free = (cfg.swap_free, 1.0)
        ground = crop_sites(
            pack.labels, pack.split('train'), BACKGROUND, cfg.size, free
        )
        if len(ground) == 0:
            raise ValueError(
                f'swap: no {cfg.size} px training crop is at least '
                f'{cfg.swap_free:.0%} background (lower swap_free)'
            )
    if cfg.condition != 'none' and cfg.hole_value is None:
        if cfg.condition == 'sample':
            cfg.hole_value = structure_means(pack, sites, cls, cfg.size).tolist()
        else:
            cfg.hole_value = class_mean(pack, cls).tolist()
    model = (
        build(cfg, pack.images.shape[1])
        .to(device)
        .to(memory_format=torch.channels_last)
    )
    if cfg.init:
        model.load_state_dict(torch.load(cfg.init, map_location=device))
    critic = (
        patch_critic(pack.images.shape[1], cfg.critic_width).to(device)
        if cfg.adversarial
        else None
    )
    copt = (
        torch.optim.Adam(critic.parameters(), lr=2 * cfg.lr, betas=(0.5, 0.999))
        if critic
        else None
    )
    ema = (
        torch.optim.swa_utils.AveragedModel(
            model,
            multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(cfg.ema),  # type: ignore[no-untyped-call]
            use_buffers=True,
        )
        if cfg.ema
        else None
    )
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, cfg.lr, total_steps=cfg.steps, pct_start=0.05
    )
    os.makedirs(out, exist_ok=True)
    ckpt = os.path.join(out, 'last.ckpt')
    start = 0
    if resume and os.path.exists(ckpt):
        state = torch.load(ckpt, map_location=device)
        if state['config'] != json.loads(json.dumps(asdict(cfg))):
            raise ValueError(
                f'{ckpt} was made with another config ({state["config"]}); '
                'use a new output folder or resume=False'
            )
        model.load_state_dict(state['model'])
        if ema:
            ema.load_state_dict(state['ema'])
        if critic and copt:
            critic.load_state_dict(state['critic'])
            copt.load_state_dict(state['copt'])
        opt.load_state_dict(state['opt'])
        sched.load_state_dict(state['sched'])
        torch.set_rng_state(state['rng'])
        start = state['step']
        print(f'resumed {cfg.cls} from step {start}')
    bar = (
        tqdm(total=cfg.steps, initial=start, desc=cfg.cls, mininterval=10)
        if tqdm
        else None
    )
    t0 = time.time()
    model.train()
    stop = cfg.steps if until is None else min(until, cfg.steps)
    done = start
    for step in range(start, stop):
        if weights is None:
            pick = sites[torch.randint(len(sites), (cfg.batch_size,))]
        else:
            pick = sites[torch.multinomial(weights, cfg.batch_size, replacement=True)]
        img, lab = _augment(*crops(pack, pick, cfg.size))
        hole = hole_of(lab, cls, cfg.dilate)
        real = img
        if cfg.swap:
            clear = ground[torch.randint(len(ground), (cfg.batch_size,))]
            img = swap_context(
                img, lab == cls, crops(pack, clear, cfg.size)[0], cfg.swap
            )
        fill = hole_mean(img, lab == cls) if cfg.condition == 'sample' else None
        with torch.autocast(
            device.type, dtype=torch.bfloat16, enabled=device.type == 'cuda'
        ):
            pred = model(img.contiguous(memory_format=torch.channels_last), hole, fill)
        pred = pred.float()
        filled = torch.where(hole[:, None], pred, img)
        l1 = hole_l1(pred, img, hole)
        tex = gradient_l1(filled, img, hole) if cfg.texture else pred.new_zeros(())
        loss = l1 + cfg.texture * tex
        adv = pred.new_zeros(())
        if critic and copt:
            with torch.autocast(
                device.type, dtype=torch.bfloat16, enabled=device.type == 'cuda'
            ):
                truth = img if cfg.critic_real == 'swapped' else real
                d_loss, w = critic_loss(critic, truth, filled, hole)
                copt.zero_grad(set_to_none=True)
                d_loss.backward()  # type: ignore[no-untyped-call]
                copt.step()
                adv = fill_loss(critic, filled, hole, w)
            loss = loss + cfg.adversarial * adv
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
        sched.step()
        if ema:
            ema.update_parameters(model)
        if bar:
            bar.update(1)
        if (step + 1) % 100 == 0:
            print(
                f'{cfg.cls} step {step + 1}/{cfg.steps} l1 {l1.item():.4f} '
                f'texture {tex.item():.4f} adversarial {adv.item():.3f} '
                f'{time.time() - t0:.0f}s',
                flush=True,
            )
        late = max_minutes is not None and time.time() - t0 > 60 * max_minutes
        if late:
            print(f'{cfg.cls}: time limit reached after step {step + 1}', flush=True)
        if (step + 1) % 250 == 0 or step + 1 == stop or late:
            torch.save(
                {
                    'model': model.state_dict(),
                    'opt': opt.state_dict(),
                    'critic': critic.state_dict() if critic else None,
                    'ema': ema.state_dict() if ema else None,
                    'copt': copt.state_dict() if copt else None,
                    'sched': sched.state_dict(),
                    'rng': torch.get_rng_state(),
                    'step': step + 1,
                    'config': json.loads(json.dumps(asdict(cfg))),
                },
                ckpt,
            )
        done = step + 1
        if late:
            break
    if bar:
        bar.close()
    if ema:
        model = cast(Inpainter, ema.module)  # a deep copy of the Inpainter
    model.steps_done = done  # type: ignore[assignment]
    model.eval()
    return model


def export(model: nn.Module, folder: str, stem: str) -> str:
    """Save the weights in fp16 as ``<stem>-<sha256 prefix>.pth``; returns the path.

    The tensors are saved on the CPU, so the file loads on any machine with torch's
    default ``map_location``.
    """
    state = {
        k: (v.half() if v.is_floating_point() else v).detach().cpu()
        for k, v in model.state_dict().items()
    }
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f'{stem}.tmp')
    torch.save(state, tmp)
    with open(tmp, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:8]
    path = os.path.join(folder, f'{stem}-{digest}.pth')
    os.replace(tmp, path)
    return path


def load_exported(
    path: str, bands: int, device: str | torch.device = 'cpu'
) -> Inpainter:
    """Rebuild an inpainter saved by :func:`export`.

    Its config sits in the ``.json`` written beside it by ``train-inpainter``.
    """
    with open(path.rsplit('.', 1)[0] + '.json') as f:
        cfg = TrainConfig(**json.load(f)['config'])
    model = build(cfg, bands)
    model.load_state_dict(torch.load(path, map_location='cpu'))
    return model.to(device).eval()


def heldout_crops(
    pack: Pack,
    cls: int,
    size: int,
    count: int,
    share: tuple[float, float],
    dilate: int,
    seed: int,
    splits: tuple[str, ...] = ('val', 'test'),
) -> tuple[Tensor, Tensor]:
    """Seeded crops of held-out scenes holding *cls*, with whole-object holes."""
    size = min(size, *pack.labels.shape[1:])
    sites = crop_sites(pack.labels, pack.split(*splits), cls, size, share)
    sites = pick(sites, count, seed)
    if len(sites) == 0:
        raise ValueError(f'no {size} px crop of {splits} holds class {cls} in {share}')
    img, lab = crops(pack, sites, size)
    return img, hole_of(lab, cls, dilate)


@torch.no_grad()
def evaluate(
    pack: Pack,
    models: dict[str, Inpainter],
    cls_name: str,
    dilate: int = 4,
    size: int = 256,
    count: int = 256,
    share: tuple[float, float] = (0.03, 0.7),
    splits: tuple[str, ...] = ('val', 'test'),
) -> list[dict[str, Any]]:
    """Hole reconstruction on held-out scenes.

    Each model against the class-mean fill and the diffusion fill, on the same
    seeded crops.

    Returns:
        One row per method: L1, PSNR (on the normalised image; 1 is the full range of
        a photo), texture ratio, and the number of crops.
    """
    cls = CLASS_NAMES[cls_name]
    img, hole = heldout_crops(pack, cls, size, count, share, dilate, 1234, splits)
    mean = class_mean(pack, cls)
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
    h = hole[:, None].float()
    n = (h.sum() * img.shape[1]).clamp(min=1)
    for name, fill in fills.items():
        filled = (
            paste(img, fill, hole, 0.0, 1.0)
            if pack.image == 'photo'
            else torch.where(hole[:, None], fill, img)
        )
        err = filled - img
        l1 = ((err.abs() * h).sum() / n).item()
        mse = ((err**2 * h).sum() / n).item()
        rows.append(
            {
                'class': cls_name,
                'method': name,
                'l1': l1,
                'psnr': 10 * math.log10(1.0 / max(mse, 1e-12)),
                'texture': texture_ratio(filled, img, hole).item(),
                'crops': len(img),
                'hole_share': hole.float().mean().item(),
            }
        )
    return rows


@torch.no_grad()
def figure(
    pack: Pack,
    models: Sequence[tuple[str, str, Inpainter]],
    out: str,
    per_class: int = 4,
    size: int = 256,
    dilate: int = 4,
) -> None:
    """Held-out patches before and after inpainting.

    One row per ``(class, name, model)``: the real patch, the holed input, and the
    network's fill pasted into the hole (the hole outlined), on crops of the pack's
    val and test scenes.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = []
    for cls_name, name, model in models:
        cls = CLASS_NAMES[cls_name]
        img, hole = heldout_crops(pack, cls, size, per_class, (0.1, 0.5), dilate, 7)
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
