"""The ``torchgeo-csia`` command."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models.inpainter import Inpainter


CLOUD_FIRST = (
    'RandomCloudShadow paints the cloud before its shadow (default: the shadow first)'
)


def _device(args: argparse.Namespace) -> str:
    """``--device``, or CUDA when available."""
    import torch

    return str(args.device or ('cuda' if torch.cuda.is_available() else 'cpu'))


def _demo(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    from lightning.pytorch import Trainer
    from torchgeo.datasets.utils import percentile_normalization

    from .datamodules import SPARCSDataModule
    from .datamodules.sparcs import _BatchAugmentation
    from .datasets import IGNORE_INDEX, SPARCS
    from .datasets.synthetic import write_sample
    from .transforms import RandomCloudShadow, RandomShadowForClouds, RandomSnow

    torch.manual_seed(args.seed)
    if args.image == 'data':
        raise SystemExit(
            'the shipped inpainters are 3-band (photo); --image data has no weights'
        )
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
        # before: normalised only; after: the same batch through the CSIA modes
        before = dm.aug(raw)
        after = _BatchAugmentation(*csia)(dict(before))
    n = len(before['image'])
    fig, axs = plt.subplots(4, n, figsize=(2.6 * n, 10.8), squeeze=False)
    cmap = SPARCS.colormap('csia')
    for i in range(n):
        changed = (after['mask'][i] != before['mask'][i]).numpy()
        for row, (b, title) in enumerate([(before, 'before'), (after, 'after')]):
            img = b['image'][i, :3].permute(1, 2, 0).numpy()
            axs[2 * row, i].imshow(np.clip(percentile_normalization(img, 0, 100), 0, 1))
            mask = np.ma.masked_equal(b['mask'][i].numpy(), IGNORE_INDEX)
            axs[2 * row + 1, i].imshow(
                mask, cmap=cmap, vmin=0, vmax=3, interpolation='none'
            )
            if row == 1 and changed.any():
                for ax in axs[2:, i]:
                    ax.contour(changed, levels=[0.5], colors='red', linewidths=0.8)
            axs[2 * row, i].set_title(
                f'{title}' + (' (changed)' if row and changed.any() else '')
            )
        for ax in axs[:, i]:
            ax.axis('off')
    fig.suptitle(
        'CSIA on a SPARCS batch: image and mask before (rows 1-2) and after (rows 3-4);'
        ' red: inserted structures\n'
        '(mask: grey bg, black shadow, cyan snow, white cloud)'
    )
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print(f'wrote {args.out}')


def _bench_data(args: argparse.Namespace) -> None:
    from .bench_data import run

    run(count=args.scenes, size=args.size, patches=args.patches)


def _bench(args: argparse.Namespace) -> None:
    from .bench import run

    run(
        batch=args.batch_size,
        bands=args.bands,
        size=args.size,
        encoder=args.encoder,
        repeat=args.repeat,
        device=args.device,
        cudnn_benchmark=not args.no_cudnn_benchmark,
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


def _evaluate_inpainters(args: argparse.Namespace) -> None:
    import json

    from .inpainting import evaluate, load_exported, load_pack

    device = _device(args)
    pack = load_pack(args.pack, device)
    bands = pack.images.shape[1]
    models = {
        # several weights: name each by its training folder
        (
            os.path.basename(os.path.dirname(os.path.abspath(w)))
            if len(args.weights) > 1
            else os.path.basename(w).rsplit('-', 1)[0]
        ): load_exported(w, bands, device)
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
    device: str, paths: Sequence[str] | None = None
) -> dict[str, Inpainter]:
    """The shipped inpainters, or those exported to *paths* (cloud, shadow, snow)."""
    from .inpainting import load_exported
    from .models.weights import load_inpainter

    classes = ('cloud', 'shadow', 'snow')
    if paths:
        return {
            c: load_exported(p, 3, device) for c, p in zip(classes, paths, strict=True)
        }
    return {c: load_inpainter(f'{c.upper()}_SPARCS_PHOTO').to(device) for c in classes}


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
        _inpainters(device, args.inpainters) if args.variant == 'csia' else None
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

    from .experiment import dump, load_segmenter, realism
    from .inpainting import load_pack

    device = _device(args)
    pack = load_pack(args.pack, device)
    model = load_segmenter(args.weights, pack.images.shape[1], device)
    scenes = pack.split(*args.splits)
    result, shots = realism(
        pack,
        model,
        _inpainters(device, args.inpainters),
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
    for c in ('cloud', 'shadow', 'snow'):
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
    nets = _inpainters('cpu', args.inpainters)
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

    from .experiment import confusion, confusion_figure, dump, iou, load_segmenter
    from .inpainting import load_pack

    device = _device(args)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.pack
        if folder is None:
            from .pack import pack_scenes

            folder = os.path.join(tmp, 'pack')
            pack_scenes(args.root, folder)
        pack = load_pack(folder, device)
    if os.path.exists(args.weights):
        model = load_segmenter(args.weights, pack.images.shape[1], device)
    else:
        from .models.weights import CSIASegmenter_Weights, csia_segmenter

        name = args.weights.rsplit('.', 1)[-1]
        if name not in CSIASegmenter_Weights.__members__:
            raise SystemExit(
                f'--weights {args.weights!r} is neither a file nor one of '
                f'{list(CSIASegmenter_Weights.__members__)}'
            )
        model = csia_segmenter(CSIASegmenter_Weights.__members__[name]).to(device)
    splits = {'heldout': ('val', 'test'), 'all': ('train', 'val', 'test')}
    scenes = pack.split(*splits.get(args.split, (args.split,)))
    if not scenes:
        raise SystemExit(f'no scene of split {args.split!r} in the pack')
    conf = confusion(model, pack, scenes)
    scores = iou(conf)
    present = conf.sum(1)
    lines = [
        f'{len(scenes)} scenes ({args.split}), full-scene sliding-window inference',
        '',
        '| class | IoU | recall |',
        '|---|---|---|',
    ]
    for i, c in enumerate(('background', 'shadow', 'snow', 'cloud')):
        iou_s = f'{scores[c]:.3f}' if present[i] else 'n/a (absent)'
        lines.append(f'| {c} | {iou_s} | {scores["recall_" + c]:.3f} |')
    lines.append(f'| mean | {scores["mean"]:.3f} | |')
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
        help=f'exported inpainter .pth files {use} (default: the shipped weights)',
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``torchgeo-csia``.

    Args:
        argv: arguments (defaults to ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        prog='torchgeo-csia', description='CSIA augmentations for TorchGeo'
    )
    sub = parser.add_subparsers(dest='command', required=True)

    demo = sub.add_parser(
        'demo', help='a SPARCS training batch before and after CSIA, as a figure'
    )
    demo.add_argument('--root', help='SPARCS folder (default: a generated sample)')
    demo.add_argument('--image', choices=['data', 'photo'], default='photo')
    demo.add_argument('--batch-size', type=int, default=6)
    demo.add_argument('--patch-size', type=int, default=256)
    demo.add_argument('--out', default='demo.png', help='figure to write')
    demo.add_argument('--p', type=float, default=1.0, help='CSIA probability')
    demo.add_argument('--min-free', type=float, default=0.3, help='CSIA reach')
    demo.add_argument('--source', choices=['bank', 'procedural'], default='bank')
    demo.add_argument('--seed', type=int, default=0)
    demo.set_defaults(func=_demo)

    bench = sub.add_parser(
        'bench-data', help='patches/s of SPARCS against TorchGeo L8Biome'
    )
    bench.add_argument('--scenes', type=int, default=4)
    bench.add_argument('--size', type=int, default=1000)
    bench.add_argument('--patches', type=int, default=300)
    bench.set_defaults(func=_bench_data)

    gpu = sub.add_parser(
        'bench', help="CSIA img/s per mode against the authors' per-sample pattern"
    )
    gpu.add_argument('--batch-size', type=int, default=32)
    gpu.add_argument('--bands', type=int, default=10)
    gpu.add_argument('--size', type=int, default=256)
    gpu.add_argument('--encoder', default='tu-efficientnet_b0')
    gpu.add_argument('--repeat', type=int, default=10)
    gpu.add_argument('--device', help='default: cuda when available')
    gpu.add_argument('--no-cudnn-benchmark', action='store_true')
    gpu.set_defaults(func=_bench)

    bank = sub.add_parser(
        'build-bank', help='cut cloud/shadow pairs and snow masks from SPARCS labels'
    )
    bank.add_argument('--root', required=True, help='SPARCS folder')
    bank.add_argument('--split', default='train')
    bank.add_argument('--size', type=int, default=256)
    bank.add_argument('--limit', type=int, default=400, help='most entries per kind')
    bank.add_argument('--out', default='structure_bank.npz')
    bank.set_defaults(func=_build_bank)

    pack = sub.add_parser(
        'pack', help='pack SPARCS scenes for training away from the geo stack'
    )
    pack.add_argument('--root', required=True, help='SPARCS folder')
    pack.add_argument('--image', choices=['data', 'photo'], default='photo')
    pack.add_argument('--out', required=True, help='pack folder to write')
    pack.set_defaults(func=_pack)

    tr = sub.add_parser('train-inpainter', help='train a CSIA inpainter on a pack')
    tr.add_argument('--pack', required=True, help='folder written by "pack"')
    tr.add_argument(
        '--class', dest='cls', choices=['cloud', 'shadow', 'snow'], required=True
    )
    tr.add_argument('--out', required=True, help='checkpoint and weights folder')
    tr.add_argument('--steps', type=int, default=2000)
    tr.add_argument('--batch-size', type=int, default=32)
    tr.add_argument('--size', type=int, default=256)
    tr.add_argument('--lr', type=float, default=1e-3)
    tr.add_argument(
        '--texture', type=float, default=1.0, help='weight of the gradient L1'
    )
    tr.add_argument('--dilate', type=int, default=4, help='hole dilation in pixels')
    tr.add_argument('--encoder', default='tu-tinynet_c')
    tr.add_argument(
        '--decoder-channels', type=int, nargs='+', default=[128, 64, 32, 16, 16]
    )
    tr.add_argument('--no-hole-channel', action='store_true')
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
    tr.add_argument('--critic-width', type=int, default=32)
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
    tr.add_argument('--seed', type=int, default=0)
    tr.add_argument('--max-minutes', type=float)
    tr.add_argument(
        '--restart', action='store_true', help='ignore a checkpoint in --out'
    )
    tr.add_argument('--device')
    tr.set_defaults(func=_train_inpainter)

    ev = sub.add_parser(
        'evaluate-inpainters',
        help='hole reconstruction on held-out scenes against mean and diffusion fills',
    )
    ev.add_argument('--pack', required=True)
    ev.add_argument(
        '--class', dest='cls', choices=['cloud', 'shadow', 'snow'], required=True
    )
    ev.add_argument(
        '--weights', nargs='+', required=True, help='.pth files from train-inpainter'
    )
    ev.add_argument('--count', type=int, default=256, help='held-out crops')
    ev.add_argument('--json', help='append the rows to this file')
    ev.add_argument('--figure', help='write held-out before/after patches (PNG) here')
    ev.add_argument('--device')
    ev.set_defaults(func=_evaluate_inpainters)

    seg = sub.add_parser(
        'train-segmenter', help='train a BASE or CSIA U-Net++ on a pack, then score it'
    )
    seg.add_argument('--pack', required=True)
    seg.add_argument('--variant', choices=['base', 'csia'], default='base')
    seg.add_argument('--seed', type=int, default=0)
    seg.add_argument('--steps', type=int, default=2500)
    seg.add_argument('--batch-size', type=int, default=32)
    seg.add_argument('--size', type=int, default=256)
    seg.add_argument('--lr', type=float, default=2e-3)
    seg.add_argument('--p', type=float, default=0.5, help='CSIA probability per mode')
    seg.add_argument('--min-free', type=float, default=0.25, help='CSIA reach')
    seg.add_argument('--encoder', default='tu-efficientnet_b0')
    seg.add_argument('--cloud-first', action='store_true', help=CLOUD_FIRST)
    _add_inpainters(seg, 'for CSIA')
    seg.add_argument('--max-minutes', type=float)
    seg.add_argument('--out', required=True)
    seg.add_argument('--device')
    seg.set_defaults(func=_train_segmenter)

    rl = sub.add_parser(
        'realism',
        help='share of painted pixels a segmenter labels as the painted class',
    )
    rl.add_argument('--pack', required=True)
    rl.add_argument('--weights', required=True, help='segmenter .pth (BASE)')
    rl.add_argument('--splits', nargs='+', default=['val', 'test'])
    rl.add_argument('--source', default='sparcs', help="'sparcs' bank or 'procedural'")
    rl.add_argument('--count', type=int, default=256)
    rl.add_argument('--size', type=int, default=256, help='crop size')
    rl.add_argument(
        '--min-free', type=float, default=0.95, help='least background share of a crop'
    )
    _add_inpainters(rl, 'that paint')
    rl.add_argument('--out', default='realism.json')
    rl.add_argument('--cloud-first', action='store_true', help=CLOUD_FIRST)
    rl.add_argument('--examples', help='write example crops (torch file) here')
    rl.add_argument('--figure', help='write painted-beside-real examples (PNG) here')
    rl.add_argument('--device')
    rl.set_defaults(func=_realism)

    rc = sub.add_parser(
        'reach',
        help='share of training crops each CSIA mode may change and changes',
    )
    rc.add_argument('--pack', required=True)
    rc.add_argument(
        '--p', type=float, nargs='+', default=[0.25, 0.5, 0.8], help='probabilities'
    )
    rc.add_argument(
        '--min-free',
        type=float,
        nargs='+',
        default=[0.25, 0.5, 1.0],
        help='least background share that makes a crop eligible (the reach)',
    )
    rc.add_argument('--source', default='sparcs', help="'sparcs' bank or 'procedural'")
    rc.add_argument('--count', type=int, default=1024, help='training crops drawn')
    rc.add_argument('--size', type=int, default=256, help='crop size')
    _add_inpainters(rc, 'whose margins count (no network runs)')
    rc.add_argument('--cloud-first', action='store_true', help=CLOUD_FIRST)
    rc.add_argument('--seed', type=int, default=0)
    rc.add_argument('--out', help='write the rows as JSON here')
    rc.set_defaults(func=_reach)

    evl = sub.add_parser(
        'evaluate',
        help='per-class IoU, mean IoU and confusion of a segmenter over full scenes',
    )
    src = evl.add_mutually_exclusive_group(required=True)
    src.add_argument('--pack', help='a pack from "pack"')
    src.add_argument('--root', help='a SPARCS folder (packed on the fly)')
    evl.add_argument(
        '--weights',
        required=True,
        help='segmenter .pth from train-segmenter, or a CSIASegmenter_Weights name',
    )
    evl.add_argument(
        '--split', default='test', help='train, val, test, heldout (val+test) or all'
    )
    evl.add_argument('--out', help='write the table here (and its JSON beside)')
    evl.add_argument('--figure', help='write the confusion matrix (PNG) here')
    evl.add_argument('--device')
    evl.set_defaults(func=_evaluate)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == '__main__':
    main()
