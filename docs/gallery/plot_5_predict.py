"""
Predicting a scene with the shipped segmenters
==============================================

The BASE and CSIA segmenters (U-Net++, 3-band quicklooks) label a whole held-out
scene on its own grid, tile by tile
(:func:`~torchgeo_csia.tasks.segmentation.sliding_window`: 512 px tiles overlapping
by 64 px, as they were scored).
"""

import os

import matplotlib.pyplot as plt
import torch
from torchgeo.models import get_model, get_weight

import torchgeo_csia  # noqa: F401  (registers the weights with TorchGeo)
from torchgeo_csia.datamodules.sparcs import SPARCSScenes
from torchgeo_csia.datasets import SPARCS
from torchgeo_csia.datasets.synthetic import real_or_sample
from torchgeo_csia.tasks.segmentation import sliding_window

# the real scenes where this machine has them, else a generated sample
root = real_or_sample(os.path.join('..', '..', '..', 'shared', 'data', 'sparcs'))

# %%
# One test scene, whole
# ---------------------
# :class:`~torchgeo_csia.datamodules.sparcs.SPARCSScenes` reads each scene on the
# grid it was labelled on (no warping, no nodata corners).
ds = SPARCS(root, classes='csia')
scenes = SPARCSScenes(ds, splits=['test'])
scene = scenes[0]
image = scene['image'][None].float() / 255  # the weights' normalisation: photo / 255
print(scenes.scenes[0], tuple(image.shape))

# %%
# BASE and CSIA, side by side
# ---------------------------
panels = {'image': None, 'truth': scene['mask']}
for variant in ('BASE', 'CSIA'):
    weights = get_weight(f'CSIASegmenter_Weights.{variant}_SPARCS_PHOTO')
    model = get_model('csia_segmenter', weights=weights).eval()
    with torch.inference_mode():
        panels[variant] = sliding_window(model, image).argmax(1)[0]

fig, axs = plt.subplots(1, 4, figsize=(14, 4))
for ax, (title, mask) in zip(axs, panels.items(), strict=True):
    if mask is None:
        ax.imshow(image[0].permute(1, 2, 0).numpy())
    else:
        SPARCS.plot_mask(ax, mask, 'csia')
    ax.set_title(title)
    ax.axis('off')
fig.legend(handles=SPARCS.legend_handles('csia'), loc='lower center', ncol=5)
fig.tight_layout(rect=(0, 0.08, 1, 1))

# %%
# Agreement with the labels on this scene (pixel accuracy; the weights page gives
# each segmenter's IoU over all held-out scenes).
valid = scene['mask'] != 255
for variant in ('BASE', 'CSIA'):
    hits = (panels[variant] == scene['mask'])[valid].float().mean()
    print(f'{variant}: {hits:.3f} of labelled pixels')
