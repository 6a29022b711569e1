import os
import sys
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import Tensor
from torch.utils.data import DataLoader
from torchgeo.main import main

from torchgeo_csia import losses
from torchgeo_csia.callbacks import EMA
from torchgeo_csia.datamodules import SPARCSInpaintingDataModule
from torchgeo_csia.experiments.networks import load_inpainter
from torchgeo_csia.models.critic import patch_critic
from torchgeo_csia.models.inpainter import smooth_fill
from torchgeo_csia.tasks import InpaintingTask
from torchgeo_csia.tasks.inpainting import EMA_KEY, inpainter_state, swap_context

from ..conftest import DATA

CONFIGS = Path(__file__).resolve().parents[2] / 'docs' / 'configs'
#: the stages of each shipped inpainter, in training order
STAGES = {
    'cloud': ['inpainter_cloud', 'inpainter_cloud_swap'],
    'shadow': ['inpainter_shadow', 'inpainter_shadow_adv'],
    'snow': [
        'inpainter_snow',
        'inpainter_snow_adv',
        'inpainter_snow_adv2',
        'inpainter_snow_adv_wide',
    ],
}
#: the recipes that paint over the ground (mode 'over'), one stage each
OVER = {c: f'inpainter_{c}_over' for c in STAGES}
#: a small network, so the training-step tests stay fast on a CPU
SMALL = {'decoder_channels': (16, 16, 16, 16, 16)}


# ------------------------------------------------------------------- losses
def hole(shape: tuple[int, int, int], *where: tuple[slice, slice]) -> Tensor:
    h = torch.zeros(shape, dtype=torch.bool)
    for rows, cols in where:
        h[:, rows, cols] = True
    return h


def test_hole_l1_counts_hole_pixels_and_bands() -> None:
    pred = torch.zeros(1, 3, 4, 4)
    target = torch.ones(1, 3, 4, 4)
    target[:, :, 0, 0] = 3.0  # the one hole pixel that errs by 3
    h = hole((1, 4, 4), (slice(0, 1), slice(0, 2)))
    assert losses.hole_l1(pred, target, h).item() == pytest.approx((3 + 1) / 2)
    # no hole: 0, not a division by zero
    assert losses.hole_l1(pred, target, torch.zeros(1, 4, 4, dtype=torch.bool)) == 0


def test_gradient_l1_by_hand() -> None:
    a = torch.tensor([[[[0.0, 1.0, 3.0], [0.0, 0.0, 0.0]]]])  # 1 x 1 x 2 x 3
    b = torch.zeros_like(a)
    everywhere = torch.ones(1, 2, 3, dtype=torch.bool)
    # horizontal diffs |1|, |2|, 0, 0 over 4; vertical |0|, |-1|, |-3| over 3
    assert losses.gradient_l1(a, b, everywhere).item() == pytest.approx(3 / 4 + 4 / 3)
    # only differences starting in the first column count
    first = hole((1, 2, 3), (slice(0, 2), slice(0, 1)))
    assert losses.gradient_l1(a, b, first).item() == pytest.approx(1 / 2 + 0 / 1)
    assert losses.gradient_l1(a, a, everywhere) == 0


def test_texture_ratio() -> None:
    torch.manual_seed(0)
    truth = torch.rand(2, 3, 8, 8)
    h = hole((2, 8, 8), (slice(2, 6), slice(2, 6)))
    assert losses.texture_ratio(truth, truth, h).item() == pytest.approx(1.0)
    flat = torch.where(h[:, None], 0.5, truth)
    # a flat fill has gradients only where the hole meets the context
    assert losses.texture_ratio(flat, truth, h) < 0.6


def test_hinge_losses_by_hand() -> None:
    w = torch.tensor([[[[1.0, 0.0]]]])
    real, fake = torch.tensor([[[[2.0, -5.0]]]]), torch.tensor([[[[-2.0, 5.0]]]])
    # confident and right where weighted: no loss; the unweighted patch is ignored
    assert losses.critic_hinge_loss(real, fake, w) == 0
    zero = torch.zeros(1, 1, 1, 2)
    assert losses.critic_hinge_loss(zero, zero, w).item() == pytest.approx(2.0)
    assert losses.fill_hinge_loss(torch.tensor([[[[0.5, 9.0]]]]), w).item() == -0.5


def test_patch_weights_mark_patches_touching_the_hole() -> None:
    h = hole((1, 8, 8), (slice(0, 1), slice(0, 1)))
    w = losses.patch_weights(h, (1, 1, 2, 2))
    assert w.shape == (1, 1, 2, 2)
    assert w.flatten().tolist() == [1.0, 0.0, 0.0, 0.0]


def test_patch_critic_scores_patches() -> None:
    critic = patch_critic(3, width=8)
    assert critic(torch.rand(2, 4, 64, 64)).shape == (2, 1, 6, 6)


def test_adversarial_gradients_flow() -> None:
    torch.manual_seed(0)
    critic = patch_critic(3, width=8)
    real = torch.rand(1, 3, 64, 64)
    fake = real.clone().requires_grad_()
    h = hole((1, 64, 64), (slice(0, 16), slice(0, 16)))
    d_loss, w = losses.critic_loss(critic, real, fake, h)
    assert 0 < w.sum() < w.numel()
    assert torch.isfinite(d_loss) and d_loss >= 0
    d_loss.backward()  # type: ignore[no-untyped-call]
    # the critic learns from its loss, the fill does not
    assert fake.grad is None
    assert all(p.grad is not None for p in critic.parameters())
    losses.fill_loss(critic, fake, h, w).backward()  # type: ignore[no-untyped-call]
    assert fake.grad is not None and fake.grad[..., :16, :16].abs().sum() > 0


def test_swap_context_keeps_the_structure_on_new_ground() -> None:
    img, ground = torch.rand(4, 3, 8, 8), torch.rand(4, 3, 8, 8)
    structure = hole((4, 8, 8), (slice(2, 5), slice(3, 6)))
    out = swap_context(img, structure, ground, 0.5)
    s = structure[:, None].expand_as(img)
    assert torch.equal(out[:2][s[:2]], img[:2][s[:2]])
    assert torch.equal(out[:2][~s[:2]], ground[:2][~s[:2]])
    assert torch.equal(out[2:], img[2:])
    assert torch.equal(swap_context(img, structure, ground, 0.0), img)


# --------------------------------------------------------------------- task
def batches(count: int, ground: bool = False) -> DataLoader[dict[str, Tensor]]:
    """Batches of 2 crops of 32 px, each with a square cloud (class 3)."""
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2 * count):
        mask = torch.zeros(32, 32, dtype=torch.long)
        mask[8:20, 6:18] = 3
        sample = {'image': torch.rand(3, 32, 32, generator=g), 'mask': mask}
        if ground:
            sample['ground'] = torch.rand(3, 32, 32, generator=g)
        samples.append(sample)
    return DataLoader(samples, batch_size=2)  # type: ignore[arg-type]


def one(batch: dict[str, Tensor]) -> DataLoader[dict[str, Tensor]]:
    """A loader of the one (collated) *batch*."""
    return DataLoader([batch], batch_size=None)  # type: ignore[arg-type]


def trainer(steps: int, *callbacks: Callback) -> Trainer:
    return Trainer(
        accelerator='cpu',
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=list(callbacks),
    )


def params(module: torch.nn.Module) -> list[Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def changed(before: list[Tensor], module: torch.nn.Module) -> bool:
    return any(
        not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True)
    )


class TestInpaintingTask:
    def test_training_step_l1(self) -> None:
        task = InpaintingTask('cloud', **SMALL)  # type: ignore[arg-type]
        assert task.critic is None and not task.automatic_optimization
        before = params(task.model)
        tr = trainer(2)
        tr.fit(task, batches(2))
        assert tr.global_step == 2 and changed(before, task.model)
        logged = tr.callback_metrics
        assert {'train_l1', 'train_texture', 'train_loss'} <= set(logged)
        assert 'train_adversarial' not in logged
        assert torch.isclose(
            logged['train_loss'], logged['train_l1'] + logged['train_texture']
        )

    def test_training_step_adversarial(self) -> None:
        task = InpaintingTask(
            'cloud',
            adversarial=0.05,
            critic_width=8,
            swap=0.5,
            critic_real='swapped',
            **SMALL,  # type: ignore[arg-type]
        )
        assert task.critic is not None
        model, critic = params(task.model), params(task.critic)
        tr = trainer(3)
        tr.fit(task, batches(3, ground=True))
        # both networks stepped each batch; global_step counts inpainter steps
        assert tr.global_step == 3
        assert changed(model, task.model) and changed(critic, task.critic)
        assert {'train_critic', 'train_adversarial'} <= set(tr.callback_metrics)
        # the critic's weights stay trainable after the toggled inpainter step
        assert all(p.requires_grad for p in task.critic.parameters())
        # the one-cycle schedule stepped once a batch
        sched = tr.lr_scheduler_configs[0].scheduler
        assert sched.last_epoch == 3

    def test_swap_needs_ground(self) -> None:
        task = InpaintingTask('cloud', swap=1.0, **SMALL)  # type: ignore[arg-type]
        with pytest.raises(KeyError, match='ground'):
            trainer(1).fit(task, batches(1))

    def test_schedule_longer_than_run(self) -> None:
        task = InpaintingTask('cloud', total_steps=1, **SMALL)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match='exceeds the one-cycle'):
            trainer(2).fit(task, batches(2))

    def test_validation_metrics(self) -> None:
        task = InpaintingTask('cloud', **SMALL)  # type: ignore[arg-type]
        tr = trainer(1)
        (out,) = tr.validate(task, batches(2), verbose=False)
        assert {'val_l1', 'val_psnr', 'val_texture'} <= set(out)
        assert 0 < out['val_l1'] <= 1 and out['val_psnr'] > 0

    @pytest.mark.parametrize(
        'kwargs, match',
        [
            ({'structure': 'background'}, 'structure'),
            ({'critic_real': 'both'}, 'critic_real'),
            ({'swap': 2.0}, 'swap'),
            ({'adversarial': -1.0}, '>= 0'),
        ],
    )
    def test_invalid_arguments(self, kwargs: dict[str, Any], match: str) -> None:
        with pytest.raises(ValueError, match=match):
            InpaintingTask(**kwargs)

    def test_init_from_shipped_weights(self) -> None:
        task = InpaintingTask('shadow', init='SHADOW_SPARCS_PHOTO', mode='over')
        state = inpainter_state('CSIAInpainter_Weights.SHADOW_SPARCS_PHOTO')
        for k, v in task.model.state_dict().items():
            assert torch.equal(v, state[k].to(v.dtype)), k
        assert task.model.structure == 'shadow'
        with pytest.raises(ValueError, match='shadow'):
            InpaintingTask('cloud', init='SHADOW_SPARCS_PHOTO', mode='over')
        # the shipped shadow paints over the ground: a 'fill' task says so
        with pytest.raises(ValueError, match=r"paints in mode 'over'.*set mode: over"):
            InpaintingTask('shadow', init='SHADOW_SPARCS_PHOTO')
        fill = InpaintingTask('snow', init='SNOW_SPARCS_PHOTO')
        assert fill.model.mode == 'fill'

    def test_init_from_checkpoint_and_export(self, tmp_path: Path) -> None:
        task = InpaintingTask('snow', **SMALL)  # type: ignore[arg-type]
        tr = trainer(1)
        tr.fit(task, batches(1))
        ckpt = str(tmp_path / 'run.ckpt')
        tr.save_checkpoint(ckpt)
        again = InpaintingTask('snow', init=ckpt, **SMALL)  # type: ignore[arg-type]
        for a, b in zip(
            again.model.state_dict().values(),
            task.model.state_dict().values(),
            strict=True,
        ):
            assert torch.equal(a, b)
        export = str(tmp_path / 'export.pth')
        torch.save(task.model.state_dict(), export)
        assert inpainter_state(export).keys() == task.model.state_dict().keys()
        with pytest.raises(ValueError, match='snow inpainter, not cloud'):
            inpainter_state(ckpt, 'cloud')
        # a checkpoint of a fine-tuning run loads without the file it started from
        tr = trainer(1)
        tr.fit(again, batches(1))
        tuned = str(tmp_path / 'tuned.ckpt')
        tr.save_checkpoint(tuned)
        os.remove(ckpt)
        loaded = InpaintingTask.load_from_checkpoint(tuned)
        assert loaded.init is None and torch.load(tuned)['init'] == ckpt
        for a, b in zip(
            loaded.model.state_dict().values(),
            again.model.state_dict().values(),
            strict=True,
        ):
            assert torch.equal(a, b)


class TestOverMode:
    def test_training_step(self) -> None:
        task = InpaintingTask('cloud', mode='over', **SMALL)  # type: ignore[arg-type]
        assert task.model.mode == 'over' and task.hparams['mode'] == 'over'
        before = params(task.model)
        tr = trainer(2)
        tr.fit(task, batches(2))
        assert tr.global_step == 2 and changed(before, task.model)
        assert torch.isfinite(tr.callback_metrics['train_loss'])

    def test_prediction_ignores_the_hole(self) -> None:
        # the image inside the hole is the target: it must reach neither the
        # network nor the composite, in training or evaluation
        task = InpaintingTask('cloud', mode='over', **SMALL)  # type: ignore[arg-type]
        batch = next(iter(batches(1)))
        hole = task._holes(batch)[1]
        other = dict(batch)
        noise = torch.rand(2, 3, 32, 32)
        other['image'] = torch.where(hole[:, None], noise, batch['image'])
        preds: list[Tensor] = []
        for sample in (batch, other):
            copy = deepcopy(task)
            copy.model.register_forward_hook(lambda m, a, out: preds.append(out))
            trainer(1).fit(copy, one(sample))
        assert len(preds) == 2 and torch.equal(preds[0], preds[1])
        task.eval()
        with torch.no_grad():
            assert torch.equal(task.predict_step(batch, 0), task.predict_step(other, 0))

    def test_swap_composites_over_the_clear_ground(self) -> None:
        task = InpaintingTask('cloud', mode='over', swap=0.5, **SMALL)  # type: ignore[arg-type]
        seen: list[Tensor] = []
        task.model.register_forward_hook(lambda m, args, out: seen.append(args[0]))
        batch = next(iter(batches(1, ground=True)))
        tr = trainer(1)
        tr.fit(task, one(batch))
        under = seen[0]
        hole = task._holes(batch)[1]
        # the moved crop over its ground crop itself, the other over its smooth fill
        assert torch.equal(under[0], batch['ground'][0])
        assert torch.equal(under[1], smooth_fill(batch['image'], hole)[1])

    def test_checkpoint_rebuilds_an_over_inpainter(self, tmp_path: Path) -> None:
        task = InpaintingTask('shadow', mode='over', **SMALL)  # type: ignore[arg-type]
        tr = trainer(1)
        tr.fit(task, batches(1))
        ckpt = str(tmp_path / 'over.ckpt')
        tr.save_checkpoint(ckpt)
        assert torch.load(ckpt)['hyper_parameters']['mode'] == 'over'
        loaded = InpaintingTask.load_from_checkpoint(ckpt)
        assert loaded.model.mode == 'over'
        net = load_inpainter(ckpt, 'shadow', 3, 'cpu')
        assert net.mode == 'over' and net.structure == 'shadow'
        for a, b in zip(
            net.state_dict().values(), task.model.state_dict().values(), strict=True
        ):
            assert torch.equal(a, b)
        # a 'fill' task is told the checkpoint's mode, so it is never lost silently
        with pytest.raises(ValueError, match="paints in mode 'over'"):
            InpaintingTask('shadow', init=ckpt, **SMALL)  # type: ignore[arg-type]
        # a plain state dict does not say: its head's shape gives it away
        export = str(tmp_path / 'over.pth')
        torch.save(task.model.state_dict(), export)
        with pytest.raises(RuntimeError, match='size mismatch'):
            InpaintingTask('shadow', init=export, **SMALL)  # type: ignore[arg-type]

    def test_invalid_mode(self) -> None:
        with pytest.raises(ValueError, match='mode'):
            InpaintingTask(mode='under')  # type: ignore[arg-type]


# ---------------------------------------------------------------------- EMA
class Record(Callback):
    """The network's weights after each training batch and during validation."""

    def __init__(self) -> None:
        self.steps: list[list[Tensor]] = []
        self.validated: list[list[Tensor]] = []

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, *args: Any
    ) -> None:
        self.steps.append(params(pl_module.model))  # type: ignore[arg-type]

    def on_validation_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, *args: Any
    ) -> None:
        self.validated.append(params(pl_module.model))  # type: ignore[arg-type]


def test_ema_callback(tmp_path: Path) -> None:
    task = InpaintingTask('cloud', **SMALL)  # type: ignore[arg-type]
    ema, record = EMA(decay=0.75), Record()
    tr = Trainer(
        accelerator='cpu',
        max_steps=2,
        limit_val_batches=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[record, ema],
    )
    tr.fit(task, batches(2), batches(1))
    assert ema.average is not None and int(ema.average.n_averaged) == 2
    (p1, p2), trained = record.steps, record.steps[-1]
    expected = [0.75 * a + 0.25 * b for a, b in zip(p1, p2, strict=True)]
    # validation (at the epoch's end, after both steps) saw the average ...
    assert all(
        torch.allclose(a, b) for a, b in zip(record.validated[0], expected, strict=True)
    )
    # ... and training ends with it in the network, for export
    assert all(
        torch.allclose(a, b) for a, b in zip(params(task.model), expected, strict=True)
    )
    assert any(not torch.equal(a, b) for a, b in zip(trained, expected, strict=True))
    # checkpoints carry the average, which init and export read first
    ckpt = str(tmp_path / 'ema.ckpt')
    tr.save_checkpoint(ckpt)
    state = torch.load(ckpt, weights_only=True)
    assert state[EMA_KEY]['n_averaged'] == 2
    loaded = inpainter_state(ckpt, 'cloud')
    names = [n for n, _ in task.model.named_parameters()]
    assert all(
        torch.allclose(loaded[n], e) for n, e in zip(names, expected, strict=True)
    )


def test_ema_rejects_bad_decay() -> None:
    with pytest.raises(ValueError, match='decay'):
        EMA(decay=1.0)


# -------------------------------------------------------------- datamodule
def datamodule(**kwargs: Any) -> SPARCSInpaintingDataModule:
    args: dict[str, Any] = {
        'structure': 'cloud',
        'batch_size': 2,
        'patch_size': 32,
        'length': 4,
        'val_length': 2,
        'paths': os.path.join(DATA, 'usgs'),
    }
    return SPARCSInpaintingDataModule(**(args | kwargs))


class TestSPARCSInpaintingDataModule:
    def test_train_batch_with_ground(self) -> None:
        dm = datamodule(ground=0.5)
        dm.setup('fit')
        dm.trainer = Trainer(accelerator='cpu', logger=False)
        dm.trainer.training = True
        batch = next(iter(dm.train_dataloader()))
        raw_ground = batch['ground'].clone()
        out = dm.on_after_batch_transfer(batch, 0)
        assert out['image'].shape == out['ground'].shape == (2, 3, 32, 32)
        assert 0 <= out['image'].min() and out['image'].max() <= 1
        assert torch.allclose(out['ground'], raw_ground / 255)
        share = (out['mask'] == 3).flatten(1).float().mean(1)
        assert ((share >= 0.03) & (share <= 0.7)).all()

    def test_val_crops_are_fixed(self) -> None:
        dm = datamodule()
        dm.setup('validate')
        first = [b['bounds'] for b in dm.val_dataloader()]
        second = [b['bounds'] for b in dm.val_dataloader()]
        assert len(first) == 1 and torch.equal(first[0], second[0])

    def test_test_batches_are_crops(self) -> None:
        dm = datamodule(structure='snow')
        dm.setup('test')
        (batch,) = list(dm.test_dataloader())
        assert batch['image'].shape == (2, 3, 32, 32)
        assert ((batch['mask'] == 2).flatten(1).float().mean(1) >= 0.03).all()

    def test_native_crops_with_ground(self) -> None:
        # whole scenes on their own grids: crops by class share, ground crops clear
        dm = datamodule(grid='native', ground=0.5, patch_size=32, stride=8)
        dm.setup('fit')
        dm.trainer = Trainer(accelerator='cpu', logger=False)
        dm.trainer.training = True
        batch = next(iter(dm.train_dataloader()))
        assert batch['image'].shape == batch['ground'].shape == (2, 3, 32, 32)
        share = (batch['mask'] == 3).flatten(1).float().mean(1)
        assert ((share >= 0.03) & (share <= 0.7)).all()
        val = [b['mask'] for b in dm.val_dataloader()]
        assert len(val) == 1 and torch.equal(
            val[0], next(iter(dm.val_dataloader()))['mask']
        )
        dm.setup('test')
        (test,) = list(dm.test_dataloader())
        assert ((test['mask'] == 3).flatten(1).float().mean(1) >= 0.03).all()

    def test_invalid(self) -> None:
        with pytest.raises(ValueError, match='test split only'):
            datamodule(test_splits=('val', 'test'))
        with pytest.raises(ValueError, match='structure'):
            datamodule(structure='background')
        with pytest.raises(ValueError, match="classes='csia'"):
            datamodule(classes='sparcs')


# ----------------------------------------------------------------- recipes
def test_every_config_has_a_test() -> None:
    found = {p.stem for p in CONFIGS.glob('inpainter_*.yaml')}
    tested = {s for stages in STAGES.values() for s in stages} | set(OVER.values())
    assert found == tested


#: each chain of stages: the shipped inpainters' and the 'over' variants (one stage)
CHAINS = {**STAGES, **{name: [name] for name in OVER.values()}}


@pytest.mark.parametrize('chain', sorted(CHAINS))
def test_documented_configs(
    chain: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each stage one CPU step on the generated scenes, in order: a stage's init is
    # the checkpoint the one before wrote under output/
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'argv', ['torchgeo'])  # pytest's own are not for the CLI
    stages = CHAINS[chain]
    structure = chain.removeprefix('inpainter_').removesuffix('_over')
    for i, name in enumerate(stages):
        # the generated 64 px scenes hold no 32 px crop that is 95 % background
        extra = ['--data.init_args.ground=0.5'] if name.endswith('_swap') else []
        main(
            [
                'fit',
                '--config',
                str(CONFIGS / f'{name}.yaml'),
                '--data.dict_kwargs.paths',
                os.path.join(DATA, 'usgs'),
                '--trainer.accelerator=cpu',
                '--trainer.precision=32',
                '--trainer.max_steps=1',
                '--trainer.logger=false',
                '--trainer.enable_progress_bar=false',
                '--data.init_args.num_workers=0',
                '--data.init_args.batch_size=2',
                '--data.init_args.patch_size=32',
                '--data.init_args.length=2',
                '--data.init_args.val_length=2',
                *extra,
            ]
        )
        ckpt = tmp_path / 'output' / name / 'last.ckpt'
        assert ckpt.is_file(), name
        state = torch.load(ckpt, weights_only=True)
        assert state['global_step'] == 1
        hparams = state['hyper_parameters']
        assert hparams['structure'] == structure
        assert hparams['mode'] == ('over' if name.endswith('_over') else 'fill')
        previous = f'output/{stages[i - 1]}/last.ckpt' if i else None
        assert state['init'] == previous
