"""Training CSIA inpainters: a TorchGeo task."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any, Literal

import lightning.pytorch.utilities.types
import torch
from lightning.pytorch.core.optimizer import LightningOptimizer
from torch import Tensor
from torch.optim import Adam, AdamW
from torch.optim.lr_scheduler import OneCycleLR
from torchgeo.datasets.utils import Sample
from torchgeo.tasks import BaseTask
from torchmetrics import Metric

from ..constants import CLASS_INDEX, STRUCTURES
from ..losses import (
    critic_loss,
    fill_loss,
    gradient_l1,
    hole_l1,
    texture_sums,
)
from ..models.critic import patch_critic
from ..models.inpainter import MODES, Inpainter, inpainter, smooth_fill
from ..models.weights import inpainter_weights
from ..transforms.structures import dilate, paste, swap_context

#: where :class:`~torchgeo_csia.callbacks.EMA` keeps its average in a checkpoint
#: (defined here: the callbacks stand above the tasks, which read the key)
EMA_KEY = 'ema'


def inpainter_state(
    init: str, structure: str | None = None, mode: str | None = None
) -> dict[str, Tensor]:
    """The inpainter weights that *init* names.

    Args:
        init: a Lightning checkpoint of :class:`InpaintingTask` (``.ckpt``: its
            moving average if it holds one, see :class:`~torchgeo_csia.callbacks.EMA`,
            else its ``model``), an inpainter state dict saved with
            :func:`torch.save` (an export), or shipped weights
            (``'CLOUD_SPARCS_PHOTO'``, ``'CSIAInpainter_Weights.CLOUD_SPARCS_PHOTO'``).
        structure: the class the weights must paint, where that is recorded
            (shipped weights, checkpoints); ``None``: any.
        mode: how the weights must paint (:data:`~torchgeo_csia.models.MODES`),
            where that is recorded (shipped weights; checkpoints, ``'fill'`` for
            those written before modes existed); ``None``: any.

    Returns:
        The inpainter's state dict (on the CPU).

    Raises:
        ValueError: If the weights paint another class or in another mode, or the
            checkpoint holds no inpainter.

    .. versionadded:: 0.1
    """
    if not os.path.isfile(init):
        member = inpainter_weights(init, structure, caller='InpaintingTask')
        _check_mode(init, member.meta['mode'], mode)
        return member.get_state_dict(map_location='cpu')
    state: dict[str, Any] = torch.load(init, map_location='cpu', weights_only=True)
    if 'state_dict' not in state:  # a plain state dict: its mode is not recorded
        return state
    _check_mode(init, state.get('hyper_parameters', {}).get('mode', 'fill'), mode)
    painted = state.get('hyper_parameters', {}).get('structure')
    if structure is not None and painted not in (None, structure):
        raise ValueError(f'{init} trained a {painted} inpainter, not {structure}')
    if state.get(EMA_KEY):
        # what the run exports (the first trainer exported its average too)
        averaged: dict[str, Tensor] = state[EMA_KEY]['state_dict']
        return averaged
    prefix = 'model.'
    model = {
        k[len(prefix) :]: v
        for k, v in state['state_dict'].items()
        if k.startswith(prefix)
    }
    if not model:
        raise ValueError(f'{init} holds no inpainter (no "model." weights)')
    return model


def _check_mode(init: str, painted: str, mode: str | None) -> None:
    if mode is not None and painted != mode:
        raise ValueError(
            f'init {init!r} paints in mode {painted!r}, not {mode!r}: set mode: '
            f'{painted}'
        )


class HoleReconstruction(Metric):
    """L1, PSNR and texture ratio of fills inside their holes, pooled over batches.

    As ``torchgeo-csia evaluate-inpainters`` measured them: L1 and mean squared
    error over the hole's pixels and bands, PSNR for a value range of 1, texture
    ratio = mean gradient magnitude of the fill over that of the truth inside the
    hole (:func:`~torchgeo_csia.losses.texture_ratio`).

    .. versionadded:: 0.1
    """

    full_state_update = False
    higher_is_better = None

    abs_sum: Tensor
    sq_sum: Tensor
    count: Tensor
    tex_fill: Tensor
    tex_truth: Tensor

    def __init__(self, **kwargs: Any) -> None:
        """Initialize the metric.

        Args:
            **kwargs: passed to :class:`torchmetrics.Metric`.
        """
        super().__init__(**kwargs)
        for name in ('abs_sum', 'sq_sum', 'count', 'tex_fill', 'tex_truth'):
            self.add_state(name, torch.zeros((), dtype=torch.float64), 'sum')

    def update(self, filled: Tensor, truth: Tensor, hole: Tensor) -> None:
        """Add a batch.

        Args:
            filled: ``B x C x H x W`` image with the fill pasted in the hole.
            truth: ``B x C x H x W`` true image.
            hole: ``B x H x W`` boolean.
        """
        h = hole[:, None].double()
        err = filled.double() - truth.double()
        self.abs_sum += (err.abs() * h).sum()
        self.sq_sum += (err**2 * h).sum()
        self.count += h.sum() * filled.shape[1]
        num, den = texture_sums(filled, truth, hole)
        self.tex_fill += num.double()
        self.tex_truth += den.double()

    def compute(self) -> dict[str, Tensor]:
        """Pool the batches.

        Returns:
            ``l1``, ``psnr`` (dB) and ``texture``.
        """
        n = self.count.clamp(min=1)
        mse = (self.sq_sum / n).clamp(min=1e-12)
        return {
            'l1': self.abs_sum / n,
            'psnr': -10 * torch.log10(mse),
            'texture': self.tex_fill / self.tex_truth.clamp(min=1e-12),
        }


class InpaintingTask(BaseTask):
    """Train a CSIA inpainter: it learns to repaint real structures that were holed.

    Each training crop holds some of one class (cloud, shadow or snow; see
    :class:`~torchgeo_csia.datamodules.SPARCSInpaintingDataModule`). The hole is the
    class's pixels dilated by *margin* (whole structures, so no part of one is left
    in the context to copy, plus the ring where it fades into the ground); the
    network sees the image zeroed inside the hole and the hole as a channel
    (:class:`~torchgeo_csia.models.Inpainter`). Loss: L1 in the hole plus *texture*
    times the L1 of image gradients, plus, with *adversarial* > 0, that weight times
    the fill's hinge loss against a spectrally normalised patch critic trained
    beside it. With *swap*, a share of each batch has its structures moved onto the
    clear ``ground`` crop of its sample first (the context then comes from another
    scene, as when CSIA paints).

    With *mode* ``'over'`` the inpainter paints an opacity and a radiance over the
    ground (:class:`~torchgeo_csia.models.Inpainter`). The ground under a real
    structure is unknown and the image inside the hole is the target, so the
    network is called on the image with the hole already replaced by
    :func:`~torchgeo_csia.models.inpainter.smooth_fill`: the composite is over that
    smooth estimate of the ground, and the target's pixels reach neither the
    network nor the composite. Crops moved by *swap* are composited over their
    clear ``ground`` crop itself, as the augmentations paint.

    Optimisation is manual (one code path with or without the critic): per batch,
    with a critic, the critic steps first on the detached fill, then the inpainter
    steps against the updated critic, as in the first inpainter trainer. The
    inpainter uses AdamW (weight decay *weight_decay*) with a one-cycle schedule;
    the critic Adam with ``betas=(0.5, 0.999)`` at a constant *critic_lr*.
    ``trainer.global_step`` counts inpainter steps only (the critic's step is taken
    on its raw optimizer), so ``max_steps`` means what the first trainer's
    ``--steps`` meant.

    .. versionadded:: 0.1
    """

    #: *init* is kept out of the hyperparameters (as TorchGeo keeps ``weights``):
    #: a checkpoint's own weights replace it, so loading one must not need the
    #: file it started from; the checkpoint records it under ``'init'`` instead
    ignore = 'init'
    monitor = 'val_l1'
    mode = 'min'

    model: Inpainter

    def __init__(
        self,
        structure: Literal['cloud', 'shadow', 'snow'] = 'cloud',
        bands: int = 3,
        encoder: str = 'tu-tinynet_c',
        arch: str = 'UnetPlusPlus',
        decoder_channels: Sequence[int] = (128, 64, 32, 16, 16),
        hole_channel: bool = True,
        margin: int = 4,
        init: str | None = None,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        pct_start: float = 0.05,
        total_steps: int | None = None,
        texture: float = 1.0,
        adversarial: float = 0.0,
        critic_width: int = 32,
        critic_lr: float | None = None,
        critic_real: Literal['own', 'swapped'] = 'own',
        swap: float = 0.0,
        mode: Literal['fill', 'over'] = 'fill',
    ) -> None:
        """Initialize a new InpaintingTask instance.

        Args:
            structure: the class the inpainter paints (in the ``csia`` scheme).
            bands: image bands in and out (3 for the SPARCS quicklooks).
            encoder: smp encoder of the network (never downloads weights).
            arch: smp architecture (``UnetPlusPlus``, ``Unet``, ...).
            decoder_channels: decoder widths.
            hole_channel: give the network the hole mask as a last input channel.
            margin: how far in pixels the hole reaches beyond the structure.
            init: weights to start from (fine-tuning stages): a checkpoint of this
                task, an exported state dict, or shipped weights; see
                :func:`inpainter_state`. ``None``: from scratch.
            lr: peak learning rate of the inpainter's one-cycle schedule.
            weight_decay: AdamW weight decay of the inpainter.
            pct_start: share of the schedule spent warming up.
            total_steps: length of the one-cycle schedule (default: the trainer's
                ``estimated_stepping_batches``, i.e. ``max_steps``); set it to
                stop a run part-way along its schedule, as the time limit stopped
                the runs that made the shipped weights.
            texture: weight of the gradient L1 term (0: none).
            adversarial: weight of the adversarial term (0: no critic).
            critic_width: channels of the critic's first layer.
            critic_lr: the critic's learning rate (default: twice *lr*).
            critic_real: the critic's real examples: ``'own'`` (each crop as it
                is) or ``'swapped'`` (with *swap*: the real structure on the same
                new ground as the fill, so context cannot tell real from painted).
            swap: share of each batch whose structures are moved onto the
                sample's ``ground`` crop (needs ``ground`` in the batch, see
                :class:`~torchgeo_csia.datamodules.SPARCSInpaintingDataModule`).
            mode: the inpainter's mode: ``'fill'`` (predict the zeroed hole, as
                the shipped weights) or ``'over'`` (paint over the ground); see
                :class:`~torchgeo_csia.models.Inpainter`.

        Raises:
            ValueError: If an argument is out of range.
        """
        if structure not in STRUCTURES:
            raise ValueError(
                f'structure must be one of {list(STRUCTURES)}, got {structure!r}'
            )
        if critic_real not in ('own', 'swapped'):
            raise ValueError(
                f"critic_real must be 'own' or 'swapped', got {critic_real!r}"
            )
        if mode not in MODES:
            raise ValueError(f'mode must be one of {list(MODES)}, got {mode!r}')
        if not 0 <= swap <= 1:
            raise ValueError(f'swap must be in [0, 1], got {swap}')
        if adversarial < 0 or texture < 0 or margin < 0:
            raise ValueError(
                'adversarial, texture and margin must be >= 0, got '
                f'{adversarial}, {texture}, {margin}'
            )
        self.init = init
        super().__init__()
        # one path: the critic, when there is one, steps between the inpainter's
        # forward and its backward
        self.automatic_optimization = False

    def configure_models(self) -> None:
        """Build the inpainter (from *init* if given) and the critic."""
        hp = self.hparams
        self.model = inpainter(
            hp['bands'],
            encoder=hp['encoder'],
            arch=hp['arch'],
            hole_channel=hp['hole_channel'],
            decoder_channels=tuple(hp['decoder_channels']),
            margin=hp['margin'],
            # checkpoints written before the mode existed are all 'fill'
            mode=hp.get('mode', 'fill'),
        )
        self.model.structure = hp['structure']
        if self.init:
            state = inpainter_state(self.init, hp['structure'], self.model.mode)
            self.model.load_state_dict(state)
        # channels-last convolutions are faster on GPUs (the first trainer too)
        self.model.to(memory_format=torch.channels_last)
        self.critic = (
            patch_critic(hp['bands'], hp['critic_width'])
            if hp['adversarial'] > 0
            else None
        )

    def configure_metrics(self) -> None:
        """Initialize the hole reconstruction metrics of validation and test."""
        self.val_metrics = HoleReconstruction()
        self.test_metrics = HoleReconstruction()

    def configure_optimizers(
        self,
    ) -> lightning.pytorch.utilities.types.OptimizerLRScheduler:
        """AdamW with a one-cycle schedule for the inpainter, Adam for the critic.

        Returns:
            The optimizers (inpainter first) and the inpainter's scheduler.

        Raises:
            ValueError: If the schedule's length is unknown.
        """
        hp = self.hparams
        total = hp['total_steps'] or self.trainer.estimated_stepping_batches
        if not math.isfinite(total):
            raise ValueError('set trainer.max_steps or model total_steps')
        opt = AdamW(
            self.model.parameters(), lr=hp['lr'], weight_decay=hp['weight_decay']
        )
        sched = OneCycleLR(
            opt, hp['lr'], total_steps=int(total), pct_start=hp['pct_start']
        )
        if self.critic is None:
            return [opt], [sched]
        copt = Adam(
            self.critic.parameters(),
            lr=hp['critic_lr'] or 2 * hp['lr'],
            betas=(0.5, 0.999),
        )
        return [opt, copt], [sched]

    def on_fit_start(self) -> None:
        """Check the schedule and the precision against the run.

        Raises:
            ValueError: If ``max_steps`` exceeds *total_steps*, or the critic
                would run under a gradient scaler.
        """
        total = self.hparams['total_steps']
        if total and self.trainer.max_steps > total:
            raise ValueError(
                f'trainer.max_steps {self.trainer.max_steps} exceeds the one-cycle '
                f'schedule (model total_steps {total})'
            )
        if self.critic is not None and str(self.trainer.precision) == '16-mixed':
            # the critic's raw optimizer step would apply scaled gradients
            raise ValueError(
                "the adversarial term needs precision 'bf16-mixed' or 32, not "
                "'16-mixed' (no gradient scaler for the critic)"
            )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record what the run started from (it is no hyperparameter).

        Args:
            checkpoint: The checkpoint being written.
        """
        checkpoint['init'] = self.init

    def _holes(self, batch: Sample) -> tuple[Tensor, Tensor, Tensor]:
        """The images, their holes and the structures' own pixels."""
        image: Tensor = batch['image']
        structure = batch['mask'] == CLASS_INDEX[self.hparams['structure']]
        return image, dilate(structure, self.hparams['margin']), structure

    def forward(self, image: Tensor, hole: Tensor) -> Tensor:
        """The network's prediction for every pixel (see :class:`Inpainter`).

        Args:
            image: ``B x bands x H x W`` normalised image (in the ``'over'`` mode
                the ground it paints over, as the augmentations call it).
            hole: ``B x H x W`` boolean.

        Returns:
            ``B x bands x H x W`` (not yet pasted or clipped).
        """
        out: Tensor = self.model(
            image.contiguous(memory_format=torch.channels_last), hole
        )
        return out

    def _ground(self, image: Tensor, hole: Tensor) -> Tensor:
        """What the network paints over when *image* holds real structures.

        ``'fill'``: the image itself (the network zeroes the hole). ``'over'``: the
        image with its hole smoothly filled from outside it, so the target inside
        the hole reaches neither the network nor the composite.
        """
        if self.model.mode == 'over':
            return smooth_fill(image, hole)
        return image

    def _optimizers(self) -> tuple[LightningOptimizer, LightningOptimizer | None]:
        opts = self.optimizers()
        if isinstance(opts, list):
            return opts[0], opts[1] if len(opts) > 1 else None
        return opts, None

    def training_step(
        self, batch: Sample, batch_idx: int, dataloader_idx: int = 0
    ) -> Tensor:
        """One step of the critic (if any), then one of the inpainter.

        Args:
            batch: The output of your DataLoader.
            batch_idx: Integer displaying index of this batch.
            dataloader_idx: Index of the current dataloader.

        Returns:
            The inpainter's loss (detached).

        Raises:
            KeyError: If *swap* is set and the batch holds no ``ground``.
        """
        hp = self.hparams
        opt, copt = self._optimizers()
        image, hole, structure = self._holes(batch)
        real = image
        under = self._ground(image, hole)
        if hp['swap']:
            if 'ground' not in batch:
                raise KeyError(
                    "swap needs clear crops under batch['ground']: set the "
                    "datamodule's ground (e.g. 0.95)"
                )
            image = swap_context(image, structure, batch['ground'], hp['swap'])
            if self.model.mode == 'over':
                # the moved crops over their clear ground, as CSIA paints: the
                # same split as swap_context's
                k = round(hp['swap'] * len(image))
                under = torch.cat([batch['ground'][:k], under[k:]])
            else:
                under = image
        pred = self(under, hole).float()
        filled = torch.where(hole[:, None], pred, image)
        l1 = hole_l1(pred, image, hole)
        tex = gradient_l1(filled, image, hole) if hp['texture'] else pred.new_zeros(())
        loss: Tensor = l1 + hp['texture'] * tex
        size = len(image)
        if self.critic is not None and copt is not None:
            truth = image if hp['critic_real'] == 'swapped' else real
            d_loss, weight = critic_loss(self.critic, truth, filled, hole)
            copt.zero_grad(set_to_none=True)
            self.manual_backward(d_loss)
            # the raw optimizer: a LightningOptimizer step would add to
            # trainer.global_step, so max_steps would count both networks' steps
            copt.optimizer.step()
            # against the updated critic; its weights stay out of this backward
            with self.toggled_optimizer(opt):
                adv = fill_loss(self.critic, filled, hole, weight)
                loss = loss + hp['adversarial'] * adv
                opt.zero_grad(set_to_none=True)
                self.manual_backward(loss)
            self.log('train_critic', d_loss.detach(), batch_size=size)
            self.log('train_adversarial', adv.detach(), batch_size=size)
        else:
            opt.zero_grad(set_to_none=True)
            self.manual_backward(loss)
        opt.step()
        sched = self.lr_schedulers()
        if sched is not None:
            (sched[0] if isinstance(sched, list) else sched).step()
        self.log('train_l1', l1.detach(), batch_size=size)
        self.log('train_texture', tex.detach(), batch_size=size)
        self.log('train_loss', loss.detach(), batch_size=size, prog_bar=True)
        return loss.detach()

    def _fill(self, batch: Sample) -> tuple[Tensor, Tensor, Tensor]:
        """The images, their holes and the images with the fill pasted in."""
        image, hole, _ = self._holes(batch)
        low, high = self.model.value_range
        pred = self(self._ground(image, hole), hole).float()
        return image, hole, paste(image, pred, hole, low, high)

    def _evaluate(self, batch: Sample, metrics: HoleReconstruction) -> None:
        image, hole, filled = self._fill(batch)
        metrics.update(filled, image, hole)

    def validation_step(
        self, batch: Sample, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        """Fill the holes of held-out crops and score the fill.

        Args:
            batch: The output of your DataLoader.
            batch_idx: Integer displaying index of this batch.
            dataloader_idx: Index of the current dataloader.
        """
        self._evaluate(batch, self.val_metrics)

    def on_validation_epoch_end(self) -> None:
        """Log ``val_l1``, ``val_psnr`` and ``val_texture``."""
        self._log_metrics('val', self.val_metrics)

    def test_step(self, batch: Sample, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Fill the holes of test crops and score the fill.

        Args:
            batch: The output of your DataLoader.
            batch_idx: Integer displaying index of this batch.
            dataloader_idx: Index of the current dataloader.
        """
        self._evaluate(batch, self.test_metrics)

    def on_test_epoch_end(self) -> None:
        """Log ``test_l1``, ``test_psnr`` and ``test_texture``."""
        self._log_metrics('test', self.test_metrics)

    def _log_metrics(self, split: str, metrics: HoleReconstruction) -> None:
        if metrics.update_count:
            values = metrics.compute()
            self.log_dict({f'{split}_{k}': v.float() for k, v in values.items()})
        metrics.reset()

    def predict_step(
        self, batch: Sample, batch_idx: int, dataloader_idx: int = 0
    ) -> Tensor:
        """The crops with their structures repainted.

        Args:
            batch: The output of your DataLoader.
            batch_idx: Integer displaying index of this batch.
            dataloader_idx: Index of the current dataloader.

        Returns:
            ``B x bands x H x W``: each image with the fill pasted in its hole.
        """
        return self._fill(batch)[2]
