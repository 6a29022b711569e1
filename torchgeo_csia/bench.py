"""``torchgeo-csia bench``: CSIA throughput per mode against the authors' pattern.

Everything is timed side by side in one run on one device: each CSIA mode on a batch
in which every sample is eligible (p = 1, so the worst case), the authors' pattern
(one sample at a time through the same network, autograd on, fp32), and a bf16
training step of a U-Net++ resnet34 segmenter on the same batch, against which the
cloud + shadow mode at p = 0.5 is reported as an overhead.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Callable

import torch
from torch import Tensor

from .models.inpainter import Inpainter, inpainter
from .transforms import (
    RandomCloudShadow,
    RandomCopyPaste,
    RandomShadowForClouds,
    RandomSnow,
)
from .transforms.structures import CLOUD, paste


def _time(fn: Callable[[], object], device: torch.device, repeat: int) -> float:
    """Median seconds of *fn* after warm-up (device events on CUDA)."""
    # enough warm-up that cuDNN has tuned every batch-size bucket p < 1 can draw
    for _ in range(12):
        fn()
    times = []
    for _ in range(repeat):
        if device.type == 'cuda':
            start = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
            end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) / 1000)
        else:
            import time

            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return float(statistics.median(times))


def _masks(kind: str, b: int, size: int, device: torch.device) -> Tensor:
    mask = torch.zeros(b, size, size, dtype=torch.long, device=device)
    if kind in ('cloudy', 'labelled'):
        mask[:, : size // 4, : size // 2] = CLOUD  # 12.5 % cloud
    if kind == 'labelled':
        mask[:, size // 2 :, : size // 3] = 1
        mask[:, size // 2 :, size // 3 : size // 2] = 2
    return mask


def authors_pattern(nets: list[Inpainter], image: Tensor, hole: Tensor) -> Tensor:
    """The original per-sample loop: batch-1 forward passes with autograd on, fp32."""
    out = []
    for i in range(len(image)):
        x = image[i : i + 1]
        for net in nets:
            x = paste(x, net(x, hole[i : i + 1]), hole[i : i + 1], 0.0, 1.0)
        out.append(x.detach())
    return torch.cat(out)


def run(
    batch: int = 32,
    bands: int = 10,
    size: int = 256,
    encoder: str = 'tu-efficientnet_b0',
    repeat: int = 10,
    device: str | None = None,
    cudnn_benchmark: bool = True,
) -> list[tuple[str, float, float]]:
    """Time every mode and the references; print and return the table.

    Returns:
        Rows of (what, seconds per batch, images per second).
    """
    import segmentation_models_pytorch as smp

    dev = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = cudnn_benchmark
    image = torch.rand(batch, bands, size, size, device=dev)

    def net() -> Inpainter:
        return inpainter(bands, encoder=encoder).to(dev).eval()

    cloud, shadow, snow = net(), net(), net()
    bf16 = torch.bfloat16
    modes: list[tuple[str, Callable[[], object], str]] = []
    for name, aug, kind in [
        (
            'cloud + shadow, label-free (modes 1/2)',
            RandomCloudShadow(cloud, shadow, p=1.0, autocast=bf16),
            'free',
        ),
        ('cloud + shadow, fp32', RandomCloudShadow(cloud, shadow, p=1.0), 'free'),
        ('snow, label-free (mode 3)', RandomSnow(snow, p=1.0, autocast=bf16), 'free'),
        (
            'snow into background (mode 4)',
            RandomSnow(snow, p=1.0, min_free=0.0, autocast=bf16),
            'labelled',
        ),
        (
            'shadow for clouds (mode 5)',
            RandomShadowForClouds(shadow, p=1.0, autocast=bf16),
            'cloudy',
        ),
        ('copy-paste cloud (mode 6)', RandomCopyPaste('cloud', p=1.0), 'cloudy'),
    ]:
        mask = _masks(kind, batch, size, dev)
        modes.append((name, functools.partial(aug.forward, image, mask), kind))
    rows: list[tuple[str, float, float]] = []
    for name, fn, _ in modes:
        t = _time(fn, dev, repeat)
        rows.append((name + ', p=1', t, batch / t))
    # the authors' pattern, same networks, the cloud + shadow mode
    hole = torch.zeros(batch, size, size, dtype=torch.bool, device=dev)
    hole[:, 64:160, 64:160] = True
    t_auth = _time(
        lambda: authors_pattern([cloud, shadow], image, hole), dev, max(2, repeat // 3)
    )
    rows.append(
        ('authors: cloud + shadow, per sample, autograd, fp32', t_auth, batch / t_auth)
    )
    # a bf16 training step of a U-Net++ resnet34 segmenter on the same batch
    seg = smp.UnetPlusPlus(
        'resnet34', encoder_weights=None, in_channels=bands, classes=4
    )
    seg = seg.to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(seg.parameters(), lr=1e-4)
    target = _masks('labelled', batch, size, dev)

    def step() -> None:
        with torch.autocast(dev.type, dtype=bf16):
            loss = torch.nn.functional.cross_entropy(
                seg(image.contiguous(memory_format=torch.channels_last)), target
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()

    t_step = _time(step, dev, repeat)
    rows.append(('training step: U-Net++ resnet34, bf16', t_step, batch / t_step))
    half = RandomCloudShadow(cloud, shadow, p=0.5, autocast=bf16)
    free = _masks('free', batch, size, dev)
    t_half = _time(lambda: half(image, free), dev, repeat)
    rows.append(('cloud + shadow, label-free, p=0.5', t_half, batch / t_half))
    # the same work with a fixed count: half the batch eligible, p = 1
    halfmask = _masks('free', batch, size, dev)
    halfmask[batch // 2 :] = CLOUD
    every = RandomCloudShadow(cloud, shadow, p=1.0, autocast=bf16)
    t_fixed = _time(lambda: every(image, halfmask), dev, repeat)
    rows.append(
        ('cloud + shadow, half the batch eligible, p=1', t_fixed, batch / t_fixed)
    )

    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'CPU'
    print(
        f'\nCSIA bench on {name}: batch {batch}, {bands} bands, {size} x {size}, '
        f'inpainters U-Net++ {encoder} (hole channel), median of {repeat}, '
        f'cuDNN benchmark {cudnn_benchmark}'
    )
    print('| what | ms / batch | img/s |\n|---|---|---|')
    for what, t, ips in rows:
        print(f'| {what} | {t * 1000:.1f} | {ips:.0f} |')
    t_ours = rows[0][1]
    print(
        f"\nspeed-up of cloud + shadow (bf16, batched) over the authors' pattern: "
        f'{t_auth / t_ours:.1f} x'
    )
    print(
        f'overhead of cloud + shadow at p=0.5 on the training step: '
        f'{100 * t_half / t_step:.1f} %'
    )
    return rows
