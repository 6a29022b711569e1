"""
Pretrained weights through ``torchgeo.models``
==============================================

After ``import torchgeo_csia`` TorchGeo's weights API knows the shipped inpainters
and segmenters: :func:`~torchgeo.models.list_models`,
:func:`~torchgeo.models.get_weight` and :func:`~torchgeo.models.get_model`. The files
ship with the package and load offline; each is checked against the sha256 prefix in
its name. Every weight's card is on the :doc:`/weights` page.
"""

import torch
from torchgeo.models import get_model, get_model_weights, get_weight, list_models

import torchgeo_csia  # noqa: F401  (registers the weights with TorchGeo)

print([name for name in list_models() if name.startswith('csia_')])
for name in ('csia_inpainter', 'csia_segmenter'):
    print(name, [w.name for w in get_model_weights(name)])

# %%
# A segmenter and its card
# ------------------------
# ``meta`` holds the card: data, bands, normalisation, the config that trained it
# and its scores (IoU over whole held-out scenes).
weights = get_weight('CSIASegmenter_Weights.CSIA_SPARCS_PHOTO')
seg = get_model('csia_segmenter', weights=weights).eval()
meta = weights.meta
print(meta['dataset'], meta['image'], meta['bands'], meta['normalization'])
print('classes:', meta['classes'], '| config:', meta['config'])
for split in ('val', 'test'):
    iou = meta['scores'][split]
    print(split, {c: iou[c] for c in (*meta['classes'], 'mean')})

with torch.inference_mode():
    logits = seg(torch.rand(1, meta['in_chans'], 256, 256))
print(logits.shape)  # B x classes x H x W

# %%
# An inpainter, painting a cloud
# ------------------------------
# An inpainter fills a hole with its class; the CSIA modes call it for you. Here the
# cloud inpainter paints over a generated clear-ground patch, alone, to show its
# input and output.
import matplotlib.pyplot as plt
import numpy as np

from torchgeo_csia.datasets.synthetic import synthetic_data, synthetic_photo

cloud = get_model(
    'csia_inpainter', weights=get_weight('CSIAInpainter_Weights.CLOUD_SPARCS_PHOTO')
)
print(cloud.structure, cloud.mode, 'margin', cloud.margin, 'px')

rng = np.random.default_rng(0)
land = np.full((128, 128), 4, dtype=np.uint8)  # SPARCS code 4: land
photo = synthetic_photo(synthetic_data(rng, land))
image = torch.from_numpy(photo).float()[None] / 255
yy, xx = torch.meshgrid(torch.arange(128), torch.arange(128), indexing='ij')
hole = ((yy - 64) ** 2 + (xx - 60) ** 2 < 30**2)[None]
with torch.inference_mode():
    out = cloud(image, hole).clamp(0, 1)
painted = torch.where(hole[:, None], out, image)  # pasted inside the hole only

fig, axs = plt.subplots(1, 3, figsize=(9, 3.2))
for ax, (title, img) in zip(
    axs,
    [('ground', image), ('hole', hole[:, None].float()), ('painted', painted)],
    strict=True,
):
    ax.imshow(img[0].permute(1, 2, 0).squeeze().numpy(), cmap='gray', vmin=0, vmax=1)
    ax.set_title(title)
    ax.axis('off')
fig.tight_layout()
