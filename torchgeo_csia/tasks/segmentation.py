"""TorchGeo's segmentation task with U-Net++, the measured recipe, whole scenes."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Sequence
from typing import Any, Literal

import lightning.pytorch.utilities.types
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.optim import AdamW
from torch.optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau
from torchgeo.datasets.utils import Sample
from torchgeo.tasks import SemanticSegmentation
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassJaccardIndex
from torchmetrics.wrappers import ClasswiseWrapper
from torchvision.models._api import WeightsEnum

from ..constants import CLASSES
from ..models.segmenter import segmenter
from ..models.weights import CSIASegmenter_Weights, csia_segmenter

#: Tiles per forward pass of :func:`sliding_window` (memory, not results).
TILES_PER_FORWARD = 8


class PresentClassJaccardIndex(MulticlassJaccardIndex):
    """Multiclass IoU that leaves classes absent from the truth out.

    :class:`~torchmetrics.classification.MulticlassJaccardIndex` gives a class that
    the truth lacks but the prediction has an IoU of 0 and averages it in
    (``average='macro'`` drops a class only when truth *and* prediction lack it),
    so a test split without snow would be scored as if all its snow were missed.
    Here such a class is NaN per class and left out of the macro average, which is
    over the classes present in the truth (NaN if none is). ``'micro'`` and
    ``'weighted'`` are torchmetrics' own.

    .. versionadded:: 0.1
    """

    def compute(self) -> Tensor:
        """Per-class IoU (NaN where the truth lacks the class) or their mean.

        Returns:
            IoU per class (``average='none'``) or a scalar.
        """
        if self.average not in ('macro', 'none', None):
            return super().compute()
        confmat = self.confmat.double()
        tp = confmat.diag()
        present = confmat.sum(1) > 0
        if self.ignore_index is not None and 0 <= self.ignore_index < len(present):
            present[self.ignore_index] = False
        # a present class has a non-empty union: no division by zero
        iou = torch.where(
            present, tp / (confmat.sum(0) + confmat.sum(1) - tp), math.nan
        )
        if self.average == 'macro':
            return iou[present].mean().float()
        return iou.float()


def sliding_window(
    model: Callable[[Tensor], Tensor],
    image: Tensor,
    tile: int = 512,
    overlap: int = 64,
) -> Tensor:
    """Full-scene logits of *model* from overlapping tiles.

    1. Each scene is padded at its bottom and right (reflect, or replicate where the
       padding is not smaller than the scene) so that tiles of ``tile`` px, ``tile -
       overlap`` px apart, cover it whole (at least one tile).
    2. The tiles go through *model*, :data:`TILES_PER_FORWARD` at a time.
    3. Each pixel's logits are the mean over the tiles that hold it, cut back to the
       scene.

    This is the evaluation the shipped segmenters were first scored with (512 px
    tiles, 64 px overlap), so scores through :class:`CSIASegmentation`'s
    ``test_step`` compare with theirs.

    Args:
        model: maps ``N x C x tile x tile`` to ``N x K x tile x tile`` logits.
        image: ``B x C x H x W`` scenes (one size).
        tile: tile height and width (a multiple of 32 for U-Net++).
        overlap: pixels shared by neighbouring tiles.

    Returns:
        ``B x K x H x W`` float32 logits.

    Raises:
        ValueError: If *overlap* is not in ``[0, tile)``.
    """
    if not 0 <= overlap < tile:
        raise ValueError(f'overlap must be in [0, tile={tile}), got {overlap}')
    h, w = image.shape[-2:]
    step = tile - overlap
    ph = max(tile, math.ceil((h - overlap) / step) * step + overlap) - h
    pw = max(tile, math.ceil((w - overlap) / step) * step + overlap) - w
    mode = 'reflect' if ph < h and pw < w else 'replicate'  # reflect needs pad < size
    x = F.pad(image, (0, pw, 0, ph), mode=mode)
    corners = [
        (y0, x0)
        for y0 in range(0, x.shape[-2] - overlap, step)
        for x0 in range(0, x.shape[-1] - overlap, step)
    ]
    outs = []
    for scene in x:
        tiles = torch.stack([scene[:, y : y + tile, c : c + tile] for y, c in corners])
        logits = torch.cat(
            [
                model(tiles[i : i + TILES_PER_FORWARD]).float()
                for i in range(0, len(tiles), TILES_PER_FORWARD)
            ]
        )
        out = logits.new_zeros(logits.shape[1], *x.shape[-2:])
        count = logits.new_zeros(1, *x.shape[-2:])
        for (y, c), tile_logits in zip(corners, logits, strict=True):
            out[:, y : y + tile, c : c + tile] += tile_logits
            count[:, y : y + tile, c : c + tile] += 1
        outs.append((out / count)[:, :h, :w])
    return torch.stack(outs)


def confusions(
    logits: Tensor, labels: Tensor, num_classes: int, ignore_index: int | None = None
) -> Tensor:
    """Each sample's confusion, counted as the task's IoU metrics count it.

    Args:
        logits: ``B x K x H x W`` logits, or ``B x H x W`` class indices.
        labels: ``B x H x W`` labels (or any ``B x ...`` shape); pixels equal to
            *ignore_index* are left out.
        num_classes: the number of classes, K.
        ignore_index: the label of pixels left out, if any.

    Returns:
        ``B x K x K`` pixel counts, rows the labels, columns the prediction, int64.

    Raises:
        ValueError: If a label other than *ignore_index*, or a class index, is not
            in ``[0, K)``.
    """
    pred = logits.argmax(1) if logits.ndim == labels.ndim + 1 else logits
    k = num_classes
    keep = labels != ignore_index if ignore_index is not None else labels == labels
    labels, pred = labels[keep].long(), pred[keep].long()
    for name, values in (('label', labels), ('class index', pred)):
        # a value out of range would be counted in a neighbouring sample's cells
        if values.numel() and not bool(((values >= 0) & (values < k)).all()):
            raise ValueError(f'every {name} must be in [0, {k}) or ignored')
    sample = torch.arange(keep.shape[0], device=keep.device)
    sample = sample.view(-1, *[1] * (keep.ndim - 1)).expand_as(keep)[keep]
    index = (sample * k + labels) * k + pred
    counts = torch.bincount(index, minlength=keep.shape[0] * k * k)
    return counts.view(-1, k, k)


class CSIASegmentation(SemanticSegmentation):
    """TorchGeo's semantic segmentation with U-Net++, one-cycle and whole scenes.

    What it adds to TorchGeo 0.10's :class:`torchgeo.tasks.SemanticSegmentation`:

    * ``model='unet++'`` (the CSIA authors' architecture, see
      :func:`~torchgeo_csia.models.segmenter`) and whole-model
      :class:`~torchgeo_csia.models.weights.CSIASegmenter_Weights`; every other
      model is TorchGeo's;
    * ``scheduler='onecycle'`` (:class:`~torch.optim.lr_scheduler.OneCycleLR` up to
      *lr* over the trainer's estimated optimizer steps, stepped every step) beside
      TorchGeo's ``'plateau'``, and AdamW's *weight_decay*: the recipe the shipped
      segmenters were measured with;
    * per-class IoU logged by class name (``labels``, by default the ``csia``
      scheme's names for 4 classes) with classes absent from the truth left out
      (:class:`PresentClassJaccardIndex`);
    * ``test_step`` and ``predict_step`` on whole scenes by :func:`sliding_window`
      (the datamodule's test batches are whole scenes, see
      :class:`~torchgeo_csia.datamodules.SPARCSDataModule`); training and
      validation stay patch-wise, as in TorchGeo;
    * *logit_adjustment*: a per-class offset on the training logits (a
      logit-adjusted loss, :cite:`Menon2021`), for batches whose class prior differs
      from the scenes' (CSIA's).

    .. versionadded:: 0.1
    """

    logit_adjustment: Tensor

    def __init__(
        self,
        model: Literal[
            'unet++', 'unet', 'deeplabv3+', 'fcn', 'upernet', 'segformer', 'dpt'
        ] = 'unet++',
        backbone: str = 'tu-efficientnet_b0',
        weights: WeightsEnum | str | bool | None = None,
        in_channels: int = 3,
        task: Literal['multiclass'] = 'multiclass',
        num_classes: int = 4,
        num_labels: int | None = None,
        labels: list[str] | None = None,
        num_filters: int = 3,
        pos_weight: Tensor | None = None,
        loss: Literal['ce', 'jaccard', 'focal', 'dice'] = 'ce',
        class_weights: Tensor | Sequence[float] | None = None,
        ignore_index: int | None = 255,
        lr: float = 1e-3,
        patience: int = 10,
        freeze_backbone: bool = False,
        freeze_decoder: bool = False,
        decoder_channels: Sequence[int] = (128, 64, 32, 16, 16),
        scheduler: Literal['plateau', 'onecycle'] = 'plateau',
        weight_decay: float = 1e-2,
        pct_start: float = 0.05,
        tile_size: int = 512,
        tile_overlap: int = 64,
        logit_adjustment: Sequence[float] | None = None,
    ) -> None:
        """Initialize the task.

        Args:
            model: architecture; ``'unet++'`` is added here, the rest are TorchGeo's.
            backbone: smp encoder name.
            weights: for ``unet++``, a :class:`CSIASegmenter_Weights` member or its
                name (whole model); otherwise as in TorchGeo.
            in_channels: image bands.
            task: only ``'multiclass'`` (one class per pixel).
            num_classes: classes (4 for the ``csia`` scheme).
            num_labels: unused (multilabel only), kept for TorchGeo.
            labels: class names for logging (defaults to the ``csia`` scheme's
                background, shadow, snow, cloud when *num_classes* is 4).
            num_filters: filters of TorchGeo's ``fcn``.
            pos_weight: unused (binary only), kept for TorchGeo.
            loss: loss name.
            class_weights: per-class loss weights.
            ignore_index: label ignored by loss and metrics (SPARCS: 255).
            lr: learning rate (the peak of the one-cycle schedule).
            patience: plateau patience of the ``'plateau'`` scheduler.
            freeze_backbone: freeze the encoder.
            freeze_decoder: freeze the decoder.
            decoder_channels: U-Net++ decoder widths.
            scheduler: ``'plateau'`` (TorchGeo's ReduceLROnPlateau on ``val_loss``)
                or ``'onecycle'`` (one cycle over the trainer's
                ``estimated_stepping_batches``, so it needs ``max_steps`` or
                ``max_epochs``).
            weight_decay: AdamW's weight decay (TorchGeo leaves torch's 0.01).
            pct_start: share of the one-cycle schedule spent warming up.
            tile_size: tile of the full-scene ``test_step`` / ``predict_step``.
            tile_overlap: overlap of those tiles.
            logit_adjustment: per-class values added to the logits in the training
                loss and training metrics only (a logit-adjusted loss):
                ``log(π_train / π_real)`` of the class
                shares of the training batches and of the real scenes makes the
                network's raw logits, which validation, test and prediction use,
                those of the real prior. CSIA's batches hold more of the classes
                it paints than the scenes do
                (:mod:`torchgeo_csia.experiments.prior` measures both).

        Raises:
            ValueError: If *scheduler*, the tiling or *logit_adjustment* is invalid.
        """
        if scheduler not in ('plateau', 'onecycle'):
            raise ValueError(
                f"scheduler must be 'plateau' or 'onecycle', got {scheduler!r}"
            )
        if not 0 <= tile_overlap < tile_size:
            raise ValueError(
                f'tile_overlap must be in [0, tile_size={tile_size}), '
                f'got {tile_overlap}'
            )
        if logit_adjustment is not None and len(logit_adjustment) != num_classes:
            raise ValueError(
                f'logit_adjustment needs one value per class ({num_classes}), '
                f'got {list(logit_adjustment)}'
            )
        self.decoder_channels = tuple(decoder_channels)
        super().__init__(
            model=model,  # type: ignore[arg-type]
            backbone=backbone,
            weights=weights,
            in_channels=in_channels,
            task=task,
            num_classes=num_classes,
            num_labels=num_labels,
            labels=labels,
            num_filters=num_filters,
            pos_weight=pos_weight,
            loss=loss,
            class_weights=class_weights,
            ignore_index=ignore_index,
            lr=lr,
            patience=patience,
            freeze_backbone=freeze_backbone,
            freeze_decoder=freeze_decoder,
        )
        # not persistent: checkpoints and exported weights stay those of the network
        adjustment = torch.zeros(num_classes)
        if logit_adjustment is not None:
            adjustment = torch.tensor(list(logit_adjustment), dtype=torch.float32)
        self.register_buffer(
            'logit_adjustment', adjustment.view(1, -1, 1, 1), persistent=False
        )
        #: each test batch's ``B x K x K`` confusions (:func:`confusions`), in order;
        #: emptied when a test starts
        self.test_confusions: list[Tensor] = []

    def configure_models(self) -> None:
        """Build the model (U-Net++ here, the others in TorchGeo)."""
        if self.hparams['model'] != 'unet++':
            super().configure_models()
            return
        weights: Any = self.weights
        if isinstance(weights, str):
            weights = CSIASegmenter_Weights.__members__[weights.rsplit('.', 1)[-1]]
        if isinstance(weights, CSIASegmenter_Weights):
            self.model = csia_segmenter(weights)
        else:
            self.model = segmenter(
                self.hparams['in_channels'],
                self.hparams['num_classes'],
                self.hparams['backbone'],
                self.decoder_channels,
            )
        if self.hparams['freeze_backbone']:
            for p in self.model.encoder.parameters():
                p.requires_grad = False
        if self.hparams['freeze_decoder']:
            for p in self.model.decoder.parameters():
                p.requires_grad = False

    def configure_metrics(self) -> None:
        """TorchGeo's metrics, with IoU that leaves absent classes out.

        Accuracy, precision, recall and F1 are TorchGeo's (overall, average and per
        class); the average and per-class IoU (``AverageJaccardIndex``,
        ``ClasswiseJaccardIndex_<label>``) are :class:`PresentClassJaccardIndex`.
        """
        unnamed = self.hparams['labels'] is None
        if unnamed and self.hparams['num_classes'] == len(CLASSES):
            # here, not in __init__: LightningCLI saves the config's values (None)
            # as the hyperparameters, whatever __init__ does with its arguments
            self.hparams['labels'] = list(CLASSES)
        super().configure_metrics()
        kwargs: dict[str, Any] = {
            'num_classes': self.hparams['num_classes'],
            'ignore_index': self.hparams['ignore_index'],
        }
        iou: dict[str, Any] = {
            'AverageJaccardIndex': PresentClassJaccardIndex(average='macro', **kwargs),
            'JaccardIndex': ClasswiseWrapper(
                PresentClassJaccardIndex(average='none', **kwargs),
                labels=self.hparams['labels'],
                prefix='ClasswiseJaccardIndex_',
            ),
        }
        # TorchGeo's keys, so its IoU entries are replaced, not doubled
        base = {
            k: m for k, m in self.train_metrics.items(keep_base=True) if k not in iou
        }
        metrics = MetricCollection({**base, **iou})
        self.train_metrics = metrics.clone(prefix='train_')
        self.val_metrics = metrics.clone(prefix='val_')
        self.test_metrics = metrics.clone(prefix='test_')
        for metric in self.train_metrics.values():
            # torchmetrics' checks count the target's classes on the host, which
            # makes every training step wait for the device; the datamodule's
            # labels are checked where they are read
            getattr(metric, 'metric', metric).validate_args = False

    def training_step(
        self, batch: Sample, batch_idx: int, dataloader_idx: int = 0
    ) -> Tensor:
        """TorchGeo's training step, with the training metrics only accumulated.

        The logits of loss and metrics carry the task's *logit_adjustment* (zero by
        default).

        TorchGeo calls the metric collection, which also computes every batch's own
        values that nothing logs (``on_train_epoch_end`` logs what accumulated); this
        step only updates it, so the logged metrics are the same.

        Args:
            batch: The output of your DataLoader.
            batch_idx: Integer displaying index of this batch.
            dataloader_idx: Index of the current dataloader.

        Returns:
            The loss tensor.
        """
        x, y = batch['image'], batch['mask']
        y_hat = self(x) + self.logit_adjustment
        self.train_metrics.update(y_hat.detach(), y)
        loss: Tensor = self.criterion(y_hat, y)
        self.log('train_loss', loss, batch_size=x.shape[0])
        return loss

    def configure_optimizers(
        self,
    ) -> lightning.pytorch.utilities.types.OptimizerLRScheduler:
        """AdamW with TorchGeo's plateau schedule or a one-cycle schedule.

        Returns:
            Optimizer and learning rate scheduler.

        Raises:
            ValueError: If ``'onecycle'`` is asked for and the trainer's number of
                steps is unbounded.
        """
        optimizer = AdamW(
            self.parameters(),
            lr=self.hparams['lr'],
            weight_decay=self.hparams['weight_decay'],
        )
        if self.hparams['scheduler'] == 'plateau':
            plateau = ReduceLROnPlateau(optimizer, patience=self.hparams['patience'])
            return {
                'optimizer': optimizer,
                'lr_scheduler': {'scheduler': plateau, 'monitor': self.monitor},
            }
        total = self.trainer.estimated_stepping_batches
        if not math.isfinite(total):
            raise ValueError(
                "scheduler='onecycle' needs a bounded run: set trainer.max_steps or "
                'trainer.max_epochs'
            )
        onecycle = OneCycleLR(
            optimizer,
            max_lr=self.hparams['lr'],
            total_steps=max(1, int(total)),
            pct_start=self.hparams['pct_start'],
        )
        return {
            'optimizer': optimizer,
            'lr_scheduler': {'scheduler': onecycle, 'interval': 'step'},
        }

    def scene_logits(self, image: Tensor) -> Tensor:
        """Logits of whole scenes by :func:`sliding_window` with the task's tiling.

        Args:
            image: ``B x C x H x W`` scenes.

        Returns:
            ``B x K x H x W`` float32 logits.
        """
        return sliding_window(
            self, image, self.hparams['tile_size'], self.hparams['tile_overlap']
        )

    def test_step(self, batch: Sample, batch_idx: int, dataloader_idx: int = 0) -> None:
        """Score whole scenes: loss and metrics of the sliding-window logits.

        Args:
            batch: whole scenes (``image``, ``mask``), e.g. from
                :class:`~torchgeo_csia.datamodules.SPARCSDataModule`'s test split.
            batch_idx: Integer displaying index of this batch.
            dataloader_idx: Index of the current dataloader.
        """
        x, y = batch['image'], batch['mask']
        y_hat = self.scene_logits(x)
        self.test_metrics(y_hat, y)
        loss = self.criterion(y_hat, y)
        self.log('test_loss', loss, batch_size=x.shape[0])
        self.test_confusions.append(
            confusions(
                y_hat, y, self.hparams['num_classes'], self.hparams['ignore_index']
            )
        )

    def on_test_epoch_start(self) -> None:
        """Start this test's per-scene confusions (:attr:`test_confusions`)."""
        self.test_confusions = []

    def on_test_epoch_end(self) -> None:
        """Log the test metrics, then write each scene's confusion beside them.

        The split's IoU is pooled over its scenes; a paired comparison of two
        segmenters over scenes needs each scene's counts. With a logger that has a
        folder (e.g. ``CSVLogger``), ``scenes.csv`` there holds one row per scene
        and label class: ``scene`` (the datamodule's ``test_dataset.scenes`` ids
        where it has them, else the scene's number), ``truth``, and the pixels
        predicted as each class. One process only: under several, each would see
        part of the scenes, so nothing is written.
        """
        super().on_test_epoch_end()
        # not kept on the device after the test
        batches, self.test_confusions = self.test_confusions, []
        folder = getattr(self.logger, 'log_dir', None)
        if not batches or folder is None or self.trainer.world_size > 1:
            return
        counts = torch.cat(batches).cpu()
        datamodule = getattr(self.trainer, 'datamodule', None)
        dataset = getattr(datamodule, 'test_dataset', None)
        ids = [str(s) for s in getattr(dataset, 'scenes', [])]
        if len(ids) != len(counts):
            ids = [str(i) for i in range(len(counts))]
        labels = self.hparams['labels'] or [str(i) for i in range(counts.shape[1])]
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, 'scenes.csv'), 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow(['scene', 'truth', *labels])
            for scene, confmat in zip(ids, counts.tolist(), strict=True):
                for label, row in zip(labels, confmat, strict=True):
                    writer.writerow([scene, label, *row])

    def predict_step(
        self, batch: Sample, batch_idx: int, dataloader_idx: int = 0
    ) -> dict[str, Tensor | None]:
        """Class probabilities of whole scenes (sliding window).

        Args:
            batch: whole scenes (``image``).
            batch_idx: Integer displaying index of this batch.
            dataloader_idx: Index of the current dataloader.

        Returns:
            Dictionary with 'probabilities', 'bounds', and 'transform' keys.
        """
        return {
            'probabilities': self.scene_logits(batch['image']).softmax(dim=1),
            'bounds': batch.get('bounds'),
            'transform': batch.get('transform'),
        }
