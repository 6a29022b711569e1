import csv
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from lightning.pytorch import Trainer
from lightning.pytorch.loggers import CSVLogger
from PIL import Image
from torch import Tensor, nn
from torch.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau
from torchmetrics.classification import (
    MulticlassConfusionMatrix,
    MulticlassJaccardIndex,
)

from torchgeo_csia.constants import CLASSES
from torchgeo_csia.datamodules import SPARCSDataModule
from torchgeo_csia.datamodules.sparcs import SPARCSScenes
from torchgeo_csia.datasets import SPARCS
from torchgeo_csia.tasks import CSIASegmentation
from torchgeo_csia.tasks.segmentation import (
    PresentClassJaccardIndex,
    confusions,
    sliding_window,
)

from ..conftest import DATA, HERE
from ..datamodules.test_sparcs import cli

CONFIGS = os.path.join(HERE, '..', 'docs', 'configs')


def optimizers(task: CSIASegmentation, trainer: Trainer) -> dict[str, object]:
    task.trainer = trainer
    conf = task.configure_optimizers()
    assert isinstance(conf, dict)
    return conf


class TestScheduler:
    def test_onecycle_over_the_trainers_steps(self) -> None:
        task = CSIASegmentation(scheduler='onecycle', lr=2e-3, weight_decay=1e-4)
        conf = optimizers(task, Trainer(max_steps=100, logger=False))
        optimizer, scheduler = conf['optimizer'], conf['lr_scheduler']
        assert isinstance(optimizer, torch.optim.AdamW)
        assert optimizer.defaults['weight_decay'] == 1e-4
        assert isinstance(scheduler, dict) and scheduler['interval'] == 'step'
        onecycle = scheduler['scheduler']
        assert isinstance(onecycle, OneCycleLR) and onecycle.total_steps == 100
        lrs = []
        for _ in range(100):
            lrs.append(optimizer.param_groups[0]['lr'])
            optimizer.step()
            onecycle.step()
        # 5 % warm-up from lr / 25 to lr, then down to lr / 25 / 1e4
        assert lrs[0] == pytest.approx(2e-3 / 25)
        assert max(lrs) == pytest.approx(2e-3) and lrs.index(max(lrs)) == 4
        assert lrs[-1] == pytest.approx(2e-3 / 25 / 1e4, rel=1e-2)

    def test_plateau_is_torchgeos(self) -> None:
        task = CSIASegmentation(patience=3)
        conf = optimizers(task, Trainer(max_steps=100, logger=False))
        optimizer, scheduler = conf['optimizer'], conf['lr_scheduler']
        assert isinstance(optimizer, torch.optim.AdamW)
        assert optimizer.defaults['weight_decay'] == 1e-2  # torch's, as in TorchGeo
        assert isinstance(scheduler, dict) and scheduler['monitor'] == 'val_loss'
        assert isinstance(scheduler['scheduler'], ReduceLROnPlateau)
        assert scheduler['scheduler'].patience == 3

    def test_onecycle_needs_a_bounded_run(self) -> None:
        task = CSIASegmentation(scheduler='onecycle')
        with pytest.raises(ValueError, match='needs a bounded run'):
            optimizers(task, Trainer(max_epochs=-1, logger=False))

    def test_invalid_arguments(self) -> None:
        with pytest.raises(ValueError, match='scheduler must be'):
            CSIASegmentation(scheduler='cosine')  # type: ignore[arg-type]
        with pytest.raises(ValueError, match='tile_overlap must be'):
            CSIASegmentation(tile_size=64, tile_overlap=64)


@pytest.mark.parametrize('name', ['sparcs_base', 'sparcs_csia'])
def test_configs_select_the_measured_recipe(name: str) -> None:
    # what the shipped segmenters were trained with (torchgeo fit)
    with open(os.path.join(CONFIGS, f'{name}.yaml')) as f:
        config = yaml.safe_load(f)
    model, data = config['model']['init_args'], config['data']['init_args']
    assert config['seed_everything'] == 0
    assert config['trainer'] == {'max_steps': 2000, 'precision': 'bf16-mixed'}
    assert model['model'] == 'unet++' and model['backbone'] == 'tu-efficientnet_b0'
    assert (model['scheduler'], model['lr'], model['weight_decay']) == (
        'onecycle',
        0.002,
        0.0001,
    )
    assert model['pct_start'] == 0.05
    assert (data['batch_size'], data['patch_size'], data['rot90']) == (32, 256, True)
    assert data['length'] == 2000 * 32  # one epoch: validation once, at the end
    modes = [
        (m['class_path'].rsplit('.', 1)[1], m['init_args'])
        for m in data.get('csia', [])
    ]
    assert [mode for mode, _ in modes] == (
        ['RandomCloudShadow', 'RandomShadowForClouds', 'RandomSnow']
        if name == 'sparcs_csia'
        else []
    )
    for mode, args in modes:  # csia_modes: p 0.5, min_free 0.25, bf16, shadow first
        assert args['p'] == 0.5 and args['autocast'] == 'torch.bfloat16'
        assert args.get('min_free', 0.25) == 0.25
        assert args.get('shadow_first', True) is True
        # the shadows as dark as real ones (the ablation row csia_all_deep)
        assert args.get('shadow_depth') == (None if mode == 'RandomSnow' else 1.9)


class TestMetrics:
    def test_absent_class_left_out(self) -> None:
        # truth: background, shadow, cloud (and an ignored pixel); snow only predicted
        truth = torch.tensor([[0, 0, 1, 1, 255, 3]])
        pred = torch.tensor([[0, 2, 1, 0, 1, 3]])
        ours = PresentClassJaccardIndex(num_classes=4, ignore_index=255, average='none')
        theirs = MulticlassJaccardIndex(num_classes=4, ignore_index=255, average='none')
        iou = ours(pred, truth)
        # by hand: background 1 / 3, shadow 1 / 2 (the ignored pixel not counted)
        assert iou[[0, 1, 3]].tolist() == pytest.approx([1 / 3, 1 / 2, 1.0])
        assert math.isnan(iou[2]) and theirs(pred, truth)[2] == 0
        mean = PresentClassJaccardIndex(num_classes=4, ignore_index=255)
        assert mean(pred, truth).item() == pytest.approx((1 / 3 + 1 / 2 + 1) / 3)
        # torchmetrics averages the absent class in as 0
        macro = MulticlassJaccardIndex(num_classes=4, ignore_index=255)
        assert macro(pred, truth).item() == pytest.approx((1 / 3 + 1 / 2 + 1) / 4)

    def test_logged_per_class_by_name(self) -> None:
        task = CSIASegmentation()
        assert task.hparams['labels'] == list(CLASSES)
        for split in ('train', 'val', 'test'):
            metrics = getattr(task, f'{split}_metrics')
            assert isinstance(
                metrics[f'{split}_AverageJaccardIndex'], PresentClassJaccardIndex
            )
            preds = torch.tensor([[0, 1, 2, 3]])
            names = metrics(preds, torch.tensor([[0, 1, 1, 3]])).keys()
            for name in CLASSES:
                assert f'{split}_ClasswiseJaccardIndex_{name}' in names
                assert f'{split}_ClasswiseAccuracy_{name}' in names  # TorchGeo's


class TestTrainingStep:
    def batch(self) -> dict[str, Tensor]:
        g = torch.Generator().manual_seed(0)
        return {
            'image': torch.rand(2, 3, 32, 32, generator=g),
            'mask': torch.randint(0, 4, (2, 32, 32), generator=g),
        }

    @pytest.mark.filterwarnings('ignore:You are trying to `self.log')
    def test_metrics_accumulate_as_torchgeos(self) -> None:
        # the same epoch metrics as TorchGeo's step, which calls the collection
        torch.manual_seed(0)
        ours = CSIASegmentation(backbone='resnet18', decoder_channels=(16,) * 5)
        theirs = CSIASegmentation(backbone='resnet18', decoder_channels=(16,) * 5)
        theirs.load_state_dict(ours.state_dict())
        ours.eval(), theirs.eval()  # batch norm: the same logits from both
        for i in range(2):
            batch = self.batch()
            loss = ours.training_step(batch, i)
            logits = theirs(batch['image'])
            theirs.train_metrics(logits, batch['mask'])
            assert loss.item() == pytest.approx(
                theirs.criterion(logits, batch['mask']).item()
            )
        a, b = ours.train_metrics.compute(), theirs.train_metrics.compute()
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], equal_nan=True)

    @pytest.mark.filterwarnings('ignore:You are trying to `self.log')
    def test_logit_adjustment_moves_the_training_loss_only(self) -> None:
        torch.manual_seed(0)
        adjustment = [-0.3, 0.4, 0.8, 0.35]
        ours = CSIASegmentation(
            backbone='resnet18',
            decoder_channels=(16,) * 5,
            logit_adjustment=adjustment,
        )
        plain = CSIASegmentation(backbone='resnet18', decoder_channels=(16,) * 5)
        # the same network: the adjustment is not in the state dict
        plain.load_state_dict(ours.state_dict())
        ours.eval(), plain.eval()
        batch = self.batch()
        logits = plain(batch['image'])
        torch.testing.assert_close(ours(batch['image']), logits)
        shifted = logits + torch.tensor(adjustment).view(1, -1, 1, 1)
        loss = ours.training_step(batch, 0)
        assert loss.item() == pytest.approx(
            plain.criterion(shifted, batch['mask']).item()
        )
        assert loss.item() != pytest.approx(
            plain.criterion(logits, batch['mask']).item()
        )

    def test_logit_adjustment_needs_one_value_per_class(self) -> None:
        with pytest.raises(ValueError, match='one value per class \\(4\\)'):
            CSIASegmentation(logit_adjustment=[0.1, 0.2])

    def test_training_metrics_skip_host_checks(self) -> None:
        task = CSIASegmentation()
        for metric in task.train_metrics.values():
            assert getattr(metric, 'metric', metric).validate_args is False
        for metric in task.val_metrics.values():
            assert getattr(metric, 'metric', metric).validate_args is True


class _Numbered(nn.Module):
    """Logits that number the tiles: one channel, the tile's index everywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def forward(self, x: Tensor) -> Tensor:
        n = torch.arange(self.seen, self.seen + len(x), dtype=torch.float32)
        self.seen += len(x)
        return n.view(-1, 1, 1, 1).expand(-1, 1, *x.shape[-2:])


class TestSlidingWindow:
    def test_overlaps_are_averaged(self) -> None:
        # 64 px, tiles of 32 every 24 px: padded to 80, tiles at 0, 24 and 48
        # (numbered row by row), 9 tiles in two forward passes (8 + 1)
        out = sliding_window(_Numbered(), torch.zeros(1, 3, 64, 64), 32, 8)
        assert out.shape == (1, 1, 64, 64)
        assert out[0, 0, 0, 0] == 0  # tile 0 only
        assert out[0, 0, 10, 60] == 2  # tile 2 only
        assert out[0, 0, 30, 30] == (0 + 1 + 3 + 4) / 4
        assert out[0, 0, 50, 50] == (4 + 5 + 7 + 8) / 4
        assert out[0, 0, 63, 63] == 8

    @pytest.mark.parametrize('size', [(64, 64), (50, 70), (10, 12)])
    def test_pixelwise_model_is_unchanged(self, size: tuple[int, int]) -> None:
        # reflect- (or, for scenes smaller than the padding, replicate-) padded
        net = nn.Conv2d(3, 4, 1)
        image = torch.rand(2, 3, *size)
        with torch.no_grad():
            out = sliding_window(net, image, 32, 8)
            torch.testing.assert_close(out, net(image))

    def test_overlap_checked(self) -> None:
        with pytest.raises(ValueError, match='overlap must be'):
            sliding_window(nn.Identity(), torch.zeros(1, 3, 8, 8), 32, 32)


def _scene(scene: str) -> tuple[np.ndarray, np.ndarray]:
    stem = os.path.join(DATA, 'usgs', scene)
    photo = np.asarray(Image.open(f'{stem}_photo.png').convert('RGB'))
    codes = np.asarray(Image.open(f'{stem}_mask.png'))
    return photo.transpose(2, 0, 1) / 255, np.asarray(SPARCS.code_maps['csia'])[codes]


def test_confusions_are_torchmetrics_per_sample() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 4, 8, 8, generator=g)
    labels = torch.randint(0, 4, (3, 8, 8), generator=g)
    labels[torch.rand(3, 8, 8, generator=g) < 0.2] = 255
    got = confusions(logits, labels, 4, 255)
    assert got.shape == (3, 4, 4) and got.dtype == torch.int64
    for b in range(3):
        metric = MulticlassConfusionMatrix(4, ignore_index=255)
        metric.update(logits[b : b + 1], labels[b : b + 1])
        assert torch.equal(got[b], metric.compute())
    # a label out of range would land in a neighbouring sample's cells
    labels[0, 0, 0] = 4
    with pytest.raises(ValueError, match=r'every label must be in \[0, 4\)'):
        confusions(logits, labels, 4, 255)
    with pytest.raises(ValueError, match='every class index'):
        confusions(torch.full((1, 2), 5), torch.zeros(1, 2, dtype=torch.long), 4)


def test_test_step_is_a_hand_computation(tmp_path: Path) -> None:
    # a pixel-wise model with exact logits (r, g, b, 0.5): its class is the largest
    # channel, or cloud where all are below 0.5; scored on whole scenes in tiles
    task = CSIASegmentation(tile_size=32, tile_overlap=8)
    task.model = nn.Conv2d(3, 4, 1)
    with torch.no_grad():
        task.model.weight.copy_(torch.eye(4, 3)[:, :, None, None])
        task.model.bias.copy_(torch.tensor([0, 0, 0, 0.5]))
    dm = SPARCSDataModule(
        paths=os.path.join(DATA, 'usgs'), classes='csia', test_splits=['val', 'test']
    )
    trainer = Trainer(
        accelerator='cpu',
        logger=CSVLogger(tmp_path, name='scores'),
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    (scores,) = trainer.test(task, datamodule=dm)
    assert isinstance(dm.test_dataset, SPARCSScenes)
    # each scene's confusion, written beside the metrics
    with open(tmp_path / 'scores' / 'version_0' / 'scenes.csv') as f:
        written = list(csv.DictReader(f))
    assert len(written) == 4 * len(dm.test_dataset.scenes)
    confusion = np.zeros((4, 4), dtype=np.int64)
    losses = []
    for s, scene in enumerate(dm.test_dataset.scenes):
        image, truth = _scene(scene)
        logits = np.concatenate([image, np.full_like(image[:1], 0.5)])
        pred = logits.argmax(0)
        own = np.bincount(truth.ravel() * 4 + pred.ravel(), minlength=16)
        rows = written[4 * s : 4 * s + 4]
        assert [(r['scene'], r['truth']) for r in rows] == [(scene, c) for c in CLASSES]
        got = [[int(r[c]) for c in CLASSES] for r in rows]
        assert got == own.reshape(4, 4).tolist()
        confusion += own.reshape(4, 4)
        logp = logits - np.log(np.exp(logits).sum(0))
        losses.append(-np.take_along_axis(logp, truth[None], 0).mean())
    tp = np.diag(confusion)
    iou = tp / (confusion.sum(0) + confusion.sum(1) - tp)
    present = confusion.sum(1) > 0
    for i, name in enumerate(CLASSES):
        got = scores[f'test_ClasswiseJaccardIndex_{name}']
        assert math.isnan(got) if not present[i] else got == pytest.approx(iou[i])
    assert scores['test_AverageJaccardIndex'] == pytest.approx(iou[present].mean())
    assert scores['test_loss'] == pytest.approx(np.mean(losses), rel=1e-5)
    # predict_step: the same logits, as probabilities of whole scenes
    (first, *_) = trainer.predict(task, datamodule=dm)
    assert isinstance(first, dict)
    image, _ = _scene(dm.test_dataset.scenes[0])
    logits = torch.from_numpy(np.concatenate([image, np.full_like(image[:1], 0.5)]))
    torch.testing.assert_close(
        first['probabilities'][0], logits.float().softmax(0), atol=1e-6, rtol=1e-5
    )


@pytest.mark.parametrize('name', ['sparcs_base', 'sparcs_csia'])
def test_documented_configs_fit_then_test(name: str, tmp_path: Path) -> None:
    # the BASE and CSIA recipes, shrunk to one CPU step, then scored on whole scenes
    config = os.path.join(CONFIGS, f'{name}.yaml')
    tiny = [
        '--data.init_args.batch_size=2',
        '--data.init_args.patch_size=64',
        '--data.init_args.length=2',
        '--data.init_args.num_workers=0',
        '--trainer.precision=32',
        '--trainer.logger=CSVLogger',
        f'--trainer.logger.save_dir={tmp_path}',
    ]
    cli(
        'fit',
        config,
        tmp_path,
        *tiny,
        '--trainer.max_steps=1',
        '--trainer.limit_val_batches=0',
        '--trainer.num_sanity_val_steps=0',
    )
    (ckpt,) = tmp_path.glob('lightning_logs/version_0/checkpoints/*.ckpt')
    cli(
        'test',
        config,
        tmp_path,
        *tiny,
        f'--ckpt_path={ckpt}',
        '--model.init_args.tile_size=64',
    )
    with open(tmp_path / 'lightning_logs' / 'version_1' / 'metrics.csv') as f:
        (row,) = list(csv.DictReader(f))
    # and each scene's confusion beside them
    with open(tmp_path / 'lightning_logs' / 'version_1' / 'scenes.csv') as f:
        assert next(csv.reader(f)) == ['scene', 'truth', *CLASSES]
    for cls in CLASSES:
        value = float(row[f'test_ClasswiseJaccardIndex_{cls}'])
        assert math.isnan(value) or 0 <= value <= 1
