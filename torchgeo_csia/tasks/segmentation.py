"""TorchGeo's semantic segmentation task, with U-Net++ and full-model weights."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from torch import Tensor
from torchgeo.tasks import SemanticSegmentation
from torchvision.models._api import WeightsEnum

from ..models.segmenter import segmenter
from ..models.weights import CSIASegmenter_Weights, csia_segmenter


class CSIASegmentation(SemanticSegmentation):
    """:class:`torchgeo.tasks.SemanticSegmentation` that can build a U-Net++.

    TorchGeo 0.10's task builds no U-Net++ and loads weights into the encoder only;
    this subclass adds ``model='unet++'`` (the CSIA authors' architecture, see
    :func:`~torchgeo_csia.models.segmenter`) and loads whole-model
    :class:`~torchgeo_csia.models.weights.CSIASegmenter_Weights`. Every other model
    is TorchGeo's.

    .. versionadded:: 0.1
    """

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
            labels: class names for logging.
            num_filters: filters of TorchGeo's ``fcn``.
            pos_weight: unused (binary only), kept for TorchGeo.
            loss: loss name.
            class_weights: per-class loss weights.
            ignore_index: label ignored by loss and metrics (SPARCS: 255).
            lr: learning rate.
            patience: plateau patience of the scheduler.
            freeze_backbone: freeze the encoder.
            freeze_decoder: freeze the decoder.
            decoder_channels: U-Net++ decoder widths.
        """
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
