"""The one adapter to TorchGeo's weights registry.

TorchGeo 0.10 keeps its registry in the private dicts ``_model`` and
``_model_weights`` of ``torchgeo.models.api`` and has no plugin hook; this is the only
place that touches them, so a change upstream is a change here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torchvision.models._api import WeightsEnum

from .weights import (
    CSIAInpainter_Weights,
    CSIASegmenter_Weights,
    csia_inpainter,
    csia_segmenter,
)

MODELS: dict[str, tuple[Callable[..., Any], type[WeightsEnum]]] = {
    'csia_inpainter': (csia_inpainter, CSIAInpainter_Weights),
    'csia_segmenter': (csia_segmenter, CSIASegmenter_Weights),
}


def register() -> None:
    """Add our builders and weights to ``torchgeo.models`` (idempotent)."""
    from torchgeo.models import api

    for name, (builder, enum) in MODELS.items():
        api._model[name] = builder
        api._model_weights[name] = enum
        api._model_weights[builder] = enum
