"""Pretrained CSIA weights, shipped in the repository's ``models/`` folder.

Weights load offline: each file is read from ``models/`` (or the folder named by the
environment variable ``TORCHGEO_CSIA_MODELS``) and checked against the sha256 prefix
in its name. After ``import torchgeo_csia`` they are also reachable through
TorchGeo's weights API (``get_weight``, ``get_model``, ``list_models``).

.. versionadded:: 0.1
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision.models._api import Weights, WeightsEnum

from ..transforms.sources import StructureBank
from .inpainter import Inpainter, inpainter
from .segmenter import segmenter


def models_dir() -> Path:
    """The folder of shipped weights: ``$TORCHGEO_CSIA_MODELS`` or ``<repo>/models``."""
    env = os.environ.get('TORCHGEO_CSIA_MODELS')
    return Path(env) if env else Path(__file__).resolve().parents[2] / 'models'


def _uri(*parts: str) -> str:
    return models_dir().joinpath(*parts).as_uri()


#: The 40 SPARCS scenes of the ``train`` split (:meth:`SPARCS.split_of`) among the 60
#: scenes we hold; the shipped weights and structure bank saw only these.
TRAINING_SCENES = (
    'LC80010812013365LGN00_18 LC80050152014172LGN00_12 LC80150242014146LGN00_23 '
    'LC80200462014213LGN00_11 LC80250482014072LGN00_18 LC80310432013207LGN00_11 '
    'LC80320282013182LGN00_30 LC80380362013144LGN00_26 LC80390152013215LGN00_17 '
    'LC80630462013191LGN00_11 LC80750722014022LGN00_16 LC80760912014013LGN00_25 '
    'LC80900832013220LGN00_28 LC80940802014092LGN00_17 LC80980732014008LGN00_31 '
    'LC81020642014004LGN00_32 LC81110822013288LGN00_11 LC81220242014240LGN00_25 '
    'LC81230362013276LGN00_19 LC81250622013178LGN01_08 LC81360162013159LGN00_18 '
    'LC81360162014210LGN00_32 LC81370412014105LGN00_30 LC81400372014158LGN00_27 '
    'LC81500412014244LGN00_18 LC81500442013145LGN00_16 LC81580442014140LGN00_21 '
    'LC81660432014100LGN00_35 LC81700252014080LGN00_27 LC81730742014085LGN00_11 '
    'LC81750832014067LGN00_24 LC81800332013147LGN00_33 LC81830642014203LGN00_16 '
    'LC81860432014224LGN00_19 LC81950502014223LGN00_22 LC82010332014105LGN00_34 '
    'LC82170152014249LGN00_38 LC82260732013357LGN00_32 LC82290782013282LGN00_12 '
    'LC82290872014013LGN00_20'
).split()

_PHOTO_BANDS = ['photo R', 'photo G', 'photo B']


_L1_STAGE = (
    'torchgeo-csia train-inpainter --class {} --steps 3000 --max-minutes 5.5 '
    '(stopped at about 2,400 steps; L1 + gradient L1), H100, '
    'docs/reproduce/gpu_inpainters.sh'
)
_ADV_STAGE = (
    '; then fine-tuned with the adversarial term (--adversarial 0.05 --lr 2e-4, '
    'about 1,000 steps), docs/reproduce/gpu_adversarial.sh STAGE=1'
)
#: how each shipped inpainter was made (the realism measure chose per class)
_TRAINING = {
    'cloud': _L1_STAGE.format('cloud')
    + '; then fine-tuned with every structure moved onto a label-free crop of '
    'another training scene (--swap 1 --lr 2e-4, L1 + gradient L1) for 1,333 steps, '
    'docs/reproduce/gpu_adversarial.sh STAGE=5 (run cloud_swap1)',
    'shadow': _L1_STAGE.format('shadow') + _ADV_STAGE,
    'snow': _L1_STAGE.format('snow')
    + _ADV_STAGE
    + '; then again for 1,317 steps, STAGE=2 (run snow_a); then again with a '
    'critic twice as wide (--critic-width 64) for 1,425 steps, STAGE=3 (run snow_w64)',
}


def _inpainter_meta(cls: str) -> dict[str, Any]:
    return {
        'dataset': 'SPARCS',
        'image': 'photo',
        'bands': _PHOTO_BANDS,
        'class': cls,
        'in_chans': 4,  # 3 bands + hole mask
        'model': 'UnetPlusPlus',
        'encoder': 'tu-tinynet_c',
        'decoder_channels': (128, 64, 32, 16, 16),
        'hole_channel': True,
        'margin': 4,  # training holes: the structure dilated by 4 px
        'value_range': (0.0, 1.0),
        'normalization': 'photo / 255',
        'training_scenes': TRAINING_SCENES,
        'training': _TRAINING[cls],
        'publication': 'https://doi.org/10.1016/j.asr.2025.01.049',
        'repo': 'https://github.com/torchgeo-csia',
        'license': 'CC0-1.0',
    }


class CSIAInpainter_Weights(WeightsEnum):  # type: ignore[misc]
    """CSIA inpainter weights trained by us on SPARCS quicklooks.

    Each network fills a hole with one class (cloud, shadow or snow) in the 3-band
    SPARCS ``_photo.png`` quicklooks scaled to [0, 1]; trained on the 40 ``train``
    scenes of :meth:`SPARCS.split_of` with holes that cover whole structures and a
    4 px margin (``meta['margin']``; the augmentations hole as far). The cloud
    network was then fine-tuned on structures moved onto clear ground of other
    scenes, the shadow and snow networks with an adversarial term
    (``meta['training']``).
    There are no 10-band weights: the ``_data.tif`` files could not be obtained.

    .. versionadded:: 0.1
    """

    CLOUD_SPARCS_PHOTO = Weights(
        url=_uri('inpainting_models', 'csia_inpainter_cloud_photo-9f8715eb.pth'),
        transforms=None,
        meta=_inpainter_meta('cloud'),
    )
    SHADOW_SPARCS_PHOTO = Weights(
        url=_uri('inpainting_models', 'csia_inpainter_shadow_photo-9e27b0d3.pth'),
        transforms=None,
        meta=_inpainter_meta('shadow'),
    )
    SNOW_SPARCS_PHOTO = Weights(
        url=_uri('inpainting_models', 'csia_inpainter_snow_photo-51e5b722.pth'),
        transforms=None,
        meta=_inpainter_meta('snow'),
    )


def _segmenter_meta(variant: str, seed: int) -> dict[str, Any]:
    csia = (
        'CSIA: RandomCloudShadow (p 0.5, min_free 0.25, shipped bank, cloud '
        'painted first: shadow_first=False), '
        'RandomShadowForClouds (p 0.5), RandomSnow (p 0.5, min_free 0.25), shipped '
        'inpainters of the time (cloud fd8949fc, shadow 9e27b0d3, snow 65e74f6a, the '
        'snow one since superseded by 51e5b722); then flips and '
        'transposes; setting chosen on val among (p, min_free) = (0.25, 0.5), '
        '(0.5, 0.5), (0.8, 0.5), (0.5, 0.25)'
    )
    return {
        'dataset': 'SPARCS',
        'image': 'photo',
        'bands': _PHOTO_BANDS,
        'in_chans': 3,
        'num_classes': 4,
        'classes': ('background', 'shadow', 'snow', 'cloud'),
        'model': 'UnetPlusPlus',
        'encoder': 'tu-efficientnet_b0',
        'decoder_channels': (128, 64, 32, 16, 16),
        'normalization': 'photo / 255',
        'augmentation': csia if variant == 'csia' else 'flips and transposes',
        'training_scenes': TRAINING_SCENES,
        'training': (
            f'torchgeo-csia train-segmenter --variant {variant} --seed {seed} '
            + ('--p 0.5 --min-free 0.25 ' if variant == 'csia' else '')
            + '--steps 2000 (batch 32, 256 px, AdamW one-cycle 2e-3, bf16), H100, '
            'see docs/reproduce/gpu_segmentation.sh; best of seeds 0-2 by val mean IoU'
        ),
        'publication': 'https://doi.org/10.1016/j.asr.2025.01.049',
        'repo': 'https://github.com/torchgeo-csia',
        'license': 'CC0-1.0',
    }


class CSIASegmenter_Weights(WeightsEnum):  # type: ignore[misc]
    """Cloud, shadow and snow segmenters trained by us on SPARCS quicklooks.

    U-Net++ (``tu-efficientnet_b0``, narrow decoder) over the 3-band quicklook
    scaled to [0, 1], 4 classes of the ``csia`` scheme; ``BASE`` trained with
    geometric augmentations only, ``CSIA`` with CSIA on top.

    .. versionadded:: 0.1
    """

    BASE_SPARCS_PHOTO = Weights(
        url=_uri('segmentation_models', 'csia_segmenter_base_photo_s0-6913cea7.pth'),
        transforms=None,
        meta=_segmenter_meta('base', 0),
    )
    CSIA_SPARCS_PHOTO = Weights(
        url=_uri('segmentation_models', 'csia_segmenter_csia_photo_s0-bbd1df5c.pth'),
        transforms=None,
        meta=_segmenter_meta('csia', 0),
    )


def csia_segmenter(
    weights: CSIASegmenter_Weights | None = None, *args: Any, **kwargs: Any
) -> nn.Module:
    """CSIA-experiment U-Net++ segmenter.

    Args:
        weights: pretrained weights to load (the full model), or ``None``.
        *args: passed to :func:`~torchgeo_csia.models.segmenter` when untrained.
        **kwargs: passed to :func:`~torchgeo_csia.models.segmenter` when untrained.

    Returns:
        The network.

    .. versionadded:: 0.1
    """
    if weights is None:
        return segmenter(*args, **kwargs)
    meta = weights.meta
    model = segmenter(
        meta['in_chans'],
        meta['num_classes'],
        meta['encoder'],
        tuple(meta['decoder_channels']),
    )
    return _loaded(model, weights)


#: The shipped structure bank (cloud/shadow pairs and snow masks of the training
#: scenes, 256 px), from ``torchgeo-csia build-bank``.
SPARCS_BANK = 'structure_banks/sparcs_train_256-eded0e24.npz'


def _loaded[M: nn.Module](model: M, weights: WeightsEnum) -> M:
    """*model* with the verified state dict of *weights*, in eval mode."""
    path = verified_path(weights.url)
    model.load_state_dict(torch.load(path, map_location='cpu', weights_only=True))
    return model.eval()


def verified_path(url_or_path: str) -> Path:
    """The local file behind a ``file://`` URL, its sha256 prefix checked.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If its hash does not match its name.
    """
    path = Path(url_or_path.removeprefix('file://'))
    if not path.exists():
        raise FileNotFoundError(
            f'{path} is missing: the weights live in the models/ folder of the '
            'torchgeo-csia repository (or set TORCHGEO_CSIA_MODELS)'
        )
    match = re.search(r'-([a-f0-9]{8,})\.', path.name)
    if match:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if not digest.startswith(match.group(1)):
            raise ValueError(
                f'{path}: sha256 {digest[:8]}... does not match the {match.group(1)} '
                'in its name; the file is corrupt or was replaced'
            )
    return path


def load_inpainter(weights: WeightsEnum | str) -> Inpainter:
    """Build an inpainter and load its weights.

    Args:
        weights: a :class:`CSIAInpainter_Weights` member or its name
            (``'CLOUD_SPARCS_PHOTO'``, or with the prefix
            ``'CSIAInpainter_Weights.'``).

    Raises:
        ValueError: If the name is unknown or the file's hash does not match.
    """
    if isinstance(weights, str):
        name = weights.rsplit('.', 1)[-1]
        if name not in CSIAInpainter_Weights.__members__:
            raise ValueError(
                f'unknown inpainter weights {weights!r}; expected one of '
                f'{list(CSIAInpainter_Weights.__members__)}'
            )
        weights = CSIAInpainter_Weights.__members__[name]
    meta = weights.meta
    model = inpainter(
        len(meta['bands']),
        encoder=meta['encoder'],
        arch=meta['model'],
        hole_channel=meta['hole_channel'],
        value_range=tuple(meta['value_range']),
        decoder_channels=meta['decoder_channels'],
        hole_value=meta.get('hole_value'),
        margin=meta.get('margin', 0),
    )
    return _loaded(model, weights)


def csia_inpainter(
    weights: CSIAInpainter_Weights | None = None, *args: Any, **kwargs: Any
) -> Inpainter:
    """CSIA inpainter (smp U-Net++ over the bands plus the hole mask).

    Args:
        weights: pretrained weights to load, or ``None`` for an untrained network.
        *args: passed to :func:`~torchgeo_csia.models.inpainter` when untrained.
        **kwargs: passed to :func:`~torchgeo_csia.models.inpainter` when untrained.

    Returns:
        The inpainter.

    .. versionadded:: 0.1
    """
    if weights is None:
        return inpainter(*args, **kwargs)
    return load_inpainter(weights)


@cache
def sparcs_bank() -> StructureBank:
    """The shipped structure bank (verified, loaded once)."""
    return StructureBank.load(verified_path(_uri(SPARCS_BANK)))
