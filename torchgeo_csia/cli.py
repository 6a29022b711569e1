"""The ``torchgeo-csia`` command."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    from lightning.pytorch import Trainer
    from torchgeo.datasets.utils import percentile_normalization

    from .datamodules import SPARCSDataModule
    from .datasets import IGNORE_INDEX, SPARCS
    from .datasets.synthetic import write_sample

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
        batch = next(iter(dm.train_dataloader()))
        batch = dm.on_after_batch_transfer(batch, 0)
    n = len(batch['image'])
    fig, axs = plt.subplots(2, n, figsize=(3 * n, 6.4), squeeze=False)
    rgb = [3, 2, 1] if args.image == 'data' else [0, 1, 2]
    cmap = SPARCS.colormap('csia')
    for i in range(n):
        img = batch['image'][i, rgb].permute(1, 2, 0).numpy()
        axs[0, i].imshow(percentile_normalization(img, 1, 99))
        mask = np.ma.masked_equal(batch['mask'][i].numpy(), IGNORE_INDEX)
        axs[1, i].imshow(mask, cmap=cmap, vmin=0, vmax=3, interpolation='none')
        axs[0, i].set_title(
            f'sun az {batch["sun_azimuth"][i]:.0f}, el {batch["sun_elevation"][i]:.0f}'
        )
        for ax in axs[:, i]:
            ax.axis('off')
    fig.suptitle(
        'SPARCS training batch: image / mask (grey bg, black shadow, '
        'cyan snow, white cloud)'
    )
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print(f'wrote {args.out}')


def _bench_data(args: argparse.Namespace) -> None:
    from .bench_data import run

    run(count=args.scenes, size=args.size, patches=args.patches)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``torchgeo-csia``.

    Args:
        argv: arguments (defaults to ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        prog='torchgeo-csia', description='CSIA augmentations for TorchGeo'
    )
    sub = parser.add_subparsers(dest='command', required=True)

    demo = sub.add_parser('demo', help='draw a SPARCS training batch into a figure')
    demo.add_argument('--root', help='SPARCS folder (default: a generated sample)')
    demo.add_argument('--image', choices=['data', 'photo'], default='photo')
    demo.add_argument('--batch-size', type=int, default=6)
    demo.add_argument('--patch-size', type=int, default=256)
    demo.add_argument('--out', default='demo.png', help='figure to write')
    demo.set_defaults(func=_demo)

    bench = sub.add_parser(
        'bench-data', help='patches/s of SPARCS against TorchGeo L8Biome'
    )
    bench.add_argument('--scenes', type=int, default=4)
    bench.add_argument('--size', type=int, default=1000)
    bench.add_argument('--patches', type=int, default=300)
    bench.set_defaults(func=_bench_data)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == '__main__':
    main()
