"""Whole SPARCS scenes in memory, and the crops the measures draw from them.

The measures (:mod:`.realism`, :mod:`.reach`, :mod:`.inpainters`) score a few
hundred crops, chosen by class share or at random, and the realism measure scores
whole scenes too. The scenes are those the native-grid training reads: each on its
own grid, decoded once and kept
(:class:`~torchgeo_csia.datamodules.sparcs.SPARCSCrops`); crops are drawn by the
same samplers (:class:`~torchgeo_csia.samplers.SceneShareSampler`,
:class:`~torchgeo_csia.datamodules.sparcs.SceneCropSampler`), so those draws are
cheap and the same on every machine. What is the measures' own is here: scenes
picked by split, and crops stacked and normalised on a device.

.. versionadded:: 0.1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import kornia.augmentation as K
import torch
from torch import Tensor, nn
from torchgeo.datasets.utils import stack_samples

from ..constants import NORMALIZATION
from ..datamodules.sparcs import (
    SceneCropSampler,
    SPARCSCrops,
    SPARCSDataModule,
    SPARCSScenes,
)
from ..datasets import SPARCS
from ..samplers import SceneShareSampler

#: a crop: scene number, top and left pixel
Site = tuple[int, int, int]


class Scenes:
    """SPARCS scenes, whole, with their labels and sun geometry, for the measures.

    Scenes stay on the CPU as :class:`SPARCSCrops` keeps them; whole scenes
    (:meth:`scene`) and batches of crops (:meth:`batch`) come normalised for the
    networks (:data:`~torchgeo_csia.constants.NORMALIZATION`) on *device*.

    Args:
        crops: the decoded scenes, labels in the ``csia`` scheme.
        image: their image type, ``'photo'`` or ``'data'``.
        device: where scenes and batches go.
    """

    def __init__(
        self, crops: SPARCSCrops, image: str, device: str | torch.device = 'cpu'
    ) -> None:
        self.crops = crops
        self.image = image
        self.device = torch.device(device)

    @property
    def ids(self) -> list[str]:
        """Scene ids, in scene order."""
        return self.crops.scenes

    @property
    def labels(self) -> list[Tensor]:
        """Each scene's ``H x W`` labels (on the CPU, ``uint8``)."""
        return self.crops.masks

    @property
    def bands(self) -> int:
        """Bands of the images."""
        return int(self.crops.images[0].shape[0])

    def split(self, *names: str) -> list[int]:
        """Indices of the scenes in the named splits (:meth:`SPARCS.split_of`).

        Args:
            *names: ``'train'``, ``'val'``, ``'test'``.

        Returns:
            The indices, in scene order.
        """
        return [i for i, s in enumerate(self.ids) if SPARCS.split_of(s) in names]

    def crop_size(self, size: int) -> int:
        """*size*, or less where a scene is smaller: crops of it fit every scene."""
        return min(size, *(d for shape in self.crops.shapes for d in shape))

    def _normalised(self, image: Tensor) -> Tensor:
        mean, std = NORMALIZATION[self.image]
        return (image.to(self.device).float() - mean) / std

    def scene(self, s: int) -> tuple[Tensor, Tensor]:
        """Scene *s*, whole: its normalised ``C x H x W`` image and long labels.

        Args:
            s: scene number.

        Returns:
            The image and labels, on the device.
        """
        image = self._normalised(self.crops.images[s])
        return image, self.labels[s].to(self.device).long()

    def batch(self, sites: Sequence[Site], size: int) -> dict[str, Tensor]:
        """A TorchGeo-style batch of the crops at *sites*, normalised, on the device.

        Args:
            sites: ``(scene, top, left)`` of each crop (at least one).
            size: crop size (px).

        Returns:
            ``image``, ``mask``, ``sun_azimuth`` and ``sun_elevation``.
        """
        crops = self.crops.with_size(size)
        batch = stack_samples([crops[site] for site in sites])
        out = {k: v.to(self.device) for k, v in batch.items()}
        out['image'] = self._normalised(out['image'])
        return out

    def share_sites(
        self,
        ids: Sequence[int],
        cls: int,
        size: int,
        share: tuple[float, float],
        count: int,
        seed: int,
    ) -> list[Site]:
        """Up to *count* distinct crops of some scenes holding *share* of a class.

        Drawn, seeded, by :class:`~torchgeo_csia.samplers.SceneShareSampler` (corners
        every 16 px, no crop holding nodata).

        Args:
            ids: the scenes searched.
            cls: the class index.
            size: crop size (px).
            share: least and most share of *cls* in a crop.
            count: most crops.
            seed: seed of the draw.

        Returns:
            ``(scene, top, left)`` of each crop.

        Raises:
            ValueError: If *share* is no range within [0, 1] or no crop qualifies.
        """
        sampler = SceneShareSampler(
            [self.labels[s] for s in ids],
            size=size,
            cls=cls,
            share=share,
            length=count,
            replacement=False,
            fixed=True,
            generator=seed,
        )
        return [(ids[s], top, left) for s, top, left in sampler]

    def random_sites(
        self, ids: Sequence[int], count: int, size: int, seed: int
    ) -> list[Site]:
        """Random crops of some scenes: each scene equally likely, anywhere in it.

        Drawn, seeded, by
        :class:`~torchgeo_csia.datamodules.sparcs.SceneCropSampler`, as the
        native-grid training draws its crops.

        Args:
            ids: the scenes drawn from.
            count: crops drawn.
            size: crop size (px).
            seed: seed of the draw.

        Returns:
            ``(scene, top, left)`` of each crop.
        """
        shapes = self.crops.shapes
        sampler = SceneCropSampler([shapes[s] for s in ids], (size, size), count, seed)
        return [(ids[s], top, left) for s, top, left in sampler]


def load_scenes(
    root: str,
    image: Literal['data', 'photo'] = 'photo',
    device: str | torch.device = 'cpu',
) -> Scenes:
    """Read every SPARCS scene under *root*, each whole on its own grid.

    Args:
        root: a SPARCS folder (either layout).
        image: ``'photo'`` (3-band quicklooks) or ``'data'`` (10 bands).
        device: where scenes and batches go.

    Returns:
        The scenes, labels in the ``csia`` scheme.
    """
    whole = SPARCSScenes(SPARCS(root, split='all', image=image, classes='csia'))
    # crops of any size: each draw sets its own (SPARCSCrops.with_size)
    return Scenes(SPARCSCrops(whole, 1), image, device)


def training_batches(
    root: str,
    batches: int,
    batch_size: int = 32,
    patch_size: int = 256,
    seed: int = 0,
) -> tuple[list[dict[str, Tensor]], nn.Module]:
    """Training batches as the shipped recipe draws them, and its normalisation.

    The crops of :class:`~torchgeo_csia.datamodules.SPARCSDataModule` (native grids,
    the ``photo`` images, the ``csia`` classes), before any batch augmentation.

    Args:
        root: a SPARCS folder.
        batches: how many batches.
        batch_size: crops per batch.
        patch_size: crop size (px).
        seed: seeds the crops drawn.

    Returns:
        The batches, and the normalisation the datamodule runs first on them.
    """
    torch.manual_seed(seed)
    dm = SPARCSDataModule(
        batch_size=batch_size,
        patch_size=patch_size,
        length=batch_size * batches,
        grid='native',
        paths=root,
        image='photo',
        classes='csia',
    )
    dm.setup('fit')
    return list(dm.train_dataloader()), K.Normalize(mean=dm.mean, std=dm.std)
