"""Losses of the CSIA inpainters (pure tensor functions)."""

from .inpainting import (
    critic_hinge_loss,
    critic_input,
    critic_loss,
    fill_hinge_loss,
    fill_loss,
    gradient_l1,
    hole_l1,
    patch_weights,
    texture_ratio,
    texture_sums,
)

__all__ = (
    'critic_hinge_loss',
    'critic_input',
    'critic_loss',
    'fill_hinge_loss',
    'fill_loss',
    'gradient_l1',
    'hole_l1',
    'patch_weights',
    'texture_ratio',
    'texture_sums',
)
