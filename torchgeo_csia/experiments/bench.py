"""``torchgeo-csia bench``: what CSIA costs next to the training step it serves.

Everything is timed side by side in one run on one device, with what ships: the
shipped inpainters (:class:`~torchgeo_csia.models.CSIAInpainter_Weights`) through
the public transforms at the shipped setting of ``docs/configs/sparcs_csia.yaml``
(p 0.5, ``min_free`` 0.25, the shipped structure bank, shadows from the sun, bf16
autocast on the inpainters), each
mode alone and the three modes chained as the datamodule chains them (one
``AugmentationSequential`` each); the same stack at 10 bands (same architecture,
untrained), with the shipped shadow network at half resolution (:func:`at_scale`)
and with cheaper untrained inpainters (:data:`CANDIDATES`, timed before any is
trained); a bf16 training step of the shipped segmenter and of a U-Net++
resnet34; the authors' per-sample pattern with the same networks; and Kornia's
``RandomPlasmaShadow`` and ``RandomTransplantation`` as peers. Each row has its
median time, its peak device memory and its host synchronisations per call
(``torch.cuda.set_sync_debug_mode``).

The batch mixes the kinds of patch SPARCS training crops hold: a quarter label-free,
a quarter with a cloud in one corner, a quarter with cloud, shadow and snow, and a
quarter mostly cloud (which no mode but copy-paste may change).
"""

from __future__ import annotations

import copy
import functools
import importlib
import statistics
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import kornia.augmentation as K
import torch
from torch import Tensor, nn

from ..constants import CLOUD, SHADOW, SNOW
from ..models.inpainter import Inpainter, inpainter
from ..models.segmenter import segmenter
from ..transforms import sun_geometry
from ..transforms.structures import paste

#: the shipped CSIA setting (docs/configs/sparcs_csia.yaml)
SHIPPED = {'p': 0.5, 'min_free': 0.25}
#: and the inpainters' autocast there (the trainer's precision does not reach them)
SHIPPED_AUTOCAST = torch.bfloat16
#: cheaper inpainters to weigh before any is trained (issue 15: a decoder no wider than
#: it needs): what each changes in the shipped architecture; timed untrained
CANDIDATES: dict[str, dict[str, Any]] = {
    'U-Net++, decoder (64, 32, 16, 8, 8)': {'decoder_channels': (64, 32, 16, 8, 8)},
    'U-Net, decoder (128, 64, 32, 16, 16)': {'arch': 'Unet'},
    'U-Net, decoder (64, 32, 16, 16, 8)': {
        'arch': 'Unet',
        'decoder_channels': (64, 32, 16, 16, 8),
    },
}


@dataclass
class Row:
    """One timed thing."""

    what: str
    batch: int
    seconds: float
    peak_mib: float
    syncs: int


def _time(fn: Callable[[], object], device: torch.device, repeat: int) -> float:
    """Median seconds of *fn* after warm-up (device events on CUDA)."""
    for _ in range(5):  # cuDNN autotuning and CUDA-graph capture happen here
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


def _syncs(fn: Callable[[], object], device: torch.device) -> int:
    """Host synchronisations in one call of *fn* (-1 where not measurable)."""
    if device.type != 'cuda':
        return -1
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        torch.cuda.set_sync_debug_mode('warn')
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode('default')
    # PyTorch's words for a sync (its one-off 'prototype feature' warning is no sync)
    return sum('called a synchronizing' in str(w.message) for w in caught)


def _measure(
    what: str, batch: int, fn: Callable[[], object], dev: torch.device, repeat: int
) -> Row:
    if dev.type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev)
    try:
        seconds = _time(fn, dev, repeat)
    except Exception as err:  # one failing row should not lose the others
        print(f'{what}, batch {batch}: failed: {type(err).__name__}: {err}')
        return Row(what, batch, float('nan'), float('nan'), -1)
    peak = 0.0
    if dev.type == 'cuda':
        peak = (torch.cuda.max_memory_allocated(dev) - base) / 2**20
    row = Row(what, batch, seconds, peak, _syncs(fn, dev))
    # each row as it is timed: a run cut short keeps what it measured
    print(f'{what}, batch {batch}: {seconds * 1000:.1f} ms', flush=True)
    return row


def mixed_batch(
    batch: int, bands: int, size: int, device: torch.device
) -> dict[str, Tensor]:
    """A batch dict of random images and masks of four kinds (module docstring)."""
    g = torch.Generator().manual_seed(0)
    image = torch.rand(batch, bands, size, size, generator=g).to(device)
    mask = torch.zeros(batch, size, size, dtype=torch.long)
    q = size // 4
    for i in range(batch):
        kind = i % 4
        if kind == 1:
            mask[i, :q, : 2 * q] = CLOUD
        elif kind == 2:
            mask[i, :q, :] = CLOUD
            mask[i, q : 2 * q, : 2 * q] = SHADOW
            mask[i, 3 * q :, : 2 * q] = SNOW
        elif kind == 3:
            mask[i, : 3 * q] = CLOUD
    return {
        'image': image,
        'mask': mask.to(device),
        'sun_azimuth': torch.full((batch,), 140.0, device=device),
        'sun_elevation': torch.full((batch,), 45.0, device=device),
    }


def authors_pattern(nets: list[Inpainter], image: Tensor, hole: Tensor) -> Tensor:
    """The original per-sample loop: batch-1 forward passes with autograd on, fp32."""
    out = []
    for i in range(len(image)):
        x = image[i : i + 1]
        for net in nets:
            x = paste(x, net(x, hole[i : i + 1]), hole[i : i + 1], 0.0, 1.0)
        out.append(x.detach())
    return torch.cat(out)


def _stack(
    modes: Sequence[Any], batch: dict[str, Tensor]
) -> Callable[[], dict[str, Tensor]]:
    """The modes chained on *batch* as the datamodule chains them, sun included."""
    seqs = [K.AugmentationSequential(m, data_keys=None, keepdim=True) for m in modes]

    def run() -> dict[str, Tensor]:
        out = batch
        for seq, mode in zip(seqs, modes, strict=True):
            with sun_geometry(mode, out['sun_azimuth'], out['sun_elevation']):
                out = seq(dict(out))
        return out

    return run


def _modes(
    pkg: Any,
    nets: Mapping[str, nn.Module],
    bank: Any,
    autocast: torch.dtype | None,
) -> list[Any]:
    """The three shipped modes from the transforms of package *pkg*."""
    t = pkg.transforms
    return [
        t.RandomCloudShadow(
            nets['cloud'], nets['shadow'], source=bank, autocast=autocast, **SHIPPED
        ),
        t.RandomShadowForClouds(nets['shadow'], p=SHIPPED['p'], autocast=autocast),
        t.RandomSnow(nets['snow'], source=bank, autocast=autocast, **SHIPPED),
    ]


def at_scale(modes: Sequence[Any], scale: int) -> list[Any]:
    """*modes* with every shadow network run at ``1 / scale`` of the resolution.

    Only the modes that paint shadows change (``shadow_scale``, which the shipped
    shadow inpainter, painting over the ground, allows).
    """
    for m in modes:
        if str(SHADOW) in m.nets:
            m.shadow_scale = scale
    return list(modes)


def untrained(
    metas: Mapping[str, Mapping[str, Any]], bands: int, **changes: Any
) -> dict[str, Inpainter]:
    """Untrained inpainters of the architectures the weights cards name, *changes* made.

    Args:
        metas: each inpainter's card (``encoder``, ``decoder_channels``, ``margin``,
            ``mode``), by name.
        bands: image bands.
        changes: keyword arguments of :func:`~torchgeo_csia.models.inpainter.inpainter`
            that replace the card's.

    Returns:
        The networks, by the same names.
    """
    return {
        k: inpainter(
            bands,
            **{
                'encoder': m['encoder'],
                'decoder_channels': tuple(m['decoder_channels']),
                'margin': m['margin'],
                'mode': m['mode'],
            }
            | changes,
        )
        for k, m in metas.items()
    }


def _copies(nets: Mapping[str, nn.Module]) -> dict[str, nn.Module]:
    return {k: copy.deepcopy(v) for k, v in nets.items()}


def _both(*fns: Callable[[], object]) -> None:
    for fn in fns:
        fn()


def segmenter_of(meta: Mapping[str, Any]) -> nn.Module:
    """An untrained segmenter of the architecture a weights card names."""
    return segmenter(
        meta['in_chans'],
        meta['num_classes'],
        meta['encoder'],
        tuple(meta['decoder_channels']),
    )


def _training_step(net: nn.Module, batch: dict[str, Tensor]) -> Callable[[], None]:
    """One bf16 training step of *net* (AdamW) on the batch."""
    net = net.to(batch['image'].device).to(memory_format=torch.channels_last).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    image = batch['image'].contiguous(memory_format=torch.channels_last)

    def step() -> None:
        with torch.autocast(image.device.type, dtype=torch.bfloat16):
            loss = nn.functional.cross_entropy(net(image), batch['mask'])
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()

    return step


def _peers(
    pkg: Any,
    nets10: Mapping[str, nn.Module],
    bank: Any,
    modes: Sequence[Any],
    seg_meta: Mapping[str, Any],
    batch: dict[str, Tensor],
    batch10: dict[str, Tensor],
) -> list[tuple[str, Callable[[], Callable[[], object]]]]:
    """The rows after the CSIA variants: what each times, and how to make its call.

    Each call is made when its row's turn comes (after the rows before it ran), as
    the networks draw their initial weights from the seeded generator.
    """
    import segmentation_models_pytorch as smp

    def kornia(
        aug: K.AugmentationBase2D | K.RandomTransplantation,
    ) -> Callable[[], object]:
        seq = K.AugmentationSequential(aug, data_keys=None, keepdim=True)
        return functools.partial(seq, dict(batch))

    def shipped_step() -> Callable[[], None]:
        return _training_step(segmenter_of(seg_meta), batch)

    def modes_then_step() -> Callable[[], None]:
        step = shipped_step()
        return functools.partial(_both, _stack(modes, batch), step)

    def resnet34_step() -> Callable[[], None]:
        net = smp.UnetPlusPlus(
            'resnet34', encoder_weights=None, in_channels=3, classes=4
        )
        return _training_step(net, batch)

    return [
        (
            'three modes, 10 bands (untrained, fp32)',
            lambda: _stack(_modes(pkg, nets10, bank, None), batch10),
        ),
        ('Kornia RandomPlasmaShadow', lambda: kornia(K.RandomPlasmaShadow(p=0.5))),
        (
            'Kornia RandomTransplantation',
            lambda: kornia(K.RandomTransplantation(p=0.5)),
        ),
        (
            'training step: shipped segmenter, bf16, three modes before it',
            modes_then_step,
        ),
        ('training step: shipped segmenter, bf16', shipped_step),
        ('training step: U-Net++ resnet34, bf16', resnet34_step),
    ]


def run(
    batches: Sequence[int] = (32, 128),
    size: int = 256,
    repeat: int = 20,
    device: str | None = None,
    baseline: str | None = None,
    authors: bool = True,
) -> list[Row]:
    """Time what ships, side by side; print and return the table.

    Args:
        batches: batch sizes.
        size: patch size in pixels.
        repeat: timed calls per row (the median is reported).
        device: where to run (default CUDA when available).
        baseline: the import name of another copy of this package (an earlier
            commit, say) whose transforms are timed beside these, with the same
            networks, for a before/after in one run.
        authors: time the authors' per-sample pattern (slow on the CPU).

    Returns:
        The rows.
    """
    import kornia
    import segmentation_models_pytorch as smp

    from ..models.weights import (
        CSIAInpainter_Weights,
        CSIASegmenter_Weights,
        load_inpainter,
    )
    from ..transforms.sources import sparcs_bank

    # the package, not this subpackage: --baseline names another copy of it
    pkg_name = __name__.split('.')[0]
    dev = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    torch.backends.cudnn.benchmark = True
    pkg = importlib.import_module(pkg_name)
    importlib.import_module(f'{pkg_name}.transforms')
    shipped = {
        'cloud': load_inpainter(CSIAInpainter_Weights.CLOUD_SPARCS_PHOTO),
        'shadow': load_inpainter(CSIAInpainter_Weights.SHADOW_SPARCS_PHOTO),
        'snow': load_inpainter(CSIAInpainter_Weights.SNOW_SPARCS_PHOTO),
    }
    shipped = {k: v.to(dev) for k, v in shipped.items()}
    metas = {
        'cloud': CSIAInpainter_Weights.CLOUD_SPARCS_PHOTO.meta,
        'shadow': CSIAInpainter_Weights.SHADOW_SPARCS_PHOTO.meta,
        'snow': CSIAInpainter_Weights.SNOW_SPARCS_PHOTO.meta,
    }
    meta = metas['cloud']
    ten = {k: v.to(dev) for k, v in untrained(metas, 10).items()}
    bank = sparcs_bank()
    seg_meta = CSIASegmenter_Weights.BASE_SPARCS_PHOTO.meta
    rows: list[Row] = []
    for b in batches:
        torch.manual_seed(0)
        batch = mixed_batch(b, 3, size, dev)
        batch10 = mixed_batch(b, 10, size, dev)
        modes = _modes(pkg, shipped, bank, SHIPPED_AUTOCAST)
        names = ['cloud + shadow', 'shadow for clouds', 'snow']
        for name, mode in zip(names, modes, strict=True):
            rows.append(
                _measure(f'{name} (as shipped)', b, _stack([mode], batch), dev, repeat)
            )
        rows += [
            _measure('three modes (as shipped)', b, _stack(modes, batch), dev, repeat),
            _measure(
                'three modes, fp32',
                b,
                _stack(_modes(pkg, shipped, bank, None), batch),
                dev,
                repeat,
            ),
        ]
        if dev.type == 'cuda':
            for what, attr, value in [
                ('three modes (fp32), contiguous', 'channels_last', False),
                ('three modes (fp32), at most 16 samples a mode', 'max_selected', 16),
            ]:
                variant = _modes(pkg, _copies(shipped), bank, None)
                for m in variant:
                    setattr(m, attr, value)
                rows.append(_measure(what, b, _stack(variant, batch), dev, repeat))
            eager = _modes(pkg, shipped, bank, None)
            for m in eager:
                m.cuda_graphs = False
            rows.append(
                _measure(
                    'three modes (fp32), no CUDA graphs',
                    b,
                    _stack(eager, batch),
                    dev,
                    repeat,
                )
            )
            rows.append(
                _measure(
                    'three modes, shadows at half resolution (shipped networks)',
                    b,
                    _stack(
                        at_scale(_modes(pkg, shipped, bank, SHIPPED_AUTOCAST), 2),
                        batch,
                    ),
                    dev,
                    repeat,
                )
            )
            for name, changes in CANDIDATES.items():
                made = untrained(metas, 3, **changes)
                cheap = {k: v.to(dev) for k, v in made.items()}
                rows.append(
                    _measure(
                        f'three modes, {name} (untrained)',
                        b,
                        _stack(_modes(pkg, cheap, bank, SHIPPED_AUTOCAST), batch),
                        dev,
                        repeat,
                    )
                )
        if baseline is not None:
            old = importlib.import_module(baseline)
            importlib.import_module(f'{baseline}.transforms')
            old_nets = {}
            for k, net in shipped.items():
                twin = importlib.import_module(
                    f'{baseline}.models.inpainter'
                ).inpainter(
                    3,
                    encoder=meta['encoder'],
                    decoder_channels=meta['decoder_channels'],
                    margin=meta['margin'],
                )
                twin.load_state_dict(net.state_dict())
                old_nets[k] = twin.to(dev).eval()
            old_bank = old.transforms.StructureBank(
                bank.pairs[:, 0], bank.pairs[:, 1], bank.snow_masks, bank.meta
            )
            rows.append(
                _measure(
                    f'three modes (fp32), {baseline}',
                    b,
                    _stack(_modes(old, old_nets, old_bank, None), batch),
                    dev,
                    repeat,
                )
            )
        for what, make in _peers(pkg, ten, bank, modes, seg_meta, batch, batch10):
            rows.append(_measure(what, b, make(), dev, repeat))
        if authors and b == batches[0]:
            # cloud + shadow into every sample, theirs against ours (p 1)
            free = {k: v.clone() for k, v in batch.items()}
            free['mask'] = torch.zeros_like(batch['mask'])
            ours = pkg.transforms.RandomCloudShadow(
                shipped['cloud'], shipped['shadow'], p=1.0, source=bank
            )
            rows.append(
                _measure(
                    'cloud + shadow, p 1, ours (fp32)',
                    b,
                    _stack([ours], free),
                    dev,
                    repeat,
                )
            )
            with sun_geometry(ours, free['sun_azimuth'], free['sun_elevation']):
                ours(free['image'], free['mask'])
            hole = ours.last_params['paint'].any(0)
            nets = [shipped['shadow'], shipped['cloud']]
            rows.append(
                _measure(
                    "cloud + shadow, p 1, the authors' per-sample pattern",
                    b,
                    functools.partial(authors_pattern, nets, free['image'], hole),
                    dev,
                    max(3, repeat // 4),
                )
            )
    _print(rows, dev, kornia.__version__, smp.__version__, size)
    return rows


def _print(
    rows: list[Row], dev: torch.device, kornia_version: str, smp_version: str, size: int
) -> None:
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'CPU'
    print(
        f'\nCSIA bench on {name}: torch {torch.__version__}, kornia {kornia_version}, '
        f'smp {smp_version}; {size} x {size}, 3 bands unless named, median times'
    )
    batches = sorted({r.batch for r in rows})
    head = ' | '.join(f'batch {b}: ms, MiB, syncs' for b in batches)
    print(f'| what | {head} |')
    print('|---|' + '---|' * len(batches))
    by = {(r.what, r.batch): r for r in rows}
    for what in dict.fromkeys(r.what for r in rows):
        cells = []
        for b in batches:
            r = by.get((what, b))
            cells.append(
                ''
                if r is None
                else f'{r.seconds * 1000:.1f}, {r.peak_mib:.0f}, '
                f'{r.syncs if r.syncs >= 0 else "n/a"}'
            )
        print(f'| {what} | ' + ' | '.join(cells) + ' |')
    print()
    for b in batches:
        step = by.get(('training step: shipped segmenter, bf16', b))
        both = by.get(
            ('training step: shipped segmenter, bf16, three modes before it', b)
        )
        if step and both:
            print(
                f'batch {b}: the three modes (as shipped) before each step make '
                f'it {100 * (both.seconds / step.seconds - 1):.0f} % longer'
            )
        for what in ('three modes (as shipped)', 'three modes, fp32'):
            r = by.get((what, b))
            if step and r:
                print(
                    f'batch {b}: {what} adds {100 * r.seconds / step.seconds:.0f} % '
                    'to the shipped segmenter step'
                )
    ours = next((r for r in rows if r.what.endswith('ours (fp32)')), None)
    theirs = next((r for r in rows if 'authors' in r.what), None)
    if ours and theirs:
        print(
            f"cloud + shadow against the authors' pattern (batch {ours.batch}): "
            f'{theirs.seconds / ours.seconds:.0f} x'
        )
