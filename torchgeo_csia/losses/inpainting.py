"""Losses of the CSIA inpainters.

The inpainter learns to reconstruct real structures whose pixels were holed: an L1
term on the hole (:func:`hole_l1`), an L1 term on image gradients that asks for the
structure's texture (:func:`gradient_l1`), and optionally an adversarial term from a
patch critic (:func:`~torchgeo_csia.models.critic.patch_critic`): the critic's hinge
loss (:func:`critic_loss`) and the fill's loss (:func:`fill_loss`), both counted
over the critic's patches that touch the hole only (:func:`patch_weights`).

:class:`~torchgeo_csia.tasks.InpaintingTask` trains with them (the math is that of
the trainer of the shipped inpainters, since removed); :func:`texture_ratio` is the
texture measure of ``docs/results.rst``.

.. versionadded:: 0.1
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def hole_l1(pred: Tensor, target: Tensor, hole: Tensor) -> Tensor:
    """Mean absolute error over the hole's pixels and all bands.

    Args:
        pred: ``B x C x H x W`` network output.
        target: ``B x C x H x W`` true image.
        hole: ``B x H x W`` boolean.

    Returns:
        A 0-d tensor; 0 where the batch has no hole pixel.
    """
    h = hole[:, None].to(pred.dtype)
    # pooled over the batch (not a mean of per-sample means): large structures
    # weigh by their pixels, as in the trainer that made the shipped weights
    return ((pred - target).abs() * h).sum() / (h.sum() * pred.shape[1]).clamp(min=1)


def gradient_l1(a: Tensor, b: Tensor, where: Tensor) -> Tensor:
    """Mean ``|grad a - grad b|`` over the pixels in *where*, both axes summed.

    Args:
        a: ``B x C x H x W`` (the filled image).
        b: ``B x C x H x W`` (the true image).
        where: ``B x H x W`` boolean (the hole).

    Returns:
        A 0-d tensor: the horizontal and vertical terms, each a mean over its
        differences whose first pixel lies in *where*.
    """
    loss = a.new_zeros(())
    for dim in (-1, -2):
        da, db = a.diff(dim=dim), b.diff(dim=dim)
        w = (where[:, None].narrow(dim, 0, where.shape[dim] - 1)).to(a.dtype)
        loss = loss + ((da - db).abs() * w).sum() / (w.sum() * a.shape[1]).clamp(min=1)
    return loss


def texture_ratio(fill: Tensor, truth: Tensor, hole: Tensor) -> Tensor:
    """Mean gradient magnitude of *fill* over that of *truth*, inside the hole.

    1 means as much texture as the real structure; a blurred fill scores below 1.

    Args:
        fill: ``B x C x H x W`` filled image.
        truth: ``B x C x H x W`` true image.
        hole: ``B x H x W`` boolean.

    Returns:
        A 0-d float tensor.
    """
    num, den = texture_sums(fill, truth, hole)
    return num / den.clamp(min=1e-12)


def texture_sums(fill: Tensor, truth: Tensor, hole: Tensor) -> tuple[Tensor, Tensor]:
    """The numerator and denominator of :func:`texture_ratio` (to pool batches).

    Args:
        fill: ``B x C x H x W`` filled image.
        truth: ``B x C x H x W`` true image.
        hole: ``B x H x W`` boolean.

    Returns:
        Sums of the absolute differences of *fill* and of *truth* along both
        axes, over the differences whose first pixel lies in the hole (float32).
    """
    num = fill.new_zeros((), dtype=torch.float)
    den = fill.new_zeros((), dtype=torch.float)
    for dim in (-1, -2):
        w = hole[:, None].narrow(dim, 0, hole.shape[dim] - 1).float()
        num = num + (fill.diff(dim=dim).abs() * w).sum()
        den = den + (truth.diff(dim=dim).abs() * w).sum()
    return num, den


def patch_weights(hole: Tensor, shape: tuple[int, ...]) -> Tensor:
    """1 for each critic patch that touches the hole, 0 elsewhere.

    Args:
        hole: ``B x H x W`` boolean.
        shape: the critic's score map, ``(h, w)`` (its last two dimensions).

    Returns:
        ``B x 1 x h x w`` float.
    """
    return F.adaptive_max_pool2d(hole[:, None].float(), shape[-2:])


def _weighted(score: Tensor, weight: Tensor) -> Tensor:
    return (score * weight).sum() / weight.sum().clamp(min=1)


def critic_hinge_loss(real_score: Tensor, fake_score: Tensor, weight: Tensor) -> Tensor:
    """The critic's hinge loss over the weighted patches.

    Args:
        real_score: ``B x 1 x h x w`` scores of real images.
        fake_score: ``B x 1 x h x w`` scores of filled images.
        weight: ``B x 1 x h x w`` patch weights (:func:`patch_weights`).

    Returns:
        ``mean_w relu(1 - real) + mean_w relu(1 + fake)``.
    """
    real = _weighted(F.relu(1 - real_score), weight)
    return real + _weighted(F.relu(1 + fake_score), weight)


def fill_hinge_loss(fake_score: Tensor, weight: Tensor) -> Tensor:
    """The fill's (generator's) adversarial loss: minus the weighted mean score.

    Args:
        fake_score: ``B x 1 x h x w`` scores of filled images.
        weight: ``B x 1 x h x w`` patch weights (:func:`patch_weights`).

    Returns:
        A 0-d tensor (float32: the score is cast first, as it may come out of
        bf16 autocast).
    """
    return -_weighted(fake_score.float(), weight)


def critic_input(image: Tensor, hole: Tensor) -> Tensor:
    """The critic's input: the image and its hole mask as a last channel.

    Args:
        image: ``B x C x H x W``.
        hole: ``B x H x W`` boolean.

    Returns:
        ``B x (C + 1) x H x W``.
    """
    return torch.cat([image, hole[:, None].to(image.dtype)], 1)


def critic_loss(
    critic: nn.Module, real: Tensor, fake: Tensor, hole: Tensor
) -> tuple[Tensor, Tensor]:
    """The critic's hinge loss, over the patches that touch the hole.

    Args:
        critic: maps ``B x (C + 1) x H x W`` to ``B x 1 x h x w`` scores.
        real: ``B x C x H x W`` real images.
        fake: ``B x C x H x W`` filled images (detached here, so only the critic
            learns from this loss).
        hole: ``B x H x W`` boolean.

    Returns:
        The loss and the patches' weights (1 where a patch touches the hole) for
        :func:`fill_loss`.
    """
    d_real = critic(critic_input(real, hole))
    d_fake = critic(critic_input(fake.detach(), hole))
    weight = patch_weights(hole, d_real.shape).to(real.dtype)
    return critic_hinge_loss(d_real, d_fake, weight), weight


def fill_loss(critic: nn.Module, fake: Tensor, hole: Tensor, weight: Tensor) -> Tensor:
    """The fill's adversarial loss: minus the critic's score on the hole's patches.

    Args:
        critic: the patch critic (as in :func:`critic_loss`).
        fake: ``B x C x H x W`` filled images (gradients reach the inpainter).
        hole: ``B x H x W`` boolean.
        weight: the patch weights :func:`critic_loss` returned.

    Returns:
        A 0-d float32 tensor.
    """
    return fill_hinge_loss(critic(critic_input(fake, hole)), weight)
