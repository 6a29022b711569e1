"""Two-sample classifier test: can a small CNN tell painted structures from real ones?

A realism measure that a smooth blob cannot pass. For each structure class (cloud,
shadow, snow) a small convolutional network is trained to tell 64 x 64 crops centred
on *painted* pixels of the class from crops centred on *real* pixels of the class,
on the scenes of the train split, and scored on balanced crops of scenes it never
saw (the val split). Accuracy 0.5 means it cannot tell them apart; 1.0 that every
painted structure gives itself away. The AUC of the same classifier is reported beside
it: it does not depend on a threshold, which can move between scenes.

The crops:

* **real**: centred on random pixels of the class in whole scenes on their own
  native grid (:class:`~torchgeo_csia.datamodules.sparcs.SPARCSScenes`), drawn in
  turn from up to *max_scenes* scenes of the split that hold the class;
* **painted**: the painter (by default the shipped CSIA transforms,
  :class:`~torchgeo_csia.transforms.RandomCloudShadow` for cloud and shadow and
  :class:`~torchgeo_csia.transforms.RandomSnow` for snow, at ``p=1`` with the
  shipped structure bank and the scene's sun geometry; the painted shadow deepened
  by *shadow_depth*, ``--shadow-depth``, and the painted cloud's opacity thickened
  by *cloud_density*, ``--cloud-density``, if not 1) paints label-free patches of
  the split's scenes (normalised as the datamodule does, ``photo / 255``); the
  pixels whose label changed to the class are the painted ones, and each crop is
  centred on one of them. With *shadow_for_clouds* (``--shadow-for-clouds``) the
  shadows are painted by :class:`~torchgeo_csia.transforms.RandomShadowForClouds`
  instead (mode 5): beside the real clouds of patches that hold cloud and background
  only, at most half of it cloud, as real shadows lie beside real clouds;
* **moved** (a control): real structures of the split's scenes moved onto the same
  label-free patches with a ring of their own surroundings
  (:func:`~torchgeo_csia.transforms.structures.transplant`), cropped alike. It tells
  how much of the accuracy the new placement alone explains.

and the comparisons, per class and seed: painted against real, real against real
(two disjoint halves of the real crops: should be about 0.5) and moved against real.
Shadows are also scored with every cloud pixel (grown by the ring) zeroed in every
crop, painted, real and moved alike: nearly every painted shadow lies beside the cloud
painted with it, which the classifier would otherwise judge instead. Texture
statistics inside the structure (:mod:`.texture`) sit beside the accuracies.

Any painter can be measured the same way (:func:`as_painter`): the shipped
inpainters, other weights (an :class:`~torchgeo_csia.tasks.InpaintingTask` checkpoint
or an exported state dict, a weights member or name, an
:class:`~torchgeo_csia.models.Inpainter`), a CSIA augmentation module, or any
function ``paint(image, mask, sun_azimuth, sun_elevation) -> (image, mask)``.

Run it as ``python -m torchgeo_csia.experiments.two_sample --root DIR --out FILE``
(:func:`main`).

.. versionadded:: 0.1
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..constants import (
    BACKGROUND,
    CLASS_INDEX,
    CLOUD,
    IGNORE_INDEX,
    NORMALIZATION,
    SHADOW,
    SNOW,
    STRUCTURES,
)
from ..datamodules.sparcs import SPARCSCrops, SPARCSScenes
from ..datasets import SPARCS
from ..models import Inpainter
from ..transforms import (
    RandomCloudShadow,
    RandomShadowForClouds,
    RandomSnow,
    sun_geometry,
)
from ..transforms.structures import (
    dilate,
    random_flips,
    transplant,
    transplant_guard,
)
from .networks import load_inpainter
from .texture import texture_statistics

#: ``paint(image, mask, sun_azimuth, sun_elevation) -> (image, mask)``: paints
#: structures into ``B x C x H x W`` normalised images whose ``B x H x W`` labels
#: (``csia`` scheme) it updates; the sun angles are ``B`` degrees.
PaintFunction = Callable[[Tensor, Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]
#: What :func:`as_painter` takes.
PainterLike = (
    str | os.PathLike[str] | Mapping[str, Any] | Inpainter | Callable[..., Any]
)

#: the shipped inpainter weights of each structure, by name
SHIPPED = {cls: f'{cls.upper()}_SPARCS_PHOTO' for cls in STRUCTURES}
#: the classes moved together when a structure of a class is moved (paint order):
#: a cloud with its shadow, snow alone
GROUPS = {CLOUD: (SHADOW, CLOUD), SHADOW: (SHADOW, CLOUD), SNOW: (SNOW,)}
#: fewer scenes than this behind a class's real crops earn a warning
FEW_SCENES = 5
#: the largest cloud share of a patch mode 5 paints, and of the patches it is given
MAX_CLOUD = 0.5
#: the comparisons, in table order
COMPARISONS = ('painted', 'real', 'moved')


# ----------------------------------------------------------------------- crops


def valid_centres(where: Tensor, size: int, exclude: Tensor | None = None) -> Tensor:
    """The pixels of *where* on which a ``size x size`` crop can be centred.

    A crop centred on ``(r, c)`` spans rows ``r - size // 2`` to
    ``r - size // 2 + size - 1`` (columns alike); it must lie inside the frame and,
    given *exclude*, hold none of its pixels.

    Args:
        where: ``H x W`` boolean candidate centres.
        size: crop height and width.
        exclude: ``H x W`` boolean pixels no crop may hold (e.g. nodata).

    Returns:
        ``K x 2`` (row, column) centres, in raster order.

    Raises:
        ValueError: If *size* is not positive or the shapes differ.
    """
    if size < 1:
        raise ValueError(f'size must be >= 1, got {size}')
    if where.ndim != 2 or (exclude is not None and exclude.shape != where.shape):
        raise ValueError(
            f'where must be H x W (and exclude the same), got {tuple(where.shape)}'
            f' and {None if exclude is None else tuple(exclude.shape)}'
        )
    h, w = where.shape
    half = size // 2
    ok = torch.zeros_like(where, dtype=torch.bool)
    if h >= size and w >= size:
        ok[half : h - size + half + 1, half : w - size + half + 1] = True
    ok &= where.bool()
    if exclude is not None and bool(exclude.any()):
        bad = F.max_pool2d(
            F.pad(exclude[None, None].float(), (half, size - half - 1) * 2),
            size,
            1,
        )[0, 0]
        ok &= bad == 0
    return ok.nonzero()


def crop(x: Tensor, centre: tuple[int, int], size: int) -> Tensor:
    """The ``size x size`` window of ``... x H x W`` *x* centred on *centre*.

    Args:
        x: an image (``C x H x W``) or labels (``H x W``).
        centre: (row, column), as :func:`valid_centres` gives.
        size: window height and width.

    Returns:
        A view of *x*.
    """
    top, left = centre[0] - size // 2, centre[1] - size // 2
    return x[..., top : top + size, left : left + size]


def window(x: Tensor, centre: tuple[int, int], size: int) -> Tensor:
    """As :func:`crop`, the window moved inside the frame where it sticks out."""
    h, w = x.shape[-2:]
    top = min(max(centre[0] - size // 2, 0), h - size)
    left = min(max(centre[1] - size // 2, 0), w - size)
    return x[..., top : top + size, left : left + size]


def round_robin(
    counts: Sequence[int], total: int, generator: torch.Generator
) -> list[tuple[int, int]]:
    """Draw up to *total* items from groups in turn, each without replacement.

    Every group gives one item a round (in a random order of its items) until
    *total* are drawn or all are used, so each group gives about the same number.

    Args:
        counts: how many items each group holds.
        total: how many to draw.
        generator: random generator.

    Returns:
        ``(group, item)`` pairs, at most *total*.
    """
    orders = [torch.randperm(n, generator=generator).tolist() for n in counts]
    out: list[tuple[int, int]] = []
    depth = 0
    while len(out) < total and any(depth < len(o) for o in orders):
        for g, order in enumerate(orders):
            if depth < len(order) and len(out) < total:
                out.append((g, order[depth]))
        depth += 1
    return out


def crops_around(
    image: Tensor, labels: Tensor, where: Tensor, size: int, generator: torch.Generator
) -> tuple[Tensor, Tensor, Tensor]:
    """One crop per sample, centred on a random pixel of *where* in it.

    Args:
        image: ``B x C x H x W``.
        labels: ``B x H x W``.
        where: ``B x H x W`` boolean candidate centres (e.g. the painted pixels).
        size: crop height and width.
        generator: random generator (CPU).

    Returns:
        ``N x C x size x size`` crops, ``N x size x size`` their labels and the
        ``N`` batch indices they come from (samples with no valid centre give none).
    """
    out_x, out_y, keep = [], [], []
    for i in range(len(image)):
        centres = valid_centres(where[i].cpu(), size)
        if len(centres) == 0:
            continue
        j = int(torch.randint(len(centres), (1,), generator=generator))
        c = (int(centres[j, 0]), int(centres[j, 1]))
        out_x.append(crop(image[i], c, size))
        out_y.append(crop(labels[i], c, size))
        keep.append(i)
    if not keep:
        return (
            image.new_zeros(0, image.shape[1], size, size),
            labels.new_zeros(0, size, size),
            torch.zeros(0, dtype=torch.long),
        )
    return torch.stack(out_x), torch.stack(out_y), torch.tensor(keep)


def free_windows(
    labels: Tensor, size: int, stride: int, min_free: float = 1.0
) -> Tensor:
    """Top-left corners of the windows whose share of background is high enough.

    Args:
        labels: ``H x W`` labels.
        size: window height and width.
        stride: step between windows.
        min_free: the least share of background pixels (1.0: label-free windows).

    Returns:
        ``K x 2`` (top, left) corners.
    """
    shares = _window_shares(size, stride, labels == BACKGROUND)
    if shares is None:
        return torch.zeros(0, 2, dtype=torch.long)
    return (shares[0] >= min_free - 1e-6).nonzero() * stride


def _window_shares(size: int, stride: int, *masks: Tensor) -> list[Tensor] | None:
    """Each ``H x W`` mask's share of every window on the grid (None: none fits)."""
    h, w = masks[0].shape
    if h < size or w < size:
        return None
    return [F.avg_pool2d(m.float()[None, None], size, stride)[0, 0] for m in masks]


def cloudy_windows(
    labels: Tensor, size: int, stride: int, max_cloud: float = MAX_CLOUD
) -> Tensor:
    """Top-left corners of the windows of cloud and background only, some cloud.

    The patches :class:`~torchgeo_csia.transforms.RandomShadowForClouds` gives a
    shadow, with no real shadow, snow or unlabelled pixel in them, so every shadow
    there is painted.

    Args:
        labels: ``H x W`` labels.
        size: window height and width.
        stride: step between windows.
        max_cloud: the largest cloud share of a window.

    Returns:
        ``K x 2`` (top, left) corners.
    """
    cloud = labels == CLOUD
    shares = _window_shares(size, stride, cloud, ~cloud & (labels != BACKGROUND))
    if shares is None:
        return torch.zeros(0, 2, dtype=torch.long)
    cloud_share, other_share = shares
    keep = (other_share == 0) & (cloud_share > 0) & (cloud_share <= max_cloud + 1e-6)
    return keep.nonzero() * stride


def mask_class(
    x: Tensor, labels: Tensor, cls: int, ring: int, value: float = 0.0
) -> Tensor:
    """*x* with the pixels of class *cls*, grown by *ring*, set to *value*.

    Args:
        x: ``N x C x H x W`` crops.
        labels: ``N x H x W`` their labels.
        cls: the class hidden.
        ring: how far beyond the class to hide (the inpainters' margin).
        value: what the hidden pixels hold.

    Returns:
        The masked crops (*x* is not modified).
    """
    hide = dilate(labels == cls, ring)
    return x.masked_fill(hide[:, None], value)


# ------------------------------------------------------------------- classifier


class CropClassifier(nn.Module):
    """A small CNN that tells two sets of crops apart: one logit per crop.

    The crop is first folded 2 x 2 into channels (:class:`~torch.nn.PixelUnshuffle`,
    lossless: every pixel still reaches the first convolution, so pixel-scale texture
    stays visible, at a quarter of the cost), then four 3 x 3 convolutions (group
    norm, ReLU, the first three followed by 2 x 2 max pooling), global average
    pooling and a linear layer. It sees absolute values (brightness is a cue),
    centred on 0.5. Group norm, not batch norm: it computes the same in training
    and in evaluation, whereas batch norm's running statistics left some trained
    classifiers putting every held-out crop in one set (accuracy 0.5 with an AUC of
    0.7-0.9, on the real scenes).

    Args:
        bands: input bands.
        width: channels of the first convolution (doubled twice).

    .. versionadded:: 0.1
    """

    def __init__(self, bands: int = 3, width: int = 16) -> None:
        super().__init__()
        chans = [4 * bands, width, 2 * width, 4 * width, 4 * width]
        layers: list[nn.Module] = [nn.PixelUnshuffle(2)]
        for i in range(4):
            layers += [
                nn.Conv2d(chans[i], chans[i + 1], 3, padding=1, bias=False),
                nn.GroupNorm(math.gcd(4, chans[i + 1]), chans[i + 1]),
                nn.ReLU(inplace=True),
            ]
            if i < 3:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1], 1)

    def forward(self, x: Tensor) -> Tensor:
        """``N`` logits (positive: the second set) for ``N x C x H x W`` crops.

        Raises:
            ValueError: If the height or width is odd.
        """
        if x.shape[-1] % 2 or x.shape[-2] % 2:
            raise ValueError(f'crops need an even height and width, got {x.shape}')
        z = self.features(x - 0.5).mean((2, 3))
        out: Tensor = self.head(z)[:, 0]
        return out


def balanced(a: Tensor, b: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """As many crops of each set, drawn at random from the larger one.

    Args:
        a: ``N x ...`` first set.
        b: ``M x ...`` second set.
        generator: random generator.

    Returns:
        ``K x ...`` of each, ``K = min(N, M)``.
    """
    k = min(len(a), len(b))
    ia = torch.randperm(len(a), generator=generator)[:k]
    ib = torch.randperm(len(b), generator=generator)[:k]
    return a[ia], b[ib]


def halves(x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Two disjoint random halves of a set (the odd one out left over)."""
    order = torch.randperm(len(x), generator=generator)
    k = len(x) // 2
    return x[order[:k]], x[order[k : 2 * k]]


@contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Torch's global generators seeded inside, restored afterwards."""
    cuda = [device] if device.type == 'cuda' else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


def train_classifier(
    a: Tensor,
    b: Tensor,
    seed: int = 0,
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 1e-3,
    width: int = 16,
    device: torch.device | str = 'cpu',
) -> CropClassifier:
    """Train a :class:`CropClassifier` to tell crops *b* (1) from crops *a* (0).

    The sets are balanced first (:func:`balanced`); batches are drawn at random,
    each crop randomly flipped and transposed (alike for both sets, so orientation
    is no cue). Adam, binary cross-entropy, a fixed number of steps (no early
    stopping: the held-out crops are for scoring only).

    Args:
        a: ``N x C x H x W`` crops of the first set.
        b: ``M x C x H x W`` crops of the second set.
        seed: seeds the initialisation, the balancing and the batches.
        steps: optimisation steps.
        batch_size: crops a step.
        lr: learning rate.
        width: the network's width (:class:`CropClassifier`).
        device: where to train.

    Returns:
        The trained classifier, in eval mode.

    Raises:
        ValueError: If a set is empty, the crops differ in shape, or an argument is
            out of range.
    """
    _check_sets(a, b)
    if steps < 1 or batch_size < 1 or lr <= 0 or width < 1:
        raise ValueError(
            f'steps, batch_size, width and lr must be positive, got steps={steps}, '
            f'batch_size={batch_size}, width={width}, lr={lr}'
        )
    dev = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    a, b = balanced(a, b, gen)
    x = torch.cat([a, b]).to(dev)
    y = torch.cat([torch.zeros(len(a)), torch.ones(len(b))]).to(dev)
    with _seeded(seed, dev):
        model = CropClassifier(x.shape[1], width).to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
        model.train()
        for _ in range(steps):
            i = torch.randint(len(x), (min(batch_size, len(x)),), generator=gen)
            (xb,) = random_flips(x[i.to(dev)])
            loss = F.binary_cross_entropy_with_logits(model(xb), y[i.to(dev)])
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
    return model.eval()


@torch.no_grad()
def classifier_scores(
    model: nn.Module, a: Tensor, b: Tensor, seed: int = 0, batch_size: int = 256
) -> dict[str, float]:
    """Accuracy and AUC of *model* (positive logit: *b*) on balanced crops.

    Args:
        model: a trained classifier (one logit per crop).
        a: crops of the first set.
        b: crops of the second set.
        seed: seeds the balancing.
        batch_size: crops per forward pass.

    Returns:
        ``accuracy``: the share of crops put in their own set (threshold 0);
        ``auc``: the chance that a crop of *b* scores above one of *a* (ties count
        half), which no shift of the threshold between scenes can hide.

    Raises:
        ValueError: If a set is empty or the crops differ in shape.
    """
    _check_sets(a, b)
    a, b = balanced(a, b, torch.Generator().manual_seed(seed))
    dev = next(model.parameters()).device
    model.eval()

    def logits(x: Tensor) -> Tensor:
        parts = [
            model(x[i : i + batch_size].to(dev)) for i in range(0, len(x), batch_size)
        ]
        return torch.cat(parts).float().cpu()

    la, lb = logits(a), logits(b)
    right = int((la <= 0).sum()) + int((lb > 0).sum())
    diff = lb[:, None] - la[None, :]
    auc = float((diff > 0).float().mean() + 0.5 * (diff == 0).float().mean())
    return {'accuracy': right / (len(a) + len(b)), 'auc': auc}


def classifier_accuracy(
    model: nn.Module, a: Tensor, b: Tensor, seed: int = 0, batch_size: int = 256
) -> float:
    """The ``accuracy`` of :func:`classifier_scores`, given its arguments."""
    return classifier_scores(model, a, b, seed, batch_size)['accuracy']


def two_sample_scores(
    train_a: Tensor,
    train_b: Tensor,
    score_a: Tensor,
    score_b: Tensor,
    seed: int = 0,
    **kwargs: Any,
) -> dict[str, float]:
    """Train a classifier on one pair of sets and score it on another.

    Args:
        train_a: training crops of the first set.
        train_b: training crops of the second set.
        score_a: held-out crops of the first set.
        score_b: held-out crops of the second set.
        seed: seeds the training and the balancing.
        **kwargs: passed to :func:`train_classifier` (``steps``, ``device``, ...).

    Returns:
        The held-out ``accuracy`` and ``auc`` (:func:`classifier_scores`; 0.5: the
        sets cannot be told apart).
    """
    model = train_classifier(train_a, train_b, seed, **kwargs)
    return classifier_scores(model, score_a, score_b, seed)


def two_sample_accuracy(
    train_a: Tensor,
    train_b: Tensor,
    score_a: Tensor,
    score_b: Tensor,
    seed: int = 0,
    **kwargs: Any,
) -> float:
    """The held-out ``accuracy`` of :func:`two_sample_scores`, given its arguments."""
    return two_sample_scores(train_a, train_b, score_a, score_b, seed, **kwargs)[
        'accuracy'
    ]


def _check_sets(a: Tensor, b: Tensor) -> None:
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f'both sets need crops, got {len(a)} and {len(b)}')
    if a.ndim != 4 or a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f'crops must be N x C x H x W of one shape, got {tuple(a.shape)} and '
            f'{tuple(b.shape)}'
        )


# ---------------------------------------------------------------------- painters


def _structure_of(net: Any) -> str:
    """The class an inpainter-like paints (loading weights named by string)."""
    if isinstance(net, Inpainter):
        if net.structure is None:
            raise ValueError(
                'painter: this Inpainter does not say which class it paints (its '
                "structure is None); pass {'cloud': net} (or 'shadow', 'snow')"
            )
        return net.structure
    meta = getattr(net, 'meta', None)
    if isinstance(meta, dict) and meta.get('class') in STRUCTURES:
        return str(meta['class'])
    raise ValueError(f'painter: cannot tell which class {net!r} paints')


def _inpainter_like(value: Any, cls: str | None = None) -> Any:
    """A file loaded as an inpainter; anything else as the transforms take it.

    A file is a Lightning checkpoint of
    :class:`~torchgeo_csia.tasks.InpaintingTask` or an exported state dict
    (:func:`~torchgeo_csia.experiments.networks.load_inpainter`); the class it
    paints comes from *cls* (the painter mapping's key) or the checkpoint.
    """
    if not (
        isinstance(value, os.PathLike)
        or (
            isinstance(value, str)
            and (value.endswith(('.pth', '.ckpt')) or os.path.isfile(value))
        )
    ):
        return value
    path = os.fspath(value)
    if cls is None:
        state = torch.load(path, map_location='cpu', weights_only=True)
        cls = state.get('hyper_parameters', {}).get('structure')
        if cls not in STRUCTURES:
            raise ValueError(
                f'painter: {path} does not say which class it paints (only '
                "checkpoints do); pass {'cloud': path} (or 'shadow', 'snow')"
            )
    return load_inpainter(path, str(cls), bands=3, device='cpu', option='painter')


def _module_painter(module: nn.Module) -> PaintFunction:
    """A CSIA augmentation (or any ``module(image, mask)``) as a paint function."""

    def paint(
        image: Tensor, mask: Tensor, azimuth: Tensor, elevation: Tensor
    ) -> tuple[Tensor, Tensor]:
        with torch.no_grad(), sun_geometry(module, azimuth, elevation):
            out = module(image, mask)
        return out[0], out[1]

    return paint


def as_painter(
    painter: PainterLike,
    structures: Sequence[str] = STRUCTURES,
    shadow_depth: float | Sequence[float] = 1.0,
    cloud_density: float | Sequence[float] = 1.0,
    cloud_texture: float = 0.0,
    shadow_scale: int = 1,
    shadow_for_clouds: bool = False,
) -> list[tuple[PaintFunction, tuple[str, ...]]]:
    """Paint functions for the structures asked for, and which each one serves.

    Args:
        painter: what paints:

            * ``'shipped'``: the shipped inpainters in the shipped modes
              (:class:`~torchgeo_csia.transforms.RandomCloudShadow` for cloud and
              shadow, :class:`~torchgeo_csia.transforms.RandomSnow` for snow; ``p=1``,
              the shipped structure bank, the sun geometry, the shadow first);
            * one inpainter: an :class:`~torchgeo_csia.models.Inpainter`, a weights
              member or name (``'CLOUD_SPARCS_PHOTO'``), or a checkpoint of
              :class:`~torchgeo_csia.tasks.InpaintingTask` (``.ckpt``; an exported
              ``.pth`` state dict goes in a mapping, which names its class): it
              replaces the shipped inpainter of its class in those modes;
            * a mapping from ``'cloud'``, ``'shadow'``, ``'snow'`` to such
              inpainters (the classes not named keep the shipped ones);
            * a function ``paint(image, mask, sun_azimuth, sun_elevation) -> (image,
              mask)`` (:data:`PaintFunction`) or a module called as
              ``module(image, mask)`` (a CSIA augmentation, say, run under
              :func:`~torchgeo_csia.transforms.sun_geometry`): it serves every
              structure, which it must paint into label-free patches and label.
        structures: the classes to be painted.
        shadow_depth: the ``shadow_depth`` of the
            :class:`~torchgeo_csia.transforms.RandomCloudShadow` mode (the shadow
            fill's gain over the ground raised to this power, one number or one
            per band; 1: as the network paints it); a paint function or module
            must leave it at 1.
        cloud_density: the ``cloud_density`` of that mode (the cloud network's
            opacity made so many times as thick; 1: as the network paints it); a
            paint function or module must leave it at 1, as must a cloud network
            that does not paint over the ground.
        cloud_texture: the ``cloud_texture`` of that mode (how far the density
            varies across the cloud; 0: nowhere), under the same rule.
        shadow_scale: the ``shadow_scale`` of that mode (the shadow network run at
            ``1 / shadow_scale`` of the resolution; 1: full), under the same rule.
        shadow_for_clouds: paint the shadows with
            :class:`~torchgeo_csia.transforms.RandomShadowForClouds` (mode 5, ``p=1``,
            the same *shadow_depth* and *shadow_scale*) instead, to be given patches
            that hold clouds; the same rule.

    Returns:
        ``(paint, classes)`` pairs: each paint function runs on its own patches and
        its crops serve those classes.

    Raises:
        ValueError: If *painter* or a key of it is not understood, or
            *shadow_depth* or *cloud_density* is not > 0, or any of the mode
            settings is not its neutral value with a paint function or module.
    """
    wanted = tuple(s for s in STRUCTURES if s in structures)
    given = {
        name: list(v) if isinstance(v, Sequence) else [v]
        for name, v in (
            ('shadow_depth', shadow_depth),
            ('cloud_density', cloud_density),
        )
    }
    for name, values in given.items():
        if not all(v > 0 for v in values):
            raise ValueError(f'{name} must be > 0, got {values}')
    if not cloud_texture >= 0:
        raise ValueError(f'cloud_texture must be >= 0, got {cloud_texture}')
    # the settings of the CSIA modes that are not their neutral values
    changed = [n for n, v in given.items() if any(x != 1 for x in v)]
    changed += ['cloud_texture'] if cloud_texture != 0 else []
    changed += ['shadow_scale'] if shadow_scale != 1 else []
    changed += ['shadow_for_clouds'] if shadow_for_clouds else []

    def own(paint: PaintFunction) -> list[tuple[PaintFunction, tuple[str, ...]]]:
        if changed:
            raise ValueError(
                f'{", ".join(changed)} applies to the CSIA modes only, not to a '
                'paint function or module'
            )
        return [(paint, wanted)]

    if isinstance(painter, nn.Module) and not isinstance(painter, Inpainter):
        return own(_module_painter(painter))
    if callable(painter) and not isinstance(painter, Inpainter | str | os.PathLike):
        if hasattr(painter, 'meta') and hasattr(painter, 'get_state_dict'):
            pass  # a weights member (callable enums): an inpainter below
        else:
            return own(painter)
    nets: dict[str, Any] = dict(SHIPPED)
    if isinstance(painter, Mapping):
        unknown = sorted(set(painter) - set(STRUCTURES))
        if unknown:
            raise ValueError(
                f'painter: a mapping must be keyed by {list(STRUCTURES)}, got {unknown}'
            )
        nets.update({k: _inpainter_like(v, k) for k, v in painter.items()})
    elif painter != 'shipped':
        net = _inpainter_like(painter)
        if isinstance(net, str):
            from ..models.weights import load_inpainter as load_shipped

            try:
                net = load_shipped(net)
            except (ValueError, TypeError) as err:
                raise ValueError(
                    f"painter must be 'shipped', inpainter weights (a member, its "
                    f'name or a .pth file), an Inpainter, a mapping of those by '
                    f'class or a paint function; got {painter!r}: {err}'
                ) from err
        nets[_structure_of(net)] = net
    out: list[tuple[PaintFunction, tuple[str, ...]]] = []
    on_clouds = shadow_for_clouds and 'shadow' in wanted
    cs = tuple(
        s
        for s in wanted
        if s in ('cloud', 'shadow') and not (on_clouds and s == 'shadow')
    )
    if cs:
        aug = RandomCloudShadow(
            nets['cloud'],
            nets['shadow'],
            p=1.0,
            source='sparcs',
            min_free=0.0,
            shadow_depth=shadow_depth,
            cloud_density=cloud_density,
            cloud_texture=cloud_texture,
            shadow_scale=shadow_scale,
        )
        out.append((_module_painter(aug), cs))
    if on_clouds:
        mode5 = RandomShadowForClouds(
            nets['shadow'],
            p=1.0,
            max_cloud=MAX_CLOUD,
            shadow_depth=shadow_depth,
            shadow_scale=shadow_scale,
        )
        out.append((_module_painter(mode5), ('shadow',)))
    if 'snow' in wanted:
        snow = RandomSnow(nets['snow'], p=1.0, source='sparcs', min_free=0.0)
        out.append((_module_painter(snow), ('snow',)))
    return out


def _describe(painter: PainterLike) -> str:
    if isinstance(painter, str | os.PathLike):
        return os.fspath(painter)
    if isinstance(painter, Mapping):
        return ', '.join(f'{k}={_describe(v)}' for k, v in painter.items())
    return getattr(painter, '__name__', type(painter).__name__)


# -------------------------------------------------------------------- the scenes


@dataclass
class Scene:
    """One whole scene held in memory for cropping.

    Attributes:
        scene: the scene id.
        split: its split (:meth:`SPARCS.split_of`).
        image: ``C x H x W`` raw quicklook values (``uint8``).
        labels: ``H x W`` ``csia`` labels (``uint8``, 255 nodata).
        sun: (azimuth, elevation) in degrees.
    """

    scene: str
    split: str
    image: Tensor
    labels: Tensor
    sun: tuple[float, float]

    def normalised(self, top: int, left: int, size: int) -> Tensor:
        """The ``C x size x size`` window at (top, left), ``photo / 255``."""
        return _normalised(self.image[:, top : top + size, left : left + size])


def _normalised(x: Tensor) -> Tensor:
    """Raw quicklook values as the networks take them (``photo / 255``)."""
    mean, std = NORMALIZATION['photo']
    return (x.float() - mean) / std


def load_scenes(root: str | os.PathLike[str], splits: Sequence[str]) -> list[Scene]:
    """The quicklook scenes of *splits*, whole, each on its own grid.

    Args:
        root: the SPARCS folder.
        splits: splits whose scenes are read.

    Returns:
        The scenes, in :class:`SPARCSScenes` order.
    """
    ds = SPARCS(paths=root, split='all', image='photo', classes='csia')
    # decoded and kept as uint8 once, as the datamodules keep them
    kept = SPARCSCrops(SPARCSScenes(ds, splits=list(splits)), 1)
    ds.close()
    return [
        Scene(scene, SPARCS.split_of(scene), image, labels, sun)
        for scene, image, labels, sun in zip(
            kept.scenes, kept.images, kept.masks, kept.suns, strict=True
        )
    ]


@dataclass
class CropSet:
    """Crops of one kind (real, painted, moved) of one class in one split.

    Attributes:
        image: ``N x C x S x S`` normalised crops.
        labels: ``N x S x S`` their labels.
        scenes: the scene ids the structures (or, painted, the grounds) come from.
    """

    image: Tensor
    labels: Tensor
    scenes: list[str]


def _empty(bands: int, size: int) -> CropSet:
    return CropSet(torch.zeros(0, bands, size, size), torch.zeros(0, size, size), [])


def _cat(parts: list[CropSet], bands: int, size: int, limit: int) -> CropSet:
    if not parts:
        return _empty(bands, size)
    image = torch.cat([p.image for p in parts])[:limit]
    labels = torch.cat([p.labels for p in parts])[:limit]
    scenes = [s for p in parts for s in p.scenes][:limit]
    return CropSet(image, labels, scenes)


def class_scenes(
    scenes: Sequence[Scene],
    cls: int,
    size: int,
    min_pixels: int,
    max_scenes: int,
    generator: torch.Generator,
) -> list[tuple[Scene, Tensor]]:
    """Up to *max_scenes* scenes holding the class, with their valid crop centres.

    A scene counts when at least *min_pixels* pixels of the class can centre a
    crop; the scenes kept are a random draw among those.
    """
    held = []
    for s in scenes:
        centres = valid_centres(s.labels == cls, size, s.labels == IGNORE_INDEX)
        if len(centres) >= min_pixels:
            held.append((s, centres))
    order = torch.randperm(len(held), generator=generator).tolist()[:max_scenes]
    return [held[i] for i in sorted(order)]


def real_crops(
    held: Sequence[tuple[Scene, Tensor]], count: int, size: int, gen: torch.Generator
) -> CropSet:
    """*count* crops centred on random pixels of the class, the scenes in turn."""
    picks = round_robin([len(c) for _, c in held], count, gen)
    if not picks:
        return _empty(3, size)
    xs, ys, names = [], [], []
    for g, j in picks:
        scene, centres = held[g]
        r, c = int(centres[j, 0]), int(centres[j, 1])
        top, left = r - size // 2, c - size // 2
        xs.append(scene.normalised(top, left, size))
        ys.append(crop(scene.labels, (r, c), size))
        names.append(scene.scene)
    return CropSet(torch.stack(xs), torch.stack(ys).long(), names)


def background_patches(
    scenes: Sequence[Scene],
    count: int,
    patch: int,
    min_free: float,
    max_scenes: int,
    gen: torch.Generator,
    max_cloud: float | None = None,
) -> list[tuple[Scene, int, int]]:
    """*count* patches to paint (top-left corners), the scenes in turn.

    Windows on a grid of stride ``patch // 8``, drawn from up to *max_scenes* of the
    scenes holding any (the most windows first is not preferred: a random draw).

    Args:
        scenes: the scenes to draw from.
        count: how many patches.
        patch: their height and width.
        min_free: the least background share of a window (1.0: label-free).
        max_scenes: the most scenes the patches come from.
        gen: the random stream.
        max_cloud: if given, windows of cloud and background only instead, some
            cloud and at most this share (:func:`cloudy_windows`; *min_free* unused).

    Returns:
        ``(scene, top, left)`` of each patch.
    """
    stride = max(1, patch // 8)
    have = []
    for s in scenes:
        w = (
            free_windows(s.labels, patch, stride, min_free)
            if max_cloud is None
            else cloudy_windows(s.labels, patch, stride, max_cloud)
        )
        if len(w):
            have.append((s, w))
    order = torch.randperm(len(have), generator=gen).tolist()[:max_scenes]
    have = [have[i] for i in sorted(order)]
    picks = round_robin([len(w) for _, w in have], count, gen)
    return [
        (have[g][0], int(have[g][1][j, 0]), int(have[g][1][j, 1])) for g, j in picks
    ]


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def patch_batch(
    patches: Sequence[tuple[Scene, int, int]], patch: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Patches (scene, top, left) as a batch for a paint function.

    Returns:
        ``B x C x patch x patch`` normalised images, ``B x patch x patch`` int64
        labels, and each patch's sun azimuth and elevation (degrees).
    """
    image = torch.stack([s.normalised(t, left, patch) for s, t, left in patches])
    labels = torch.stack(
        [s.labels[t : t + patch, left : left + patch] for s, t, left in patches]
    ).long()
    az = torch.tensor([s.sun[0] for s, _, _ in patches])
    el = torch.tensor([s.sun[1] for s, _, _ in patches])
    return image, labels, az, el


def painted_crops(
    paint: PaintFunction,
    grounds: Sequence[tuple[Scene, int, int]],
    classes: Sequence[int],
    count: int,
    patch: int,
    size: int,
    device: torch.device,
    gen: torch.Generator,
    batch: int = 16,
) -> dict[int, CropSet]:
    """Paint the patches in batches; crop each class around its painted pixels.

    A pixel is painted with class *c* where the label changed to *c*. Patches are
    painted until every class has *count* crops or the patches run out.
    """
    parts: dict[int, list[CropSet]] = {c: [] for c in classes}
    have = dict.fromkeys(classes, 0)
    for chunk in _batches(grounds, batch):
        if all(have[c] >= count for c in classes):
            break
        image, labels, az, el = patch_batch(chunk, patch)
        out_image, out_mask = paint(
            image.to(device), labels.to(device), az.to(device), el.to(device)
        )
        out_image, out_mask = out_image.float().cpu(), _labels(out_mask).cpu()
        for c in classes:
            where = (out_mask == c) & (labels != c)
            x, y, keep = crops_around(out_image, out_mask, where, size, gen)
            names = [chunk[int(i)][0].scene for i in keep]
            parts[c].append(CropSet(x, y, names))
            have[c] += len(x)
    return {c: _cat(parts[c], 3, size, count) for c in classes}


def moved_crops(
    held: Sequence[tuple[Scene, Tensor]],
    grounds: Sequence[tuple[Scene, int, int]],
    cls: int,
    count: int,
    patch: int,
    size: int,
    ring: int,
    gen: torch.Generator,
) -> CropSet:
    """Real structures moved onto the label-free patches, cropped like painted ones.

    Each patch takes the structures of a *patch*-sized window of a scene of *held*,
    centred on a random pixel of the class (moved inside the scene where it sticks
    out): the classes of :data:`GROUPS` (a cloud with its shadow), each with a ring
    of *ring* pixels of its own surroundings.
    """
    picks = round_robin([len(c) for _, c in held], len(grounds), gen)
    if not picks:
        return _empty(3, size)
    parts = []
    pairs = list(zip(grounds, picks, strict=False))
    for chunk in _batches(pairs, 32):
        image = torch.stack([s.normalised(t, left, patch) for (s, t, left), _ in chunk])
        labels = torch.stack(
            [s.labels[t : t + patch, left : left + patch] for (s, t, left), _ in chunk]
        ).long()
        src_x, src_y, names = [], [], []
        for _, (g, j) in chunk:
            scene, centres = held[g]
            c = (int(centres[j, 0]), int(centres[j, 1]))
            src_x.append(_normalised(window(scene.image, c, patch)))
            src_y.append(window(scene.labels, c, patch).long())
            names.append(scene.scene)
        sources = torch.stack(src_y)
        # as RandomTransplant: the ring carries only the source's clear ground
        guard = transplant_guard(labels, sources, (BACKGROUND,), GROUPS[cls])
        moved, moved_labels = transplant(
            image,
            torch.where(guard, IGNORE_INDEX, labels),
            torch.stack(src_x),
            sources,
            GROUPS[cls],
            ring,
        )
        moved_labels = torch.where(guard, labels, moved_labels)
        where = (moved_labels == cls) & (labels != cls)
        x, y, keep = crops_around(moved, moved_labels, where, size, gen)
        parts.append(CropSet(x, y, [names[int(i)] for i in keep]))
        if sum(len(p.image) for p in parts) >= count:
            break
    return _cat(parts, 3, size, count)


def _labels(mask: Tensor) -> Tensor:
    m = mask[:, 0] if mask.ndim == 4 else mask
    return m.round().long() if m.is_floating_point() else m.long()


# ------------------------------------------------------------------- the measure


def _check_args(
    classes: Sequence[str],
    seeds: Sequence[int],
    crops: int,
    size: int,
    patch: int,
    max_scenes: int,
    min_free: float,
    ring: int,
    train_splits: Sequence[str],
    score_splits: Sequence[str],
) -> None:
    bad = [c for c in classes if c not in STRUCTURES]
    if bad or not classes:
        raise ValueError(
            f'classes must be a non-empty subset of {list(STRUCTURES)}, got '
            f'{list(classes)}'
        )
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f'seeds must be distinct and at least one, got {seeds}')
    if crops < 4:
        raise ValueError(f'crops must be >= 4 (the real crops are halved), got {crops}')
    if size < 16 or size % 2:
        raise ValueError(f'size must be even and >= 16, got {size}')
    if patch < size:
        raise ValueError(f'patch must be >= size ({size}), got {patch}')
    if max_scenes < 1:
        raise ValueError(f'max_scenes must be >= 1, got {max_scenes}')
    if not 0.0 < min_free <= 1.0:
        raise ValueError(f'min_free must be in (0, 1], got {min_free}')
    if ring < 0:
        raise ValueError(f'ring must be >= 0, got {ring}')
    known = set(SPARCS.split_fractions)
    named = (('train_splits', train_splits), ('score_splits', score_splits))
    for name, splits in named:
        if not splits or set(splits) - known:
            raise ValueError(
                f'{name} must be a non-empty subset of {sorted(known)}, got '
                f'{list(splits)}'
            )
    if set(train_splits) & set(score_splits):
        raise ValueError(
            f'score_splits {list(score_splits)} must share no split with '
            f'train_splits {list(train_splits)}'
        )


def _summary(values: list[float]) -> dict[str, Any]:
    finite = [v for v in values if not math.isnan(v)]
    mean = sum(finite) / len(finite) if finite else math.nan
    sd = (
        math.sqrt(sum((v - mean) ** 2 for v in finite) / (len(finite) - 1))
        if len(finite) > 1
        else math.nan
    )
    return {'values': values, 'mean': mean, 'sd': sd}


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(b) else math.nan


def two_sample_test(
    root: str | os.PathLike[str],
    painter: PainterLike = 'shipped',
    classes: Sequence[str] = STRUCTURES,
    seeds: Sequence[int] = (0, 1, 2),
    device: torch.device | str = 'cpu',
    crops: int = 256,
    size: int = 64,
    patch: int = 256,
    max_scenes: int = 10,
    min_pixels: int = 1000,
    min_free: float = 1.0,
    ring: int = 4,
    train_splits: Sequence[str] = ('train',),
    score_splits: Sequence[str] = ('val',),
    steps: int = 300,
    batch_size: int = 64,
    width: int = 16,
    lr: float = 1e-3,
    data_seed: int = 0,
    paint_batch: int = 16,
    examples: int = 6,
    log: Callable[[str], None] | None = None,
    shadow_depth: float | Sequence[float] = 1.0,
    cloud_density: float | Sequence[float] = 1.0,
    cloud_texture: float = 0.0,
    shadow_scale: int = 1,
    shadow_for_clouds: bool = False,
) -> dict[str, Any]:
    """Two-sample classifier test of painted structures against real ones.

    For each class, crops of real, painted and moved structures are built once
    (seeded by *data_seed*) on the scenes of *train_splits* and of *score_splits*
    (see the module's description); then for each seed three classifiers are
    trained on the first and scored on the second: painted against real, real
    against real (disjoint halves) and moved against real, and for shadow the same
    with the cloud pixels hidden (:func:`mask_class`). Texture statistics compare
    the structure pixels of the painted (and moved) crops with the real ones, all
    splits pooled.

    Args:
        root: the SPARCS folder (quicklooks and labels suffice).
        painter: what paints (:func:`as_painter`; ``'shipped'`` by default).
        classes: the structures measured (``'cloud'``, ``'shadow'``, ``'snow'``).
        seeds: classifier seeds (initialisation, balancing, batches).
        device: where to paint and train.
        crops: crops of each kind per class and split (the real ones are halved
            for the real-against-real control).
        size: crop height and width.
        patch: height and width of the label-free patches painted.
        max_scenes: the most scenes per class and split the crops come from.
        min_pixels: the fewest valid crop centres of the class a scene must hold.
        min_free: the least background share of a painted patch (1.0: label-free).
        ring: the ring of own surroundings a moved structure takes, and how far
            beyond the cloud the masked shadow variant hides.
        train_splits: splits the classifiers train on.
        score_splits: splits they are scored on.
        steps: training steps per classifier.
        batch_size: crops per training step.
        width: classifier width (:class:`CropClassifier`).
        lr: classifier learning rate.
        data_seed: seeds which scenes, crops and patches are drawn and the painting.
        paint_batch: patches painted per call.
        examples: crops per kind and class kept for :func:`realism_figure`.
        log: called with a line of progress now and then.
        shadow_depth: the painted shadow's depth (:func:`as_painter`; 1: as the
            network paints it).
        cloud_density: the painted cloud's density (:func:`as_painter`; 1: as the
            network paints it).
        cloud_texture: how far that density varies across the cloud
            (:func:`as_painter`; 0: nowhere).
        shadow_scale: the shadow network's resolution factor (:func:`as_painter`;
            1: full resolution).
        shadow_for_clouds: paint the shadows by mode 5 (:func:`as_painter`) on
            patches of cloud and background only, at most half cloud
            (:func:`cloudy_windows`), instead of on label-free ones.

    Returns:
        ``config``, ``painter`` (its description), ``seconds``, ``classes`` (per
        class: ``scenes`` and ``ground_scenes`` per split role, ``crops`` (counts
        per role and kind), ``accuracy`` (per comparison: per-seed ``values``,
        ``mean``, ``sd``), ``auc`` (the same for the AUC), for shadow also
        ``masked_accuracy`` and ``masked_auc`` (and with *shadow_for_clouds*
        ``cloudy_scenes``, the scenes of its patches per role), ``crops_scenes``
        (how many scenes each kind's crops come from, per role), ``texture`` and
        ``note`` (why a comparison is missing, or a warning)), and ``examples``
        (per class and kind, uint8 crops of the scoring split, for the figure).

    Raises:
        ValueError: If an argument is out of range, or *painter* is not understood.
    """
    _check_args(
        classes,
        seeds,
        crops,
        size,
        patch,
        max_scenes,
        min_free,
        ring,
        train_splits,
        score_splits,
    )
    say = log or (lambda _: None)
    start = time.perf_counter()
    dev = torch.device(device)
    modes = as_painter(
        painter,
        classes,
        shadow_depth,
        cloud_density,
        cloud_texture,
        shadow_scale,
        shadow_for_clouds,
    )
    wanted = [c for c in STRUCTURES if c in classes]
    scenes = load_scenes(root, [*train_splits, *score_splits])
    roles = {'train': tuple(train_splits), 'score': tuple(score_splits)}
    by_role = {r: [s for s in scenes if s.split in sp] for r, sp in roles.items()}
    counts = ', '.join(f'{r} {len(v)}' for r, v in by_role.items())
    say(f'{len(scenes)} scenes: {counts}')
    gen = torch.Generator().manual_seed(data_seed)
    sets: dict[str, dict[str, dict[str, CropSet]]] = {
        c: {r: {} for r in roles} for c in wanted
    }
    info: dict[str, dict[str, Any]] = {
        c: {'scenes': {}, 'ground_scenes': {}, 'crops': {}, 'note': []} for c in wanted
    }
    with _seeded(data_seed, dev):
        for role, pool in by_role.items():
            held = {
                c: class_scenes(pool, CLASS_INDEX[c], size, min_pixels, max_scenes, gen)
                for c in wanted
            }
            grounds = background_patches(
                pool, 2 * crops, patch, min_free, max_scenes, gen
            )
            for c in wanted:
                real = real_crops(held[c], crops, size, gen)
                sets[c][role]['real'] = real
                info[c]['scenes'][role] = [s.scene for s, _ in held[c]]
                ground_ids = sorted({s.scene for s, _, _ in grounds})
                info[c]['ground_scenes'][role] = ground_ids
                sets[c][role]['moved'] = moved_crops(
                    held[c], grounds, CLASS_INDEX[c], crops, patch, size, ring, gen
                )
            # mode 5's shadows go beside the clouds of their own patches (drawn
            # after this role's real and moved crops; the draws of the next role
            # differ from a run without it all the same: one generator serves all)
            cloudy = grounds
            if shadow_for_clouds and 'shadow' in wanted:
                cloudy = background_patches(
                    pool, 2 * crops, patch, 0.0, max_scenes, gen, MAX_CLOUD
                )
                info['shadow'].setdefault('cloudy_scenes', {})[role] = sorted(
                    {s.scene for s, _, _ in cloudy}
                )
            for paint, served in modes:
                on = cloudy if served == ('shadow',) else grounds
                say(f'{role}: painting {"+".join(served)} on {len(on)} patches')
                painted = painted_crops(
                    paint,
                    on,
                    [CLASS_INDEX[c] for c in served],
                    crops,
                    patch,
                    size,
                    dev,
                    gen,
                    paint_batch,
                )
                for c in served:
                    sets[c][role]['painted'] = painted[CLASS_INDEX[c]]
    train_kw: dict[str, Any] = {
        'steps': steps,
        'batch_size': batch_size,
        'lr': lr,
        'width': width,
        'device': dev,
    }
    result_classes: dict[str, Any] = {}
    shots: dict[str, dict[str, Tensor]] = {}
    for c in wanted:
        ci = info[c]
        for role in roles:
            ci['crops'][role] = {k: len(v.image) for k, v in sets[c][role].items()}
        ci['crops_scenes'] = {
            role: {k: len(set(v.scenes)) for k, v in sets[c][role].items()}
            for role in roles
        }
        n_score = len(ci['scenes'].get('score', []))
        n_train = len(ci['scenes'].get('train', []))
        if min(n_score, n_train) < FEW_SCENES:
            ci['note'].append(
                f'the real {c} crops come from only {n_train} training and {n_score} '
                'scoring scene(s): a few scenes decide this number'
            )
        few = {
            role: n
            for role in roles
            if 0 < (n := ci['crops_scenes'][role].get('painted', 0)) < FEW_SCENES
        }
        if few:
            where = ' and '.join(f'{n} {role}' for role, n in few.items())
            ci['note'].append(
                f'the painted {c} crops come from only {where} scene(s): a few scenes '
                'decide this number'
            )
        variants: list[tuple[str, int | None, tuple[str, ...]]] = [
            ('accuracy', None, COMPARISONS)
        ]
        if c == 'shadow':  # real against real needs no mask
            variants.append(('masked_accuracy', CLOUD, ('painted', 'moved')))
        for key, hide, kinds in variants:
            acc: dict[str, list[float]] = {k: [] for k in kinds}
            auc: dict[str, list[float]] = {k: [] for k in kinds}
            for seed in seeds:
                for kind in kinds:
                    got = _compare(sets[c], kind, hide, ring, seed, train_kw, ci)
                    acc[kind].append(got['accuracy'])
                    auc[kind].append(got['auc'])
                say(
                    f'{c} {key} seed {seed}: '
                    + ', '.join(
                        f'{k} {v[-1]:.3f} (AUC {auc[k][-1]:.3f})'
                        for k, v in acc.items()
                    )
                )
            ci[key] = {k: _summary(v) for k, v in acc.items()}
            ci[key.replace('accuracy', 'auc')] = {
                k: _summary(v) for k, v in auc.items()
            }
        ci['texture'] = _texture(sets[c], CLASS_INDEX[c])
        ci['note'] = sorted(set(ci['note']))
        result_classes[c] = ci
        shots[c] = {
            kind: (s.image[:examples] * 255).round().clamp(0, 255).byte()
            for kind, s in sets[c]['score'].items()
        }
    return {
        'config': {
            'root': os.fspath(root),
            'classes': wanted,
            'seeds': list(seeds),
            'device': str(dev),
            'crops': crops,
            'size': size,
            'patch': patch,
            'max_scenes': max_scenes,
            'min_pixels': min_pixels,
            'min_free': min_free,
            'ring': ring,
            'train_splits': list(train_splits),
            'score_splits': list(score_splits),
            'steps': steps,
            'batch_size': batch_size,
            'width': width,
            'lr': lr,
            'data_seed': data_seed,
            'shadow_depth': shadow_depth,
            'cloud_density': cloud_density,
            'cloud_texture': cloud_texture,
            'shadow_scale': shadow_scale,
            'shadow_for_clouds': shadow_for_clouds,
        },
        'painter': _describe(painter),
        'classes': result_classes,
        'examples': shots,
        'seconds': time.perf_counter() - start,
    }


def _compare(
    sets: dict[str, dict[str, CropSet]],
    kind: str,
    hide: int | None,
    ring: int,
    seed: int,
    train_kw: dict[str, Any],
    info: dict[str, Any],
) -> dict[str, float]:
    """One classifier's held-out scores: *kind* against real (NaN if impossible)."""

    def get(role: str, name: str) -> Tensor:
        s = sets[role].get(name)
        if s is None:
            return torch.zeros(0)
        return s.image if hide is None else mask_class(s.image, s.labels, hide, ring)

    gen = torch.Generator().manual_seed(10_000 + seed)
    if kind == 'real':
        pairs = [halves(get(r, 'real'), gen) for r in ('train', 'score')]
    else:
        pairs = [(get(r, 'real'), get(r, kind)) for r in ('train', 'score')]
    (ta, tb), (sa, sb) = pairs
    if min(len(ta), len(tb), len(sa), len(sb)) < 2:
        info['note'].append(
            f'{kind} against real: too few crops '
            f'(train {len(ta)}/{len(tb)}, score {len(sa)}/{len(sb)}); not measured'
        )
        return {'accuracy': math.nan, 'auc': math.nan}
    return two_sample_scores(ta, tb, sa, sb, seed, **train_kw)


def _texture(sets: dict[str, dict[str, CropSet]], cls: int) -> dict[str, Any]:
    """Texture statistics of each kind, all roles pooled, and their ratios to real."""
    out: dict[str, Any] = {}
    for kind in COMPARISONS:
        parts = [sets[r][kind] for r in sets if kind in sets[r]]
        image = torch.cat([p.image for p in parts]) if parts else torch.zeros(0)
        if len(image) == 0:
            continue
        labels = torch.cat([p.labels for p in parts])
        out[kind] = texture_statistics(image, labels == cls)
    real = out.get('real')
    for kind in ('painted', 'moved'):
        if real is not None and kind in out:
            stats = out[kind]
            stats['gradient_ratio'] = _ratio(stats['gradient'], real['gradient'])
            stats['high_frequency_ratio'] = _ratio(
                stats['high_frequency'], real['high_frequency']
            )
    return out


# --------------------------------------------------------------------- reporting


def one_or_per_band(values: Sequence[float]) -> float | Sequence[float]:
    """A command line's numbers: one number, or one per band."""
    return values[0] if len(values) == 1 else values


def _numbers(value: float | Sequence[float]) -> str:
    """A number, or numbers joined by ' / '."""
    if isinstance(value, Sequence):
        return ' / '.join(f'{v:g}' for v in value)
    return f'{value:g}'


def _fmt(s: dict[str, Any] | None) -> str:
    if s is None or math.isnan(s['mean']):
        return 'n/a'
    if math.isnan(s['sd']):
        return f'{s["mean"]:.3f}'
    return f'{s["mean"]:.3f} ± {s["sd"]:.3f}'


def _score_rows(
    c: str, ci: dict[str, Any], key: str, scores: dict[str, Any]
) -> list[tuple[str, str]]:
    """A class's table rows of one score: its own, then cloud masked where scored.

    Args:
        c: the class.
        ci: the class's result (:func:`two_sample_test`), which may hold
            ``masked_<key>``.
        key: the score, ``'accuracy'`` or ``'auc'``.
        scores: the class's *key* summaries by comparison.

    Returns:
        Each row's name and its cells, one per comparison (:data:`COMPARISONS`).
    """
    rows = [(c, scores)]
    if f'masked_{key}' in ci:
        rows.append((f'{c} (cloud masked)', ci[f'masked_{key}']))
    return [
        (name, ' | '.join(_fmt(got.get(k)) for k in COMPARISONS)) for name, got in rows
    ]


def format_table(result: dict[str, Any]) -> str:
    """The result of :func:`two_sample_test` as Markdown tables.

    Args:
        result: what :func:`two_sample_test` returned (or its JSON).

    Returns:
        Markdown: the accuracies (mean ± sd over the seeds) with the scenes and
        crops behind them, the texture ratios and the brightness per band, and the
        notes.
    """
    cfg = result['config']
    settings = [
        f'{name} {_numbers(cfg.get(key, plain))}'
        for key, name, plain in (
            ('shadow_depth', 'shadow depth', 1.0),
            ('cloud_density', 'cloud density', 1.0),
            ('cloud_texture', 'cloud texture', 0.0),
            ('shadow_scale', 'shadow scale', 1),
        )
        if cfg.get(key, plain) != plain
    ]
    if cfg.get('shadow_for_clouds') and 'shadow' in cfg['classes']:
        settings.append('shadows by RandomShadowForClouds beside real clouds')
    lines = [
        f'Painter: `{result["painter"]}`'
        + (f' ({", ".join(settings)})' if settings else '')
        + f'. Seeds {cfg["seeds"]}; {cfg["crops"]} crops '
        f'of {cfg["size"]} px per kind, class and split; classifiers train on '
        f'{"+".join(cfg["train_splits"])} scenes and are scored on '
        f'{"+".join(cfg["score_splits"])} scenes (balanced; 0.5 = cannot tell).',
        '',
        '| class | real scenes (train / score) | crops real / painted / moved '
        '(train; score) | painted vs real | real vs real | moved vs real |',
        '|---|---|---|---|---|---|',
    ]
    for c, ci in result['classes'].items():
        sc = ci['scenes']
        n = ci['crops']
        counts = '; '.join(
            ' / '.join(str(n[r].get(k, 0)) for k in ('real', 'painted', 'moved'))
            for r in ('train', 'score')
        )
        for name, cells in _score_rows(c, ci, 'accuracy', ci['accuracy']):
            lines.append(
                f'| {name} | {len(sc.get("train", []))} / {len(sc.get("score", []))} '
                f'| {counts} | {cells} |'
            )
    lines += [
        '',
        'AUC of the same classifiers (threshold-free: a classifier that ranks the '
        'crops right but whose threshold moves between scenes scores a low accuracy '
        'and a high AUC):',
        '',
        '| class | painted vs real | real vs real | moved vs real |',
        '|---|---|---|---|',
    ]
    for c, ci in result['classes'].items():
        # a result without AUC scores gets n/a cells, not an error
        for name, cells in _score_rows(c, ci, 'auc', ci.get('auc', {})):
            lines.append(f'| {name} | {cells} |')
    lines += [
        '',
        'Texture inside the structure (all splits pooled): gradient magnitude and '
        'high-frequency power (periods < 4 px) as ratios to real; mean brightness per '
        'band (photo / 255).',
        '',
        '| class | gradient painted / real | HF power painted / real | gradient moved '
        '/ real | HF moved / real | brightness real | brightness painted |',
        '|---|---|---|---|---|---|---|',
    ]

    def num(d: dict[str, Any] | None, key: str) -> str:
        v = None if d is None else d.get(key)
        return 'n/a' if v is None or math.isnan(v) else f'{v:.2f}'

    def bands(d: dict[str, Any] | None) -> str:
        if d is None:
            return 'n/a'
        return ' / '.join(f'{v:.3f}' for v in d['brightness'])

    for c, ci in result['classes'].items():
        t = ci['texture']
        p, m, r = t.get('painted'), t.get('moved'), t.get('real')
        lines.append(
            f'| {c} | {num(p, "gradient_ratio")} | {num(p, "high_frequency_ratio")} '
            f'| {num(m, "gradient_ratio")} | {num(m, "high_frequency_ratio")} '
            f'| {bands(r)} | {bands(p)} |'
        )
    notes = [f'- {c}: {n}' for c, ci in result['classes'].items() for n in ci['note']]
    if notes:
        lines += ['', 'Notes:', '', *notes]
    lines += ['', 'Scenes the real crops come from:', '']
    for c, ci in result['classes'].items():
        for role, ids in ci['scenes'].items():
            lines.append(f'- {c}, {role}: {len(ids)} scenes ({", ".join(ids)})')
    grounds = next(iter(result['classes'].values()))['ground_scenes']
    cloudy = result['classes'].get('shadow', {}).get('cloudy_scenes', {})
    use = 'moved; painted but for shadow' if cloudy else 'painted and moved'
    for role, ids in grounds.items():
        lines.append(
            f'- label-free patches ({use}), {role}: {len(ids)} scenes '
            f'({", ".join(ids)})'
        )
    for role, ids in cloudy.items():
        lines.append(
            f'- patches of cloud and background (painted shadow, mode 5), {role}: '
            f'{len(ids)} scenes ({", ".join(ids)})'
        )
    return '\n'.join(lines) + '\n'


def realism_figure(result: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Painted beside real (and moved) crops of each class, at one intensity scale.

    Every crop is shown as its values, ``photo / 255`` clipped to [0, 1], with no
    per-crop stretch, so brightness and contrast compare across rows.

    Args:
        result: what :func:`two_sample_test` returned (it holds the examples).
        path: the image file to write (PNG).
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    shots = result['examples']
    rows = [(c, k) for c in shots for k in COMPARISONS if k in shots[c]]
    cols = max((len(shots[c][k]) for c, k in rows), default=1) or 1
    fig, axes = plt.subplots(
        len(rows), cols, figsize=(1.3 * cols + 1.2, 1.3 * len(rows)), squeeze=False
    )
    for i, (c, k) in enumerate(rows):
        for j in range(cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(shots[c][k]):
                ax.imshow(shots[c][k][j].permute(1, 2, 0).numpy(), vmin=0, vmax=255)
            else:
                ax.axis('off')
        axes[i, 0].set_ylabel(f'{c}\n{k}', fontsize=8)
    fig.suptitle(
        f'{result["painter"]}: crops of the scoring scenes, one intensity scale',
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _jsonable(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != 'examples'}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run :func:`two_sample_test` and write its tables and figure.

    ``python -m torchgeo_csia.experiments.two_sample --root DIR --out FILE.md``
    writes the Markdown tables (with the command line) to ``FILE.md`` and the
    figure to ``FILE.png``; ``--json`` also writes the numbers.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    p = argparse.ArgumentParser(
        prog='python -m torchgeo_csia.experiments.two_sample',
        description='Two-sample classifier test of painted against real structures.',
    )
    p.add_argument('--root', required=True, help='SPARCS folder (quicklooks, labels)')
    p.add_argument('--out', required=True, help='Markdown file to write (.md)')
    p.add_argument(
        '--painter',
        action='append',
        default=None,
        help="'shipped' (default), a weights name or .pth file, or CLASS=WEIGHTS "
        "(repeatable) to replace one class's inpainter",
    )
    p.add_argument('--classes', nargs='+', default=list(STRUCTURES))
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--crops', type=int, default=256)
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--patch', type=int, default=256)
    p.add_argument('--max-scenes', type=int, default=10)
    p.add_argument('--min-pixels', type=int, default=1000)
    p.add_argument('--min-free', type=float, default=1.0)
    p.add_argument('--ring', type=int, default=4)
    p.add_argument('--steps', type=int, default=300)
    p.add_argument('--width', type=int, default=16)
    p.add_argument('--score-splits', nargs='+', default=['val'])
    p.add_argument('--data-seed', type=int, default=0)
    p.add_argument(
        '--shadow-depth',
        type=float,
        nargs='+',
        default=[1.0],
        help="the painted shadow's gain over the ground raised to this power, one "
        'number or one per band (1: as the network paints it)',
    )
    p.add_argument(
        '--cloud-density',
        type=float,
        nargs='+',
        default=[1.0],
        help="the painted cloud's opacity made so many times as thick, one number "
        'or one per band (1: as the network paints it)',
    )
    p.add_argument(
        '--cloud-texture',
        type=float,
        default=0.0,
        help="how far the log of the cloud's density varies across it with a "
        'plasma fractal (0: nowhere)',
    )
    p.add_argument(
        '--shadow-scale',
        type=int,
        default=1,
        help='run the shadow network at 1 / this of the resolution, its opacity '
        'and radiance upsampled over the ground (1: full resolution)',
    )
    p.add_argument(
        '--shadow-for-clouds',
        action='store_true',
        help='paint the shadows by RandomShadowForClouds (mode 5) beside the real '
        'clouds of patches of cloud and background only',
    )
    p.add_argument('--json', default=None, help='also write the numbers here')
    p.add_argument('--no-figure', action='store_true')
    p.add_argument(
        '--threads',
        type=int,
        default=None,
        help='CPU threads for torch (default: its own)',
    )
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    painter: PainterLike = 'shipped'
    if args.painter:
        named = dict(a.split('=', 1) for a in args.painter if '=' in a)
        plain = [a for a in args.painter if '=' not in a]
        if (named and plain) or len(plain) > 1:
            p.error('--painter: give one painter, or CLASS=WEIGHTS for each class')
        painter = named or plain[0]
    started = time.perf_counter()

    def log(line: str) -> None:
        print(f'[{time.perf_counter() - started:7.1f} s] {line}', file=sys.stderr)

    result = two_sample_test(
        args.root,
        painter=painter,
        classes=args.classes,
        seeds=args.seeds,
        device=args.device,
        crops=args.crops,
        size=args.size,
        patch=args.patch,
        max_scenes=args.max_scenes,
        min_pixels=args.min_pixels,
        min_free=args.min_free,
        ring=args.ring,
        steps=args.steps,
        width=args.width,
        score_splits=args.score_splits,
        data_seed=args.data_seed,
        log=log,
        shadow_depth=one_or_per_band(args.shadow_depth),
        cloud_density=one_or_per_band(args.cloud_density),
        cloud_texture=args.cloud_texture,
        shadow_scale=args.shadow_scale,
        shadow_for_clouds=args.shadow_for_clouds,
    )
    out = Path(args.out)
    command = 'python -m torchgeo_csia.experiments.two_sample ' + shlex.join(
        list(argv) if argv is not None else sys.argv[1:]
    )
    text = (
        f'# Two-sample classifier test ({result["config"]["device"]})\n\n'
        f'```\n{command}\n```\n\n'
        f'{result["seconds"]:.0f} s on {result["config"]["device"]}, torch '
        f'{torch.__version__}.\n\n' + format_table(result)
    )
    if not args.no_figure:
        figure = out.with_suffix('.png')
        realism_figure(result, figure)
        text += f'\n![painted beside real]({figure.name})\n'
    out.write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(_jsonable(result), indent=1))
    log(f'wrote {out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
