"""Train two steps with DDP (gloo, CPU) through SPARCSDataModule with CSIA on.

Run by ``tests/test_ddp.py`` under ``torch.distributed.run --nproc_per_node 2``; each
rank writes what it saw and what CSIA did to ``<out>/rank<N>.json``.
"""

import json
import os
import sys

import torch
from lightning.pytorch import Callback, LightningModule, Trainer, seed_everything
from torch import nn

from torchgeo_csia.datamodules import SPARCSDataModule
from torchgeo_csia.models import Inpainter
from torchgeo_csia.transforms import RandomCloudShadow


class Record(Callback):
    def __init__(self, aug: RandomCloudShadow) -> None:
        self.aug = aug
        self.seen: list[dict[str, object]] = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
        self.seen.append(
            {
                'bounds': batch['bounds'].tolist(),
                'mask_sum': int(batch['mask'].sum()),
                'image_sum': float(batch['image'].double().sum()),
                'augmented': self.aug._params['indices'].tolist(),
                'drawn': self.aug._params['batch_prob'].tolist(),
            }
        )


class Tiny(LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Conv2d(3, 4, 3, padding=1)

    def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
        return nn.functional.cross_entropy(
            self.net(batch['image']), batch['mask'], ignore_index=255
        )

    def configure_optimizers(self):  # type: ignore[no-untyped-def]
        return torch.optim.SGD(self.parameters(), lr=0.01)


def main(root: str, out: str, workers: int) -> None:
    seed_everything(0)
    net = Inpainter(nn.Conv2d(4, 3, 3, padding=1), bands=3)
    # p < 1: which samples change is a random draw that the ranks must not share
    aug = RandomCloudShadow(net, net, p=0.5, min_free=0.0)
    dm = SPARCSDataModule(
        batch_size=8,
        patch_size=32,
        length=32,
        num_workers=workers,
        csia=[aug],
        paths=root,
        image='photo',
        classes='csia',
    )
    record = Record(aug)
    trainer = Trainer(
        accelerator='cpu',
        devices=2,
        strategy='ddp',
        max_steps=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        callbacks=[record],
        limit_val_batches=0,
        num_sanity_val_steps=0,
    )
    trainer.fit(Tiny(), datamodule=dm)
    with open(os.path.join(out, f'rank{trainer.global_rank}.json'), 'w') as f:
        json.dump(record.seen, f)
    # gloo's threads must stop before the interpreter exits, or a rank can abort
    # ('terminate called without an active exception') after its work is done
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
