"""The patch critic of the inpainters' adversarial term."""

from __future__ import annotations

import itertools

from torch import nn


def patch_critic(bands: int, width: int = 32) -> nn.Sequential:
    """A spectrally normalised patch critic of an image and its hole mask.

    One score per patch of about 70 pixels (the SN-PatchGAN of free-form
    inpainting): it judges whether the hole's content reads as the real structure.
    Four 4 x 4 convolutions (strides 2, 2, 2, 1; widths *width*, 2, 4 and 4 times
    *width*, each followed by a leaky ReLU of slope 0.2) and a last 4 x 4 convolution
    to one channel, all spectrally normalised.

    Args:
        bands: image bands (the input has ``bands + 1`` channels: the hole mask is
            the last one, see :func:`~torchgeo_csia.losses.critic_input`).
        width: channels of the first layer.

    Returns:
        The critic: ``B x (bands + 1) x H x W`` to ``B x 1 x h x w`` scores.

    .. versionadded:: 0.1
    """
    sn = nn.utils.parametrizations.spectral_norm
    chans = (bands + 1, width, 2 * width, 4 * width, 4 * width)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(chans)):
        layers += [sn(nn.Conv2d(a, b, 4, 2 if i < 3 else 1, 1)), nn.LeakyReLU(0.2)]
    layers.append(sn(nn.Conv2d(chans[-1], 1, 4, 1, 1)))
    return nn.Sequential(*layers)
