"""The networks the measures run: shipped weights, Lightning checkpoints or exports.

Wherever a command takes weights it takes one of three things:

1. a shipped weights name (``BASE_SPARCS_PHOTO``, or with its enum
   ``CSIASegmenter_Weights.BASE_SPARCS_PHOTO``);
2. a Lightning checkpoint of :class:`~torchgeo_csia.tasks.InpaintingTask` or
   :class:`~torchgeo_csia.tasks.CSIASegmentation` (``torchgeo fit`` writes them;
   the network is built from the checkpoint's hyperparameters);
3. a state dict file (:func:`export`): the network is then the shipped
   architecture of its kind (a file of another architecture fails to load).

.. versionadded:: 0.1
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..constants import STRUCTURES
from ..models import weights as shipped
from ..models.inpainter import Inpainter, inpainter
from ..models.segmenter import segmenter
from ..tasks.inpainting import inpainter_state


class WeightsSpecError(ValueError):
    """A weights option names nothing usable (the CLI shows the message)."""


def registered(spec: str, kind: str, option: str) -> Any:
    """The shipped weights named *spec* (``NAME`` or ``<Enum>.NAME``) of *kind*.

    Args:
        spec: the option's value, known not to be a file.
        kind: ``'CSIAInpainter_Weights'`` or ``'CSIASegmenter_Weights'``.
        option: the option, for the message.

    Returns:
        The enum member.

    Raises:
        WeightsSpecError: If *spec* names no weights of *kind*.
    """
    enum = getattr(shipped, kind)
    prefix, _, name = spec.rpartition('.')
    if name in enum.__members__ and prefix in ('', kind):
        return enum.__members__[name]
    raise WeightsSpecError(
        f'{option} {spec!r} is neither a file nor one of '
        f'{[f"{kind}.{m}" for m in enum.__members__]} (or those names without '
        f'"{kind}.")'
    )


def _check_bands(spec: str, bands: int, expected: int, option: str) -> None:
    if bands != expected:
        raise WeightsSpecError(
            f'{option} {spec!r} is for {bands}-band images, but the scenes hold '
            f'{expected} bands'
        )


def _hyper_parameters(path: str) -> dict[str, Any] | None:
    """The hyperparameters of a Lightning checkpoint; ``None`` for a state dict."""
    state = torch.load(path, map_location='cpu', weights_only=True)
    if 'state_dict' not in state:
        return None
    hp: dict[str, Any] = dict(state.get('hyper_parameters', {}))
    return hp


def _load_file(
    model: nn.Module, spec: str, option: str, cls: str | None = None
) -> None:
    """Load the file *spec* into *model*; one that does not fit names *option*."""
    try:
        model.load_state_dict(inpainter_state(spec, cls))
    except (RuntimeError, ValueError) as err:
        raise WeightsSpecError(f'{option} {spec!r}: {err}') from err


def load_inpainter(
    spec: str, cls: str, bands: int, device: str, option: str = '--weights'
) -> Inpainter:
    """An inpainter of class *cls* (see the module's text for what *spec* may be).

    Args:
        spec: shipped name, checkpoint or state dict file.
        cls: the class it must paint.
        bands: bands of the images it will paint.
        device: where it goes.
        option: the option that named it, for messages.

    Returns:
        The inpainter, in eval mode.

    Raises:
        WeightsSpecError: If *spec* names no inpainter of *cls* for *bands* bands.
    """
    if not os.path.isfile(spec):
        member = registered(spec, 'CSIAInpainter_Weights', option)
        if member.meta['class'] != cls:
            raise WeightsSpecError(
                f'{option} {spec!r} paints {member.meta["class"]}, expected a {cls} '
                'inpainter'
            )
        _check_bands(spec, len(member.meta['bands']), bands, option)
        return shipped.load_inpainter(member).to(device).eval()
    hp = _hyper_parameters(spec)
    if hp is None:  # an export: the shipped architecture of the class
        model = shipped.load_inpainter(f'{cls.upper()}_SPARCS_PHOTO')
    else:
        model = inpainter(
            hp.get('bands', 3),
            encoder=hp.get('encoder', 'tu-tinynet_c'),
            arch=hp.get('arch', 'UnetPlusPlus'),
            hole_channel=hp.get('hole_channel', True),
            decoder_channels=tuple(hp.get('decoder_channels', (128, 64, 32, 16, 16))),
            margin=hp.get('margin', 4),
            mode=hp.get('mode', 'fill'),
        )
    _check_bands(spec, model.bands, bands, option)
    _load_file(model, spec, option, cls)
    model.structure = cls
    return model.to(device).eval()


def load_inpainters(
    device: str, specs: list[str] | None = None, bands: int = 3
) -> dict[str, Inpainter]:
    """The shipped inpainters, or the three of *specs* (cloud, shadow, snow).

    Args:
        device: where they go.
        specs: three specs (see the module's text), or ``None``: the shipped ones.
        bands: bands of the images they will paint.

    Returns:
        The inpainters by class.
    """
    names = specs or [f'{c.upper()}_SPARCS_PHOTO' for c in STRUCTURES]
    return {
        c: load_inpainter(s, c, bands, device, '--inpainters')
        for c, s in zip(STRUCTURES, names, strict=True)
    }


def load_segmenter(
    spec: str, bands: int, device: str, option: str = '--weights'
) -> nn.Module:
    """A segmenter (see the module's text for what *spec* may be).

    Args:
        spec: shipped name, checkpoint or state dict file.
        bands: bands of the images it will label.
        device: where it goes.
        option: the option that named it, for messages.

    Returns:
        The segmenter, in eval mode.

    Raises:
        WeightsSpecError: If *spec* names no segmenter for *bands* bands.
    """
    if not os.path.isfile(spec):
        member = registered(spec, 'CSIASegmenter_Weights', option)
        _check_bands(spec, len(member.meta['bands']), bands, option)
        return shipped.csia_segmenter(member).to(device).eval()
    meta = shipped.CSIASegmenter_Weights.BASE_SPARCS_PHOTO.meta
    hp = _hyper_parameters(spec) or {}
    model = segmenter(
        hp.get('in_channels', meta['in_chans']),
        hp.get('num_classes', meta['num_classes']),
        hp.get('backbone', meta['encoder']),
        tuple(hp.get('decoder_channels', meta['decoder_channels'])),
    )
    _check_bands(spec, hp.get('in_channels', meta['in_chans']), bands, option)
    _load_file(model, spec, option)
    return model.to(device).eval()


def export(checkpoint: str, stem: str) -> Path:
    """Write a checkpoint's network as shipped weights: ``<stem>-<sha256>.pth``.

    The network of a Lightning checkpoint (its moving average where it holds one,
    see :class:`~torchgeo_csia.callbacks.EMA`), or a state dict file as it is, in
    fp16 on the CPU (as every shipped file), through
    :func:`~torchgeo_csia.models.weights.save_weights`.

    Args:
        checkpoint: a checkpoint of a task whose network is its ``model``, or a
            state dict file.
        stem: path of the file without the hash and suffix
            (``models/segmentation_models/csia_segmenter_base_photo_s0``).

    Returns:
        The path written.
    """
    state: dict[str, Tensor] = inpainter_state(checkpoint)
    return shipped.save_weights(state, stem)
