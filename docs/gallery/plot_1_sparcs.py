"""
The SPARCS dataset
==================

:class:`~torchgeo_csia.datasets.sparcs.SPARCS` reads the SPARCS Landsat-8 cloud,
shadow and snow reference scenes as a TorchGeo
:class:`~torchgeo.datasets.GeoDataset`: patches come from any TorchGeo sampler and
:meth:`~torchgeo_csia.datasets.sparcs.SPARCS.plot` shows them.
"""

# %%
# Where the scenes are
# --------------------
# Pass the folder that holds the scenes: ``sending/`` of the USGS
# ``l8cloudmasks.zip``. Here: the real scenes when they lie beside this checkout,
# else a generated sample written in the same files (``_photo.png``, ``_mask.png``,
# ``_qmask.tif``, ``_mtl.txt``) into a temporary folder.
import os
import tempfile

import torch
from torchgeo.datasets import stack_samples

from torchgeo_csia.datasets import SPARCS
from torchgeo_csia.datasets.synthetic import real_or_sample, write_sample
from torchgeo_csia.samplers import SceneRandomSampler

# the real scenes where this machine has them, else a generated sample
root = real_or_sample(os.path.join('..', '..', '..', 'shared', 'data', 'sparcs'))

# %%
# The dataset, in the seven SPARCS classes
# ----------------------------------------
# The scenes span many UTM zones, so the dataset warps them to one CRS
# (EPSG:3857 by default, at 30 units a pixel). Each sample also carries the scene's
# sun azimuth and elevation, which CSIA uses to cast shadows away from the sun.
ds = SPARCS(root, classes='sparcs')
print(f'{len(ds.index)} scenes, CRS {ds.crs}, {ds.res} units per pixel')
splits = [ds.split_of(scene) for scene in ds.index.scene]
print({split: splits.count(split) for split in ds.split_fractions})

torch.manual_seed(0)
sampler = SceneRandomSampler(ds, size=256, length=2, generator=0)
sample = ds[next(iter(sampler))]
print({k: tuple(v.shape) for k, v in sample.items()})
print(
    f'sun azimuth {sample["sun_azimuth"]:.1f}, elevation {sample["sun_elevation"]:.1f}'
)
fig = ds.plot(sample, suptitle="classes='sparcs'")

# %%
# The same scenes in the CSIA scheme
# ----------------------------------
# ``classes='csia'`` folds the seven codes into the four classes CSIA paints:
# background (water, land, flooded), shadow (both shadow codes), snow and cloud.
# Pixels outside every scene are 255 in both schemes (hatched).
ds_csia = SPARCS(root, classes='csia')
batch = stack_samples([ds_csia[query] for query in sampler])
print(batch['image'].shape, batch['mask'].unique().tolist())
fig = ds_csia.plot(
    {'image': batch['image'][0], 'mask': batch['mask'][0]}, suptitle="classes='csia'"
)

# %%
# The Oregon State layout
# -----------------------
# The other public release (``sparcs_data_L8.zip``) stores the labels as a
# georeferenced ``_labels.tif``; the dataset reads either layout the same way.
osu = os.path.join(tempfile.mkdtemp(), 'sparcs_osu')
write_sample(osu, count=2, size=256, layout='osu')
print(sorted(os.listdir(osu))[:5])
ds_osu = SPARCS(osu, classes='csia')
print(len(ds_osu.index), 'scenes from _labels.tif')
