"""
Each CSIA mode, before and after
================================

The six modes of CSIA and the no-network control, each run at ``p=1`` on one batch
of SPARCS training patches with the shipped inpainters and the shipped bank of real
cloud, shadow and snow shapes, on at most three patches a mode (``max_selected=3``:
these pages are built on a CPU). Each figure shows the patches the mode changed:
image and mask before (rows 1-2) and after (rows 3-4), both images of a column at one
intensity scale (the before image's 1st-99th percentiles), inserted structures
outlined in red.
"""

# %%
# A batch of training patches
# ---------------------------
# Quicklooks are normalised to [0, 1] (``photo / 255``), the inpainters' value range,
# as :class:`~torchgeo_csia.datamodules.sparcs.SPARCSDataModule` does before CSIA.
import os

import torch
from torchgeo.datasets import stack_samples

from torchgeo_csia.datamodules.sparcs import BatchAugmentation
from torchgeo_csia.datasets import SPARCS
from torchgeo_csia.datasets.synthetic import real_or_sample
from torchgeo_csia.experiments.demo import demo_figure
from torchgeo_csia.samplers import SceneRandomSampler
from torchgeo_csia.transforms import (
    RandomCloudShadow,
    RandomCopyPaste,
    RandomShadowForClouds,
    RandomSnow,
    RandomTransplant,
)

# the real scenes where this machine has them, else a generated sample
root = real_or_sample(os.path.join('..', '..', '..', 'shared', 'data', 'sparcs'))

ds = SPARCS(root, classes='csia', split='train')
torch.manual_seed(0)
sampler = SceneRandomSampler(ds, size=256, length=16, generator=0)
batch = stack_samples([ds[query] for query in sampler])
batch['image'] = batch['image'] / 255
print(batch['image'].shape)


def show(aug, title):
    """Run one mode on the batch; draw the patches it changed."""
    after = BatchAugmentation(aug)(dict(batch))  # hands it each sample's sun
    params = aug.last_params
    changed = params['indices'][params['valid']]
    print(f'{title}: {int(params["eligible"].sum())} of 16 patches eligible')
    pick = {k: batch[k][changed] for k in ('image', 'mask')}
    done = {k: after[k][changed] for k in ('image', 'mask')}
    fig = demo_figure(pick, done, ['' for _ in changed], [[title]] * len(changed))
    fig.suptitle(title)
    return fig


# %%
# Mode 1: cloud and shadow into label-free patches
# ------------------------------------------------
# ``min_free=0.25``, as the shipped recipe: a patch qualifies when a quarter of it is
# background; the shadow is cast away from the scene's sun from a random cloud height.
cloud_shadow = {'p': 1.0, 'max_selected': 3, 'min_free': 0.25, 'source': 'sparcs'}
fig = show(
    RandomCloudShadow('CLOUD_SPARCS_PHOTO', 'SHADOW_SPARCS_PHOTO', **cloud_shadow),
    'mode 1: cloud + shadow',
)

# %%
# Mode 2: cloud and shadow into background-or-snow patches
# --------------------------------------------------------
# Snow under the new cloud and shadow is relabelled; all else as in mode 1.
fig = show(
    RandomCloudShadow(
        'CLOUD_SPARCS_PHOTO',
        'SHADOW_SPARCS_PHOTO',
        allowed=('background', 'snow'),
        **cloud_shadow,
    ),
    'mode 2: cloud + shadow, over snow too',
)

# %%
# Mode 3: snow into label-free patches
# ------------------------------------
fig = show(
    RandomSnow(
        'SNOW_SPARCS_PHOTO', p=1.0, max_selected=3, min_free=0.25, source='sparcs'
    ),
    'mode 3: snow',
)

# %%
# Mode 4: snow into the background of any patch
# ---------------------------------------------
fig = show(
    RandomSnow(
        'SNOW_SPARCS_PHOTO', p=1.0, max_selected=3, min_free=0.0, source='sparcs'
    ),
    'mode 4: snow into any background',
)

# %%
# Mode 5: a shadow for existing clouds
# ------------------------------------
# The patch's own cloud mask, projected away from the sun, is painted as shadow.
fig = show(
    RandomShadowForClouds('SHADOW_SPARCS_PHOTO', p=1.0, max_selected=3),
    'mode 5: shadow for clouds',
)

# %%
# Mode 6: copy-paste of a class's own pixels
# ------------------------------------------
# No network: the patch's cloud pixels, shifted.
fig = show(
    RandomCopyPaste('cloud', p=1.0, max_selected=3), 'mode 6: copy-paste of cloud'
)

# %%
# The control: real structures moved in
# -------------------------------------
# No network either: a real cloud and its shadow from another patch of the batch,
# moved onto a free patch where they were. What painted structures add over moved
# real ones is what this control measures.
fig = show(
    RandomTransplant('cloud_shadow', p=1.0, max_selected=3, min_free=0.25),
    'control: real cloud + shadow moved in',
)
