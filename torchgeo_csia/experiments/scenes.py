"""Whole SPARCS scenes in memory, and the crops the measures draw from them.

The measures (:mod:`.realism`, :mod:`.reach`, :mod:`.inpainters`) score a few
hundred crops chosen by class share, and the realism measure scores whole scenes
too; holding the scenes once, each on its own grid as
:class:`~torchgeo_csia.datamodules.sparcs.SPARCSScenes` reads them, makes those draws
cheap and the same on every machine.

.. versionadded:: 0.1
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from ..constants import NORMALIZATION
from ..datamodules.sparcs import SPARCSScenes
from ..datasets import SPARCS

#: step in pixels between candidate crop corners (:func:`crop_sites`)
STRIDE = 16


@dataclass
class Scenes:
    """SPARCS scenes, whole, normalised, with their labels and sun geometry.

    Attributes:
        images: per scene, ``C x H x W`` float, normalised for the networks
            (:data:`~torchgeo_csia.constants.NORMALIZATION`).
        labels: per scene, ``H x W`` long class indices of the ``csia`` scheme.
        sun: ``N x 2`` sun azimuth and elevation (degrees) of each scene.
        ids: scene ids.
        image: the image type, ``'photo'`` or ``'data'``.
    """

    images: list[Tensor]
    labels: list[Tensor]
    sun: Tensor
    ids: list[str]
    image: str

    @property
    def bands(self) -> int:
        """Bands of the images."""
        return int(self.images[0].shape[0])

    def split(self, *names: str) -> list[int]:
        """Indices of the scenes in the named splits (:meth:`SPARCS.split_of`).

        Args:
            *names: ``'train'``, ``'val'``, ``'test'``.

        Returns:
            The indices, in scene order.
        """
        return [i for i, s in enumerate(self.ids) if SPARCS.split_of(s) in names]


def load_scenes(
    root: str,
    image: Literal['data', 'photo'] = 'photo',
    device: str | torch.device = 'cpu',
) -> Scenes:
    """Read every SPARCS scene under *root*, each whole on its own grid.

    Args:
        root: a SPARCS folder (either layout).
        image: ``'photo'`` (3-band quicklooks) or ``'data'`` (10 bands).
        device: where the tensors go.

    Returns:
        The scenes, labels in the ``csia`` scheme.
    """
    whole = SPARCSScenes(SPARCS(root, split='all', image=image, classes='csia'))
    mean, std = NORMALIZATION[image]
    images, labels, sun = [], [], []
    for i in range(len(whole)):
        sample = whole[i]
        images.append(((sample['image'] - mean) / std).to(device))
        labels.append(sample['mask'].long().to(device))
        sun.append([float(sample['sun_azimuth']), float(sample['sun_elevation'])])
    return Scenes(images, labels, torch.tensor(sun, device=device), whole.scenes, image)


def _share_map(labels: Tensor, cls: int, size: int) -> Tensor:
    """The class's share in each ``size`` crop of one scene, corners every STRIDE."""
    m = (labels == cls).float()[None, None]
    return F.avg_pool2d(m, size, stride=STRIDE)[0, 0]


def crop_sites(
    scenes: Scenes,
    ids: list[int],
    cls: int,
    size: int,
    share: tuple[float, float],
) -> Tensor:
    """The crops of some scenes whose share of a class lies in a range.

    Args:
        scenes: the scenes.
        ids: indices of the scenes to search.
        cls: the class index.
        size: crop size (px).
        share: least and most share of *cls* in a crop.

    Returns:
        ``K x 3`` long (scene, row, col) of the crops' top-left corners, on a grid
        of :data:`STRIDE` pixels.
    """
    sites = []
    for s in ids:
        frac = _share_map(scenes.labels[s], cls, size)
        ok = torch.nonzero((frac >= share[0]) & (frac <= share[1]))
        sites.append(torch.cat([torch.full_like(ok[:, :1], s), ok * STRIDE], 1))
    return torch.cat(sites).cpu() if sites else torch.zeros(0, 3, dtype=torch.long)


def pick(sites: Tensor, count: int, seed: int) -> Tensor:
    """Up to *count* of *sites*, drawn without replacement, seeded.

    Args:
        sites: ``K x 3`` from :func:`crop_sites`.
        count: most sites kept.
        seed: seed of the draw.

    Returns:
        The sites kept (on the CPU).
    """
    g = torch.Generator().manual_seed(seed)
    sites = sites.cpu()
    return sites[torch.randperm(len(sites), generator=g)[:count]]


def crops(scenes: Scenes, sites: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """Images and labels of the crops at *sites*.

    Args:
        scenes: the scenes.
        sites: ``K x 3`` (scene, row, col).
        size: crop size (px).

    Returns:
        ``K x C x size x size`` images and ``K x size x size`` labels.
    """
    rows = sites.tolist()
    imgs = [scenes.images[s][:, y : y + size, x : x + size] for s, y, x in rows]
    labs = [scenes.labels[s][y : y + size, x : x + size] for s, y, x in rows]
    return torch.stack(imgs), torch.stack(labs)


def crop_batch(scenes: Scenes, sites: Tensor, size: int) -> dict[str, Tensor]:
    """A TorchGeo-style batch of the crops at *sites*, with each scene's sun.

    Args:
        scenes: the scenes.
        sites: ``K x 3`` (scene, row, col).
        size: crop size (px).

    Returns:
        ``image``, ``mask``, ``sun_azimuth`` and ``sun_elevation``.
    """
    image, labels = crops(scenes, sites, size)
    sun = scenes.sun[sites[:, 0].to(scenes.sun.device)]
    return {
        'image': image,
        'mask': labels,
        'sun_azimuth': sun[:, 0],
        'sun_elevation': sun[:, 1],
    }


def random_sites(
    scenes: Scenes, ids: list[int], count: int, size: int, generator: torch.Generator
) -> Tensor:
    """Random crops of some scenes: each scene equally likely, anywhere in it.

    Args:
        scenes: the scenes.
        ids: indices of the scenes to draw from.
        count: crops drawn.
        size: crop size (px).
        generator: the random stream.

    Returns:
        ``count x 3`` (scene, row, col).
    """
    scene = torch.tensor(ids)[torch.randint(len(ids), (count,), generator=generator)]
    room = torch.tensor(
        [[d - size + 1 for d in scenes.labels[s].shape] for s in scene.tolist()]
    ).reshape(-1, 2)
    corner = (torch.rand(count, 2, generator=generator) * room).long()
    return torch.cat([scene[:, None], corner], 1)
