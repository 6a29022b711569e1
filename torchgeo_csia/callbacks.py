"""Lightning callbacks."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from .tasks.inpainting import EMA_KEY


class EMA(pl.Callback):
    """An exponential moving average of a task's network, over :class:`AveragedModel`.

    After every optimizer step of the network the average moves towards it with
    *decay* (the first step copies it). Validation (and testing within a fit) sees
    the averaged weights, swapped in at the start of its epoch and out at its end;
    when training ends the averaged weights replace the network's, so an export of
    the task's network after ``fit`` is the average, as in the first inpainter
    trainer. Checkpoints carry the average under
    :data:`~torchgeo_csia.tasks.inpainting.EMA_KEY` (the network's
    state dict and the number of averaged steps), so a resumed run continues it
    and :func:`~torchgeo_csia.tasks.inpainting.inpainter_state` can read it.

    Lightning's :class:`~lightning.pytorch.callbacks.WeightAveraging` averages the
    whole task instead: with an adversarial critic that doubles the work and keeps a
    second critic nobody uses.

    .. versionadded:: 0.1
    """

    def __init__(self, decay: float = 0.999, attribute: str = 'model') -> None:
        """Initialize a new EMA callback.

        Args:
            decay: weight of the average at each update, in ``[0, 1)``.
            attribute: the task's attribute that holds the network.

        Raises:
            ValueError: If *decay* is not in ``[0, 1)``.
        """
        if not 0 <= decay < 1:
            raise ValueError(f'decay must be in [0, 1), got {decay}')
        self.decay = decay
        self.attribute = attribute
        self.average: AveragedModel | None = None
        self._steps = 0  # optimizer steps seen at the last update
        self._swapped = False

    def _network(self, pl_module: pl.LightningModule) -> nn.Module:
        net = getattr(pl_module, self.attribute, None)
        if not isinstance(net, nn.Module):
            raise ValueError(
                f'EMA: the task has no network {self.attribute!r} to average'
            )
        return net

    def setup(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str
    ) -> None:
        """Create the average when a fit begins (before a checkpoint is restored).

        Args:
            trainer: The trainer.
            pl_module: The task.
            stage: Either 'fit', 'validate', 'test', or 'predict'.
        """
        if stage == 'fit' and self.average is None:
            self.average = AveragedModel(
                self._network(pl_module),
                multi_avg_fn=get_ema_multi_avg_fn(self.decay),  # type: ignore[no-untyped-call]
                use_buffers=True,
            )

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Move the average to the network's device (set up after ``setup``).

        Args:
            trainer: The trainer.
            pl_module: The task.
        """
        if self.average is not None:
            self.average.to(pl_module.device)

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Update the average if the batch stepped the optimizer.

        Args:
            trainer: The trainer.
            pl_module: The task.
            outputs: The training step's outputs.
            batch: The batch.
            batch_idx: Its index.
        """
        # global_step counts optimizer steps (not batches, with accumulation)
        if self.average is not None and trainer.global_step > self._steps:
            self.average.update_parameters(self._network(pl_module))
            self._steps = trainer.global_step

    def _swap(self, pl_module: pl.LightningModule) -> None:
        assert self.average is not None
        net = self._network(pl_module)
        averaged = self.average.module
        with torch.no_grad():
            for a, b in zip(
                (*averaged.parameters(), *averaged.buffers()),
                (*net.parameters(), *net.buffers()),
                strict=True,
            ):
                tmp = a.detach().clone()
                a.copy_(b)
                b.copy_(tmp)
        self._swapped = not self._swapped

    def _averaged(self) -> bool:
        # before the first update the average is the initial network: nothing to see
        return self.average is not None and int(self.average.n_averaged) > 0

    def on_validation_epoch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> None:
        """Swap the averaged weights in for validation.

        Args:
            trainer: The trainer.
            pl_module: The task.
        """
        if self._averaged() and not self._swapped:
            self._swap(pl_module)

    def on_validation_epoch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule
    ) -> None:
        """Swap the trained weights back after validation.

        Args:
            trainer: The trainer.
            pl_module: The task.
        """
        if self._swapped:
            self._swap(pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Put the averaged weights into the network for good.

        Args:
            trainer: The trainer.
            pl_module: The task.
        """
        if self._averaged():
            net = self._network(pl_module)
            averaged = self.average.module  # type: ignore[union-attr]
            net.load_state_dict(averaged.state_dict())

    def on_save_checkpoint(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        checkpoint: dict[str, Any],
    ) -> None:
        """Store the average in the checkpoint.

        Args:
            trainer: The trainer.
            pl_module: The task.
            checkpoint: The checkpoint being written.
        """
        if self.average is not None:
            averaged = self.average.module
            checkpoint[EMA_KEY] = {
                'state_dict': averaged.state_dict(),
                'n_averaged': int(self.average.n_averaged),
                'steps': self._steps,
                'decay': self.decay,
            }

    def on_load_checkpoint(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        checkpoint: dict[str, Any],
    ) -> None:
        """Restore the average from a checkpoint that holds one.

        Args:
            trainer: The trainer.
            pl_module: The task.
            checkpoint: The checkpoint being read.
        """
        state = checkpoint.get(EMA_KEY)
        if self.average is None or state is None:
            return
        self.average.module.load_state_dict(state['state_dict'])
        self.average.n_averaged.fill_(state['n_averaged'])
        self._steps = state['steps']
