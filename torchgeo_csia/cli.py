"""The ``torchgeo-csia`` command: a thin shell over :mod:`torchgeo_csia.experiments`.

Training and scoring a segmenter or an inpainter is ``torchgeo fit`` / ``torchgeo
test`` with a recipe of ``docs/configs/``; this command runs what stands beside
them: the demo, the measures (realism, reach, inpainter evaluation), the
benchmarks, the structure bank and the export of a checkpoint as shipped weights.

Building the parser imports nothing beyond the standard library (and the package's
own :mod:`~torchgeo_csia.constants`), so ``--help`` answers at once; each subcommand
imports torch, TorchGeo and the rest when it runs.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any

from .constants import STRUCTURES

CLOUD_FIRST = (
    'RandomCloudShadow paints the cloud before its shadow (default: shadow first)'
)
DEVICE = 'torch device to run on (default: cuda when available, else cpu)'
SEED = 'random seed'
WEIGHTS = (
    'a shipped {enum} name ({names}), a Lightning checkpoint of {task} (torchgeo '
    'fit), or a state dict file of the shipped architecture (export)'
)
SEGMENTER = WEIGHTS.format(
    enum='CSIASegmenter_Weights',
    names='BASE_SPARCS_PHOTO, CSIA_SPARCS_PHOTO',
    task='CSIASegmentation',
)
INPAINTER = WEIGHTS.format(
    enum='CSIAInpainter_Weights', names='CLOUD_SPARCS_PHOTO, ...', task='InpaintingTask'
)


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


def _dump(obj: Any, path: str) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1)


def _scenes(args: argparse.Namespace, device: str = 'cpu') -> Any:
    from .experiments.scenes import load_scenes

    return load_scenes(args.root, args.image, device)


def _demo(args: argparse.Namespace) -> None:
    from .experiments.demo import demo

    out = demo(
        args.out,
        args.root,
        args.image,
        args.batch_size,
        args.patch_size,
        args.p,
        args.min_free,
        args.source,
        args.seed,
    )
    print(f'wrote {out}')


def _bench_data(args: argparse.Namespace) -> None:
    from .experiments.bench_data import loader, run

    if args.root is not None:
        loader(args.root, workers=args.workers, batches=args.batches)
        return
    run(count=args.scenes, size=args.size, patches=args.patches)


def _bench(args: argparse.Namespace) -> None:
    from .experiments.bench import run

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


def _evaluate_inpainters(args: argparse.Namespace) -> None:
    from .experiments.inpainters import evaluate, evaluation_table, figure
    from .experiments.networks import load_inpainter

    device = _device(args)
    scenes = _scenes(args, device)

    def name(w: str) -> str:
        if not os.path.isfile(w):
            return w.rpartition('.')[2]
        # several weights: name each by its folder
        if len(args.weights) > 1:
            return os.path.basename(os.path.dirname(os.path.abspath(w)))
        return os.path.basename(w).rsplit('-', 1)[0]

    models = {
        name(w): load_inpainter(w, args.cls, scenes.bands, device, '--weights')
        for w in args.weights
    }
    rows = evaluate(scenes, models, args.cls, count=args.count, size=args.size)
    if args.figure:
        # one row per model, painting the evaluated class
        figure(scenes, [(args.cls, n, m) for n, m in models.items()], args.figure)
    print(evaluation_table(rows))
    if args.json:
        with open(args.json, 'a') as f:
            f.write(json.dumps(rows) + '\n')


def _realism(args: argparse.Namespace) -> None:
    import torch

    from .experiments.networks import load_inpainters, load_segmenter
    from .experiments.realism import realism, realism_figure, realism_table
    from .experiments.two_sample import one_or_per_band

    device = _device(args)
    scenes = _scenes(args, device)
    model = load_segmenter(args.weights, scenes.bands, device)
    ids = scenes.split(*args.splits)
    if not ids:
        raise SystemExit(f'no scene of the splits {args.splits} under {args.root}')
    result, shots = realism(
        scenes,
        model,
        load_inpainters(device, args.inpainters, scenes.bands),
        ids,
        args.source,
        count=args.count,
        size=args.size,
        min_free=args.min_free,
        shadow_first=not args.cloud_first,
        shadow_depth=one_or_per_band(args.shadow_depth),
    )
    _dump(result, args.out)
    if args.examples:
        torch.save(shots, args.examples)
    if args.figure:
        realism_figure(shots, args.figure)
    print(realism_table(result))


def _reach(args: argparse.Namespace) -> None:
    from .experiments.networks import load_inpainters
    from .experiments.reach import reach, reach_table

    scenes = _scenes(args)
    nets = load_inpainters('cpu', args.inpainters, scenes.bands)
    rows: list[dict[str, Any]] = []
    for p in args.p:
        for free in args.min_free:
            shares = reach(
                scenes,
                nets,
                p,
                free,
                args.source,
                count=args.count,
                size=args.size,
                shadow_first=not args.cloud_first,
                seed=args.seed,
            )
            rows += [
                {'p': p, 'min_free': free, 'mode': m, **v} for m, v in shares.items()
            ]
    print(reach_table(rows))
    if args.out:
        _dump(rows, args.out)


def _export(args: argparse.Namespace) -> None:
    from .experiments.networks import export

    print(f'wrote {export(args.checkpoint, args.out)}')


def _add_scenes(parser: argparse.ArgumentParser) -> None:
    """``--root`` and ``--image``: the SPARCS scenes a measure reads, whole."""
    parser.add_argument(
        '--root',
        required=True,
        help='SPARCS folder (either layout); its scenes are read whole, each on '
        'its own grid',
    )
    parser.add_argument(
        '--image',
        choices=['data', 'photo'],
        default='photo',
        help='image type: the 3-band _photo.png quicklooks (the shipped weights) or '
        'the 10-band _data.tif',
    )


def _add_inpainters(parser: argparse.ArgumentParser, use: str) -> None:
    """The ``--inpainters CLOUD SHADOW SNOW`` option."""
    parser.add_argument(
        '--inpainters',
        nargs=3,
        metavar=('CLOUD', 'SHADOW', 'SNOW'),
        help=f'inpainters {use}, each {INPAINTER} (default: the shipped weights)',
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


def _add_crops(parser: argparse.ArgumentParser, count: int, what: str) -> None:
    """``--source``, ``--count`` and ``--size``: the shapes painted, and the crops."""
    parser.add_argument(
        '--source',
        default='sparcs',
        help="structure shapes: 'sparcs' (the shipped bank) or 'procedural'",
    )
    parser.add_argument('--count', type=int, default=count, help=what)
    parser.add_argument('--size', type=int, default=256, help='crop size (px)')


def _add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--device', help=DEVICE)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``torchgeo-csia`` (standard library only, fast).

    Returns:
        The parser; each subcommand's function is its ``func`` default.
    """
    parser = argparse.ArgumentParser(
        prog='torchgeo-csia',
        description='CSIA augmentations for TorchGeo: the demo, the measures, the '
        'benchmarks and tools beside torchgeo fit / torchgeo test',
        formatter_class=_Formatter,
    )
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')

    def command(name: str, about: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name, help=about, description=about, formatter_class=_Formatter
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

    ev = command(
        'evaluate-inpainters',
        'hole reconstruction on held-out scenes against mean and diffusion fills',
    )
    _add_scenes(ev)
    ev.add_argument(
        '--class',
        dest='cls',
        choices=list(STRUCTURES),
        required=True,
        help='class to paint',
    )
    ev.add_argument(
        '--weights', nargs='+', required=True, help=f'inpainters: each {INPAINTER}'
    )
    ev.add_argument('--count', type=int, default=256, help='held-out crops')
    ev.add_argument('--size', type=int, default=256, help='crop size (px)')
    ev.add_argument('--json', help='append the rows to this file')
    ev.add_argument('--figure', help='write held-out before/after patches (PNG) here')
    _add_device(ev)
    ev.set_defaults(func=_evaluate_inpainters)

    rl = command(
        'realism', 'share of painted pixels a segmenter labels as the painted class'
    )
    _add_scenes(rl)
    rl.add_argument(
        '--weights', required=True, help=f'segmenter trained without CSIA: {SEGMENTER}'
    )
    rl.add_argument(
        '--splits', nargs='+', default=['val', 'test'], help='scenes of these splits'
    )
    _add_crops(rl, 256, 'crops painted')
    rl.add_argument(
        '--min-free', type=float, default=0.95, help='least background share of a crop'
    )
    _add_inpainters(rl, 'that paint')
    rl.add_argument('--out', default='realism.json', help='write the shares here')
    rl.add_argument('--cloud-first', action='store_true', help=CLOUD_FIRST)
    rl.add_argument(
        '--shadow-depth',
        type=float,
        nargs='+',
        default=[1.0],
        help="the shadow modes' shadow_depth, one number or one per band "
        '(1: as the network paints)',
    )
    rl.add_argument('--examples', help='write example crops (torch file) here')
    rl.add_argument('--figure', help='write painted-beside-real examples (PNG) here')
    _add_device(rl)
    rl.set_defaults(func=_realism)

    rc = command(
        'reach', 'share of training crops each CSIA mode may change and changes'
    )
    _add_scenes(rc)
    _add_reach(rc, [0.25, 0.5, 0.8], [0.25, 0.5, 1.0], 'probabilities', nargs='+')
    _add_crops(rc, 1024, 'training crops drawn')
    _add_inpainters(rc, 'whose margins count (no network runs)')
    rc.add_argument('--cloud-first', action='store_true', help=CLOUD_FIRST)
    rc.add_argument('--seed', type=int, default=0, help=SEED)
    rc.add_argument('--out', help='write the rows as JSON here')
    rc.set_defaults(func=_reach)

    ex = command(
        'export',
        'write the network of a Lightning checkpoint as shipped weights: an fp16 '
        'CPU state dict named OUT-<sha256 prefix>.pth',
    )
    ex.add_argument(
        'checkpoint',
        help='a checkpoint of InpaintingTask (its moving average where it holds '
        'one) or CSIASegmentation, from torchgeo fit',
    )
    ex.add_argument(
        'out',
        help='path of the weights file without hash and suffix, e.g. '
        'models/segmentation_models/csia_segmenter_base_photo_s0',
    )
    ex.set_defaults(func=_export)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``torchgeo-csia``.

    Args:
        argv: arguments (defaults to ``sys.argv[1:]``).

    Raises:
        SystemExit: If a weights option names nothing usable (with the message).
    """
    args = build_parser().parse_args(argv)
    from .experiments.networks import WeightsSpecError

    try:
        args.func(args)
    except WeightsSpecError as err:
        raise SystemExit(str(err)) from err


if __name__ == '__main__':
    main()
