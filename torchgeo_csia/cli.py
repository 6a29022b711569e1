"""The ``torchgeo-csia`` command.

Building the parser imports nothing beyond the standard library (and the package's
own :mod:`~torchgeo_csia.constants`), so ``--help`` answers at once; each subcommand
imports torch, TorchGeo and the rest when it runs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .constants import CLASSES, STRUCTURES

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch import Tensor, nn

    from .models.inpainter import Inpainter


CLOUD_FIRST = (
    'RandomCloudShadow paints the cloud before its shadow (default: shadow first)'
)
DEVICE = 'torch device to run on (default: cuda when available, else cpu)'
SEED = 'random seed'
#: Colour of nodata mask pixels (:data:`~torchgeo_csia.datasets.IGNORE_INDEX`).
NODATA_COLOR = (1.0, 0.0, 1.0)
#: Titles of the CSIA modes the demo runs, by class name.
DEMO_MODES = {
    'RandomCloudShadow': 'cloud + shadow',
    'RandomShadowForClouds': 'shadow for clouds',
    'RandomSnow': 'snow',
}


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _device(args: argparse.Namespace) -> str:
    """``--device``, or CUDA when available."""
    import torch

    return str(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))


def _scene_of(dataset: Any, bounds: Tensor) -> str:
    """Id of the scene whose footprint holds the centre of a sample's bounds."""
    import shapely

    x0, x1, _, y0, y1 = bounds.tolist()[:5]
    centre = shapely.Point((x0 + x1) / 2, (y0 + y1) / 2)
    hits = dataset.index[dataset.index.geometry.intersects(centre)]
    return str(hits['scene'].iloc[0]) if len(hits) else '?'


def demo_figure(
    before: dict[str, Tensor],
    after: dict[str, Tensor],
    scenes: Sequence[str],
    modes: Sequence[Sequence[str]],
) -> Figure:
    """The demo's figure: each sample's image and mask before and after CSIA.

    One column per sample, titled with its scene and the CSIA modes that changed it.
    Both images of a column share one intensity scale (the before image's 1st-99th
    percentiles over all bands), so a painted structure shows as it compares with
    its scene; masks are drawn in the ``csia`` colours with a legend, nodata
    (:data:`~torchgeo_csia.datasets.IGNORE_INDEX`) in magenta, inserted structures
    outlined in red.

    Args:
        before: normalised batch (``image`` ``B x C x H x W`` in [0, 1], ``mask``).
        after: the same batch after the CSIA modes.
        scenes: scene id per sample.
        modes: per sample, the names of the modes that changed it.

    Returns:
        The figure.
    """
    import textwrap

    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.patches import Patch

    from .datasets import IGNORE_INDEX, SPARCS

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
    fig.legend(handles=legend, loc='lower center', ncol=len(legend), fontsize=9)
    fig.suptitle(
        'CSIA on a SPARCS batch: image and mask before (rows 1-2) and after (rows '
        '3-4) the CSIA modes named above each column\n'
        "(each column's images share one intensity scale: the before image's "
        '1st-99th percentiles)'
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig


def _demo(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import torch
    from lightning.pytorch import Trainer

    from .datamodules import SPARCSDataModule
    from .datamodules.sparcs import BatchAugmentation
    from .datasets.synthetic import write_sample
    from .transforms import RandomCloudShadow, RandomShadowForClouds, RandomSnow

    torch.manual_seed(args.seed)
    source = 'sparcs' if args.source == 'bank' else 'procedural'
    csia: list[torch.nn.Module] = [
        RandomCloudShadow(
            'CLOUD_SPARCS_PHOTO',
            'SHADOW_SPARCS_PHOTO',
            p=args.p,
            min_free=args.min_free,
            source=source,
        ),
        RandomShadowForClouds('SHADOW_SPARCS_PHOTO', p=args.p),
        RandomSnow(
            'SNOW_SPARCS_PHOTO', p=args.p / 2, min_free=args.min_free, source=source
        ),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        root = args.root
        if root is None:
            root = os.path.join(tmp, 'sparcs')
            write_sample(root, count=6, size=512)
            print(
                f'no --root given: generated a 6-scene SPARCS-format sample in {root}'
            )
        dm = SPARCSDataModule(
            batch_size=args.batch_size,
            patch_size=args.patch_size,
            length=args.batch_size,
            paths=root,
            image=args.image,
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
    fig = demo_figure(before, after, scenes, modes)
    fig.savefig(args.out, dpi=80)
    plt.close(fig)
    print(f'wrote {args.out}')


def _bench_data(args: argparse.Namespace) -> None:
    from .bench_data import run

    if args.root is not None:
        from .bench_data import loader

        loader(args.root, workers=args.workers, batches=args.batches)
        return
    run(count=args.scenes, size=args.size, patches=args.patches)


def _bench(args: argparse.Namespace) -> None:
    from .bench import run

    run(
        batches=args.batches,
        size=args.size,
        repeat=args.repeat,
        device=args.device,
        baseline=args.baseline,
        authors=not args.no_authors,
    )


def _build_bank(args: argparse.Namespace) -> None:
    from .bank import build_bank

    bank = build_bank(args.root, split=args.split, size=args.size, limit=args.limit)
    bank.save(args.out)
    print(
        f'wrote {args.out}: {bank.meta["pairs"]} cloud/shadow pairs, '
        f'{bank.meta["snow_masks"]} snow masks from {len(bank.meta["scenes"])} '
        f'{args.split} scenes'
    )


def _pack(args: argparse.Namespace) -> None:
    from .pack import pack_scenes

    records = pack_scenes(args.root, args.out, image=args.image)
    print(f'packed {len(records)} scenes into {args.out}')


def _train_inpainter(args: argparse.Namespace) -> None:
    import json

    from .inpainting import TrainConfig, export, load_pack, train

    device = _device(args)
    pack = load_pack(args.pack, device)
    cfg = TrainConfig(
        cls=args.cls,
        steps=args.steps,
        batch_size=args.batch_size,
        size=args.size,
        lr=args.lr,
        texture=args.texture,
        dilate=args.dilate,
        encoder=args.encoder,
        decoder_channels=tuple(args.decoder_channels),
        hole_channel=not args.no_hole_channel,
        condition=args.condition,
        adversarial=args.adversarial,
        critic_width=args.critic_width,
        share=tuple(args.share),
        weighted=args.weighted,
        swap=args.swap,
        swap_free=args.swap_free,
        ema=args.ema,
        critic_real=args.critic_real,
        init=args.init,
        seed=args.seed,
    )
    model = train(
        pack, cfg, args.out, resume=not args.restart, max_minutes=args.max_minutes
    )
    stem = f'csia_inpainter_{args.cls}_{pack.image}'
    path = export(model, args.out, stem)
    with open(path.replace('.pth', '.json'), 'w') as f:
        json.dump(
            {
                'config': json.loads(json.dumps(cfg.__dict__)),
                'steps_done': getattr(model, 'steps_done', cfg.steps),
                'train_scenes': [pack.records[i]['scene'] for i in pack.split('train')],
                'image': pack.image,
            },
            f,
            indent=1,
        )
    print(f'wrote {path}')


def _registered(spec: str, kind: str, option: str) -> Any:
    """The shipped weights named *spec* (``NAME`` or ``<Enum>.NAME``) of *kind*.

    Args:
        spec: the option's value, known not to be a file.
        kind: ``'CSIAInpainter_Weights'`` or ``'CSIASegmenter_Weights'``.
        option: the option, for the message.

    Raises:
        SystemExit: If *spec* names no weights of *kind*.
    """
    from .models import weights as shipped

    enum = getattr(shipped, kind)
    prefix, _, name = spec.rpartition('.')
    if name in enum.__members__ and prefix in ('', kind):
        return enum.__members__[name]
    raise SystemExit(
        f'{option} {spec!r} is neither a file nor one of '
        f'{[f"{kind}.{m}" for m in enum.__members__]} (or those names without '
        f'"{kind}.")'
    )


def _check_bands(spec: str, weights: Any, bands: int, option: str) -> None:
    if len(weights.meta['bands']) != bands:
        raise SystemExit(
            f'{option} {spec!r} is for {len(weights.meta["bands"])}-band '
            f'{weights.meta["image"]!r} images, but the pack holds {bands} bands'
        )


def _inpainter(spec: str, cls: str, bands: int, device: str, option: str) -> Inpainter:
    """An inpainter of class *cls*: an exported ``.pth`` file or a shipped name."""
    if os.path.isfile(spec):
        from .inpainting import load_exported

        return load_exported(spec, bands, device)
    from .models.weights import load_inpainter

    weights = _registered(spec, 'CSIAInpainter_Weights', option)
    if weights.meta['class'] != cls:
        raise SystemExit(
            f'{option} {spec!r} paints {weights.meta["class"]}, expected a {cls} '
            'inpainter'
        )
    _check_bands(spec, weights, bands, option)
    return load_inpainter(weights).to(device)


def _segmenter(
    spec: str, bands: int, device: str, option: str = '--weights'
) -> nn.Module:
    """A segmenter: a ``train-segmenter`` ``.pth`` file or a shipped name."""
    if os.path.isfile(spec):
        from .experiment import load_segmenter

        return load_segmenter(spec, bands, device)
    from .models.weights import csia_segmenter

    weights = _registered(spec, 'CSIASegmenter_Weights', option)
    _check_bands(spec, weights, bands, option)
    return csia_segmenter(weights).to(device).eval()


def _evaluate_inpainters(args: argparse.Namespace) -> None:
    import json

    from .inpainting import evaluate, load_pack

    device = _device(args)
    pack = load_pack(args.pack, device)
    bands = pack.images.shape[1]

    def name(w: str) -> str:
        if not os.path.isfile(w):
            return w.rpartition('.')[2]
        # several weights: name each by its training folder
        if len(args.weights) > 1:
            return os.path.basename(os.path.dirname(os.path.abspath(w)))
        return os.path.basename(w).rsplit('-', 1)[0]

    models = {
        name(w): _inpainter(w, args.cls, bands, device, '--weights')
        for w in args.weights
    }
    rows = evaluate(pack, models, args.cls, count=args.count)
    if args.figure:
        from .inpainting import figure

        # one row per model, painting the evaluated class
        figure(pack, [(args.cls, name, m) for name, m in models.items()], args.figure)
    print('| class | method | L1 | PSNR (dB) | texture ratio | crops |')
    print('|---|---|---|---|---|---|')
    for r in rows:
        print(
            f'| {r["class"]} | {r["method"]} | {r["l1"]:.4f} | {r["psnr"]:.2f} | '
            f'{r["texture"]:.2f} | {r["crops"]} |'
        )
    if args.json:
        with open(args.json, 'a') as f:
            f.write(json.dumps(rows) + '\n')


def _inpainters(
    device: str, specs: Sequence[str] | None = None, bands: int = 3
) -> dict[str, Inpainter]:
    """The shipped inpainters, or the three of *specs* (cloud, shadow, snow).

    Each of *specs* is an exported ``.pth`` file or a shipped weights name.
    """
    classes = STRUCTURES
    if specs:
        return {
            c: _inpainter(p, c, bands, device, '--inpainters')
            for c, p in zip(classes, specs, strict=True)
        }
    return {
        c: _inpainter(f'{c.upper()}_SPARCS_PHOTO', c, bands, device, '--inpainters')
        for c in classes
    }


def _train_segmenter(args: argparse.Namespace) -> None:
    from .experiment import SegConfig, confusion, dump, iou, train_segmenter
    from .inpainting import export, load_pack

    device = _device(args)
    pack = load_pack(args.pack, device)
    cfg = SegConfig(
        variant=args.variant,
        seed=args.seed,
        steps=args.steps,
        batch_size=args.batch_size,
        size=args.size,
        lr=args.lr,
        p=args.p,
        min_free=args.min_free,
        shadow_first=not args.cloud_first,
        encoder=args.encoder,
    )
    inpainters = (
        _inpainters(device, args.inpainters, pack.images.shape[1])
        if args.variant == 'csia'
        else None
    )
    model, log = train_segmenter(
        pack,
        cfg,
        inpainters,
        max_minutes=args.max_minutes,
    )
    for split in ('val', 'test'):
        conf = confusion(model, pack, pack.split(split))
        log[split] = iou(conf)
        log[f'{split}_confusion'] = conf.tolist()
    log['train_scenes'] = [pack.records[i]['scene'] for i in pack.split('train')]
    path = export(
        model, args.out, f'csia_segmenter_{args.variant}_{pack.image}_s{args.seed}'
    )
    dump(log, path.rsplit('.', 1)[0] + '.json')
    print(
        f'wrote {path}: test IoU '
        + ' '.join(
            f'{k} {v:.3f}' for k, v in log['test'].items() if not k.startswith('recall')
        )
    )


def _realism(args: argparse.Namespace) -> None:
    import torch

    from .experiment import dump, realism
    from .inpainting import load_pack

    device = _device(args)
    pack = load_pack(args.pack, device)
    bands = pack.images.shape[1]
    model = _segmenter(args.weights, bands, device)
    scenes = pack.split(*args.splits)
    result, shots = realism(
        pack,
        model,
        _inpainters(device, args.inpainters, bands),
        args.source,
        scenes,
        count=args.count,
        size=args.size,
        min_free=args.min_free,
        shadow_first=not args.cloud_first,
    )
    dump(result, args.out)
    if args.examples:
        torch.save(shots, args.examples)
    if args.figure:
        from .experiment import realism_figure

        realism_figure(shots, args.figure)
    print(
        '| class | painted labelled as class | real, moved onto the crops | '
        'recall on real | ratio painted | ratio moved |'
    )
    print('|---|---|---|---|---|---|')
    for c in STRUCTURES:
        moved = result.get('pasted_' + c)
        ratio = result.get('ratio_pasted_' + c)
        print(
            f'| {c} | {result[c]:.3f} | '
            f'{"-" if moved is None else f"{moved:.3f}"} | '
            f'{result["recall_" + c]:.3f} | {result["ratio_" + c]:.2f} | '
            f'{"-" if ratio is None else f"{ratio:.2f}"} |'
        )


def _reach(args: argparse.Namespace) -> None:
    from .experiment import dump, reach
    from .inpainting import load_pack

    pack = load_pack(args.pack)
    nets = _inpainters('cpu', args.inpainters, pack.images.shape[1])
    rows = []
    print('| p | min_free | mode | eligible | changed |')
    print('|---|---|---|---|---|')
    for p in args.p:
        for free in args.min_free:
            shares = reach(
                pack,
                nets,
                args.source,
                p,
                free,
                count=args.count,
                size=args.size,
                shadow_first=not args.cloud_first,
                seed=args.seed,
            )
            for mode, v in shares.items():
                rows.append({'p': p, 'min_free': free, 'mode': mode, **v})
                print(
                    f'| {p:g} | {free:g} | {mode} | {v["eligible"]:.1%} | '
                    f'{v["changed"]:.1%} |'
                )
    if args.out:
        dump(rows, args.out)


def _evaluate(args: argparse.Namespace) -> None:
    from .experiment import confusion, confusion_figure, dump, iou
    from .inpainting import load_pack

    device = _device(args)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.pack
        if folder is None:
            from .pack import pack_scenes

            folder = os.path.join(tmp, 'pack')
            pack_scenes(args.root, folder)
        pack = load_pack(folder, device)
    model = _segmenter(args.weights, pack.images.shape[1], device)
    splits = {'heldout': ('val', 'test'), 'all': ('train', 'val', 'test')}
    scenes = pack.split(*splits.get(args.split, (args.split,)))
    if not scenes:
        raise SystemExit(f'no scene of split {args.split!r} in the pack')
    conf = confusion(model, pack, scenes)
    scores = iou(conf)
    present = (conf.sum(1) > 0).tolist()
    lines = [
        f'{len(scenes)} scenes ({args.split}), full-scene sliding-window inference',
        '',
        '| class | IoU | recall |',
        '|---|---|---|',
    ]
    for i, c in enumerate(CLASSES):
        if present[i]:
            lines.append(f'| {c} | {scores[c]:.3f} | {scores["recall_" + c]:.3f} |')
        else:
            lines.append(f'| {c} | n/a (absent) | n/a |')
    lines.append(
        f'| mean of the {sum(present)} present classes | {scores["mean"]:.3f} | |'
    )
    lines += ['', 'confusion (rows true, columns predicted):', '']
    lines += ['    ' + ' '.join(f'{v:>10d}' for v in row) for row in conf.tolist()]
    table = '\n'.join(lines)
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(table + '\n')
        dump({'scores': scores, 'confusion': conf.tolist()}, args.out + '.json')
    if args.figure:
        confusion_figure(conf, args.figure, f'{args.weights} on {args.split}')


def _add_inpainters(parser: argparse.ArgumentParser, use: str) -> None:
    """The ``--inpainters CLOUD SHADOW SNOW`` option (read by :func:`_inpainters`)."""
    parser.add_argument(
        '--inpainters',
        nargs=3,
        metavar=('CLOUD', 'SHADOW', 'SNOW'),
        help=f'inpainters {use}, each an exported .pth file from train-inpainter or '
        'a shipped CSIAInpainter_Weights name (default: the shipped weights)',
    )


def _add_reach(
    parser: argparse.ArgumentParser,
    p: float | list[float],
    min_free: float | list[float],
    p_help: str = 'CSIA probability per mode',
    unit: str = 'crop',
    nargs: str | None = None,
) -> None:
    """The ``--p`` and ``--min-free`` options of the CSIA modes.

    Args:
        parser: the subcommand's parser.
        p: default of ``--p``.
        min_free: default of ``--min-free``.
        p_help: help of ``--p``.
        unit: what ``--min-free`` makes eligible (``'crop'``, ``'patch'``).
        nargs: ``'+'`` for lists of values (default: one value).
    """
    parser.add_argument('--p', type=float, nargs=nargs, default=p, help=p_help)
    parser.add_argument(
        '--min-free',
        type=float,
        nargs=nargs,
        default=min_free,
        help=f'least background share that makes a {unit} eligible (the reach)',
    )


def _add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--device', help=DEVICE)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``torchgeo-csia`` (standard library only, fast).

    Returns:
        The parser; each subcommand's function is its ``func`` default.
    """
    parser = argparse.ArgumentParser(
        prog='torchgeo-csia',
        description='CSIA augmentations for TorchGeo',
        formatter_class=_Formatter,
    )
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')

    def command(name: str, about: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=about, description=about, formatter_class=_Formatter
        )

    segmenter_weights = (
        'segmenter: a .pth file from train-segmenter or a shipped '
        'CSIASegmenter_Weights name (BASE_SPARCS_PHOTO, CSIA_SPARCS_PHOTO)'
    )

    demo = command('demo', 'a SPARCS training batch before and after CSIA, as a figure')
    demo.add_argument(
        '--root',
        help='SPARCS folder (the sending/ folder of l8cloudmasks.zip); default: a '
        'generated 6-scene sample',
    )
    demo.add_argument(
        '--image',
        choices=['photo'],
        default='photo',
        help='image type: the 3-band _photo.png quicklooks (the shipped inpainters '
        'are 3-band; there are no 10-band weights)',
    )
    demo.add_argument('--batch-size', type=int, default=6, help='samples drawn')
    demo.add_argument('--patch-size', type=int, default=256, help='patch size (px)')
    demo.add_argument('--out', default='demo.png', help='figure to write')
    _add_reach(demo, 1.0, 0.3, 'CSIA probability per mode (snow: half)', 'patch')
    demo.add_argument(
        '--source',
        choices=['bank', 'procedural'],
        default='bank',
        help='structure shapes: the shipped bank of real SPARCS masks or procedural',
    )
    demo.add_argument('--seed', type=int, default=0, help=SEED)
    demo.set_defaults(func=_demo)

    bench = command('bench-data', 'patches/s of SPARCS against TorchGeo L8Biome')
    bench.add_argument('--scenes', type=int, default=4, help='generated scenes')
    bench.add_argument('--size', type=int, default=1000, help='scene size (px)')
    bench.add_argument('--patches', type=int, default=300, help='patches per run')
    bench.add_argument(
        '--root',
        help='a real SPARCS folder: time the datamodule loader on it instead',
    )
    bench.add_argument(
        '--workers',
        type=int,
        nargs='+',
        default=[0, 4, 8, 15],
        help='loader worker counts (with --root)',
    )
    bench.add_argument(
        '--batches', type=int, default=20, help='timed batches a row (with --root)'
    )
    bench.set_defaults(func=_bench_data)

    gpu = command(
        'bench',
        'what CSIA costs next to the training step it serves (the shipped '
        "inpainters and setting, per mode and chained), against the authors' "
        'per-sample pattern and Kornia peers',
    )
    gpu.add_argument(
        '--batches', type=int, nargs='+', default=[32, 128], help='batch sizes'
    )
    gpu.add_argument('--size', type=int, default=256, help='patch size (px)')
    gpu.add_argument(
        '--repeat', type=int, default=20, help='timed calls per row (the median)'
    )
    _add_device(gpu)
    gpu.add_argument(
        '--baseline',
        help='import name of another copy of this package (an earlier commit, say) '
        'whose transforms are timed beside these, with the same networks',
    )
    gpu.add_argument(
        '--no-authors',
        action='store_true',
        help="skip the authors' per-sample pattern (slow on the CPU)",
    )
    gpu.set_defaults(func=_bench)

    bank = command(
        'build-bank', 'cut cloud/shadow pairs and snow masks from SPARCS labels'
    )
    bank.add_argument('--root', required=True, help='SPARCS folder')
    bank.add_argument('--split', default='train', help='scenes of this split only')
    bank.add_argument('--size', type=int, default=256, help='mask size (px)')
    bank.add_argument('--limit', type=int, default=400, help='most entries per kind')
    bank.add_argument('--out', default='structure_bank.npz', help='bank file to write')
    bank.set_defaults(func=_build_bank)

    pack = command('pack', 'pack SPARCS scenes for training away from the geo stack')
    pack.add_argument('--root', required=True, help='SPARCS folder')
    pack.add_argument(
        '--image',
        choices=['data', 'photo'],
        default='photo',
        help='image type: 10-band _data.tif or 3-band _photo.png',
    )
    pack.add_argument('--out', required=True, help='pack folder to write')
    pack.set_defaults(func=_pack)

    tr = command('train-inpainter', 'train a CSIA inpainter on a pack')
    tr.add_argument('--pack', required=True, help='folder written by "pack"')
    tr.add_argument(
        '--class',
        dest='cls',
        choices=list(STRUCTURES),
        required=True,
        help='class the inpainter paints',
    )
    tr.add_argument('--out', required=True, help='checkpoint and weights folder')
    tr.add_argument('--steps', type=int, default=2000, help='training steps')
    tr.add_argument('--batch-size', type=int, default=32, help='batch size')
    tr.add_argument('--size', type=int, default=256, help='crop size (px)')
    tr.add_argument('--lr', type=float, default=1e-3, help='peak learning rate')
    tr.add_argument(
        '--texture', type=float, default=1.0, help='weight of the gradient L1'
    )
    tr.add_argument('--dilate', type=int, default=4, help='hole dilation in pixels')
    tr.add_argument('--encoder', default='tu-tinynet_c', help='U-Net++ encoder (smp)')
    tr.add_argument(
        '--decoder-channels',
        type=int,
        nargs='+',
        default=[128, 64, 32, 16, 16],
        help='U-Net++ decoder widths',
    )
    tr.add_argument(
        '--no-hole-channel',
        action='store_true',
        help='give the network no hole-mask input channel',
    )
    tr.add_argument(
        '--condition',
        choices=['none', 'class', 'sample'],
        default='none',
        help="fill the hole with the class's mean radiance ('class') or with each "
        "structure's own mean, drawn from real structures when painting ('sample')",
    )
    tr.add_argument(
        '--adversarial',
        type=float,
        default=0.0,
        help='weight of the adversarial term (a patch critic; 0 = none)',
    )
    tr.add_argument(
        '--critic-width',
        type=int,
        default=32,
        help="channels of the critic's first layer",
    )
    tr.add_argument(
        '--share',
        type=float,
        nargs=2,
        default=[0.03, 0.7],
        metavar=('LOW', 'HIGH'),
        help="training crops hold this share of the class's pixels",
    )
    tr.add_argument(
        '--weighted',
        action='store_true',
        help="draw crops in proportion to the class's pixels in them",
    )
    tr.add_argument(
        '--swap',
        type=float,
        default=0.0,
        help='share of each batch whose structure is moved onto a label-free crop '
        'of another training scene (0-1)',
    )
    tr.add_argument(
        '--swap-free',
        type=float,
        default=0.95,
        help='least background share of the crops --swap moves structures onto',
    )
    tr.add_argument(
        '--critic-real',
        choices=('own', 'swapped'),
        default='own',
        help="the critic's real examples: crops as they are, or (with --swap) the "
        'real structure on the same new ground as the fill',
    )
    tr.add_argument(
        '--ema',
        type=float,
        default=0.0,
        help='export a moving average of the weights with this decay (0 = off)',
    )
    tr.add_argument('--init', help='exported .pth to start from (fine-tuning)')
    tr.add_argument('--seed', type=int, default=0, help=SEED)
    tr.add_argument(
        '--max-minutes', type=float, help='stop after this long (default: no limit)'
    )
    tr.add_argument(
        '--restart', action='store_true', help='ignore a checkpoint in --out'
    )
    _add_device(tr)
    tr.set_defaults(func=_train_inpainter)

    ev = command(
        'evaluate-inpainters',
        'hole reconstruction on held-out scenes against mean and diffusion fills',
    )
    ev.add_argument('--pack', required=True, help='folder written by "pack"')
    ev.add_argument(
        '--class',
        dest='cls',
        choices=list(STRUCTURES),
        required=True,
        help='class to paint',
    )
    ev.add_argument(
        '--weights',
        nargs='+',
        required=True,
        help='inpainters: .pth files from train-inpainter or shipped '
        'CSIAInpainter_Weights names (CLOUD_SPARCS_PHOTO, ...)',
    )
    ev.add_argument('--count', type=int, default=256, help='held-out crops')
    ev.add_argument('--json', help='append the rows to this file')
    ev.add_argument('--figure', help='write held-out before/after patches (PNG) here')
    _add_device(ev)
    ev.set_defaults(func=_evaluate_inpainters)

    seg = command(
        'train-segmenter', 'train a BASE or CSIA U-Net++ on a pack, then score it'
    )
    seg.add_argument('--pack', required=True, help='folder written by "pack"')
    seg.add_argument(
        '--variant',
        choices=['base', 'csia'],
        default='base',
        help='BASE (flips only) or CSIA (the CSIA modes, then flips)',
    )
    seg.add_argument('--seed', type=int, default=0, help=SEED)
    seg.add_argument('--steps', type=int, default=2500, help='training steps')
    seg.add_argument('--batch-size', type=int, default=32, help='batch size')
    seg.add_argument('--size', type=int, default=256, help='crop size (px)')
    seg.add_argument('--lr', type=float, default=2e-3, help='peak learning rate')
    _add_reach(seg, 0.5, 0.25)
    seg.add_argument(
        '--encoder', default='tu-efficientnet_b0', help='U-Net++ encoder (smp)'
    )
    seg.add_argument('--cloud-first', action='store_true', help=CLOUD_FIRST)
    _add_inpainters(seg, 'for CSIA')
    seg.add_argument(
        '--max-minutes', type=float, help='stop after this long (default: no limit)'
    )
    seg.add_argument('--out', required=True, help='weights folder')
    _add_device(seg)
    seg.set_defaults(func=_train_segmenter)

    rl = command(
        'realism', 'share of painted pixels a segmenter labels as the painted class'
    )
    rl.add_argument('--pack', required=True, help='folder written by "pack"')
    rl.add_argument(
        '--weights', required=True, help=segmenter_weights + ', trained without CSIA'
    )
    rl.add_argument(
        '--splits', nargs='+', default=['val', 'test'], help='scenes of these splits'
    )
    rl.add_argument(
        '--source',
        default='sparcs',
        help="structure shapes: 'sparcs' (the shipped bank) or 'procedural'",
    )
    rl.add_argument('--count', type=int, default=256, help='crops painted')
    rl.add_argument('--size', type=int, default=256, help='crop size (px)')
    rl.add_argument(
        '--min-free', type=float, default=0.95, help='least background share of a crop'
    )
    _add_inpainters(rl, 'that paint')
    rl.add_argument('--out', default='realism.json', help='write the shares here')
    rl.add_argument('--cloud-first', action='store_true', help=CLOUD_FIRST)
    rl.add_argument('--examples', help='write example crops (torch file) here')
    rl.add_argument('--figure', help='write painted-beside-real examples (PNG) here')
    _add_device(rl)
    rl.set_defaults(func=_realism)

    rc = command(
        'reach', 'share of training crops each CSIA mode may change and changes'
    )
    rc.add_argument('--pack', required=True, help='folder written by "pack"')
    _add_reach(rc, [0.25, 0.5, 0.8], [0.25, 0.5, 1.0], 'probabilities', nargs='+')
    rc.add_argument(
        '--source',
        default='sparcs',
        help="structure shapes: 'sparcs' (the shipped bank) or 'procedural'",
    )
    rc.add_argument('--count', type=int, default=1024, help='training crops drawn')
    rc.add_argument('--size', type=int, default=256, help='crop size (px)')
    _add_inpainters(rc, 'whose margins count (no network runs)')
    rc.add_argument('--cloud-first', action='store_true', help=CLOUD_FIRST)
    rc.add_argument('--seed', type=int, default=0, help=SEED)
    rc.add_argument('--out', help='write the rows as JSON here')
    rc.set_defaults(func=_reach)

    evl = command(
        'evaluate',
        'per-class IoU, mean IoU and confusion of a segmenter over full scenes',
    )
    src = evl.add_mutually_exclusive_group(required=True)
    src.add_argument('--pack', help='folder written by "pack"')
    src.add_argument('--root', help='a SPARCS folder (packed on the fly)')
    evl.add_argument('--weights', required=True, help=segmenter_weights)
    evl.add_argument(
        '--split', default='test', help='train, val, test, heldout (val+test) or all'
    )
    evl.add_argument('--out', help='write the table here (and its JSON beside)')
    evl.add_argument('--figure', help='write the confusion matrix (PNG) here')
    _add_device(evl)
    evl.set_defaults(func=_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``torchgeo-csia``.

    Args:
        argv: arguments (defaults to ``sys.argv[1:]``).
    """
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == '__main__':
    main()
