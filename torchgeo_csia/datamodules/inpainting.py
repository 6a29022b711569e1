"""SPARCS crops for training CSIA inpainters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import torch
from torch.utils.data import DataLoader, Dataset, Sampler
from torchgeo.datamodules import GeoDataModule
from torchgeo.datasets import GeoDataset
from torchgeo.datasets.utils import Sample

from ..constants import BACKGROUND, CLASS_INDEX, STRUCTURES
from ..datasets import SPARCS
from ..samplers import ClassShareSampler, SceneShareSampler
from .sparcs import SPARCSCrops, SPARCSDataModule, SPARCSScenes

#: a patch as the samplers yield it: ``(x, y)`` slices (geo samplers) or
#: ``(scene, top, left)`` pixels (crops of whole scenes)
Patch = tuple[slice, slice] | tuple[int, int, int]


class _WithGround(Dataset[Sample]):
    """A dataset indexed by pairs of patches: the first's sample, and ``ground``.

    ``ground`` is the image of the second patch: the clear ground that the task
    moves the first patch's structure onto.
    """

    def __init__(self, dataset: GeoDataset | SPARCSCrops) -> None:
        self.dataset = dataset

    def __getitem__(self, index: tuple[Any, Any]) -> Sample:
        sample = self.dataset[index[0]]
        sample['ground'] = self.dataset[index[1]]['image']
        return sample


class _Pairs(Sampler[tuple[Patch, Patch]]):
    """Zip two samplers (structures and ground), as long as the first."""

    def __init__(
        self,
        first: ClassShareSampler | SceneShareSampler,
        second: ClassShareSampler | SceneShareSampler,
    ) -> None:
        self.first, self.second = first, second

    def __iter__(self) -> Iterator[tuple[Patch, Patch]]:
        ground = iter(())  # type: Iterator[Patch]
        for patch in self.first:
            # the ground sampler may be shorter: start it again when it runs out
            nxt = next(ground, None)
            if nxt is None:
                ground = iter(self.second)
                nxt = next(ground)
            yield patch, nxt

    def __len__(self) -> int:
        return len(self.first)


class SPARCSInpaintingDataModule(SPARCSDataModule):
    """SPARCS crops that hold one structure class, for :class:`InpaintingTask`.

    Training draws crops whose share of the *structure* class lies in *share*
    (:class:`~torchgeo_csia.samplers.ClassShareSampler` on the ``train`` scenes);
    validation and test draw *val_length* such crops of the ``val`` and ``test``
    scenes, the same ones every epoch (seeded, without replacement). With *ground*,
    each training sample also carries ``ground``: the image of a crop of a training
    scene that is at least *ground* background, onto which the task moves the
    structure (``swap``).

    Batch augmentations, on the device: normalisation for the image type
    (:data:`~torchgeo_csia.datamodules.NORMALIZATION`, ``ground`` too), then, for
    training, those of :class:`SPARCSDataModule`: random horizontal and vertical
    flips and, with *rot90* (the default here), a random quarter turn, per sample:
    the eight orientations that the first inpainter trainer drew with its flips and
    transposes. ``ground`` is not flipped (it is an independent random crop).
    Test batches are crops too (not whole scenes as in :class:`SPARCSDataModule`).
    With ``grid='native'`` the crops are those of whole scenes on their own grids,
    kept in memory (:class:`~torchgeo_csia.datamodules.sparcs.SPARCSCrops`), drawn
    by :class:`~torchgeo_csia.samplers.SceneShareSampler`: the pixels the first
    inpainter trainer learnt from.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        structure: str = 'cloud',
        share: tuple[float, float] = (0.03, 0.7),
        ground: float | None = None,
        stride: int = 16,
        weighted: bool = False,
        val_length: int = 256,
        val_seed: int = 1234,
        rot90: bool = True,
        batch_size: int = 32,
        patch_size: int | tuple[int, int] = 256,
        length: int | None = None,
        num_workers: int = 0,
        **kwargs: Any,
    ) -> None:
        """Initialize a new SPARCSInpaintingDataModule instance.

        Args:
            structure: ``'cloud'``, ``'shadow'`` or ``'snow'``: the class the
                inpainter learns to paint.
            share: ``(low, high)`` share of the crop's pixels that are *structure*.
            ground: least background share of the ``ground`` crops (e.g. 0.95, as
                the swap stage of the shipped cloud inpainter); ``None``: no
                ``ground`` key.
            stride: step in pixels between candidate crops.
            weighted: draw training crops in proportion to their share of the class.
            val_length: crops per validation and test epoch.
            val_seed: seed of the validation and test crops.
            rot90: rotate training crops by a quarter turn with probability 0.5
                after the flips (see :class:`SPARCSDataModule`; needs square
                patches).
            batch_size: Size of each mini-batch.
            patch_size: Size of each patch, either ``size`` or ``(height, width)``.
            length: Length of each training epoch (patches; default: the number of
                candidate crops).
            num_workers: Number of workers for parallel data loading.
            **kwargs: passed to :class:`~torchgeo_csia.datasets.SPARCS` (``paths``,
                ``image``, ``bands``, ``crs``, ``res``, ...); ``classes`` must be
                ``'csia'`` (the default here).

        Raises:
            ValueError: If *structure* is not a structure class, *classes* is not
                ``'csia'``, or *test_splits* is given (the test crops are those of
                the test scenes), or as :class:`SPARCSDataModule` raises.
        """
        if structure not in STRUCTURES:
            raise ValueError(
                f'structure must be one of {list(STRUCTURES)}, got {structure!r}'
            )
        if kwargs.setdefault('classes', 'csia') != 'csia':
            raise ValueError(
                "SPARCSInpaintingDataModule needs classes='csia' (the structure "
                f'classes are those of the csia scheme), got {kwargs["classes"]!r}'
            )
        if tuple(kwargs.get('test_splits', ('test',))) != ('test',):
            # one dataset per split: the test crops come from the test scenes
            raise ValueError('SPARCSInpaintingDataModule tests on the test split only')
        super().__init__(
            batch_size=batch_size,
            patch_size=patch_size,
            length=length,
            num_workers=num_workers,
            rot90=rot90,
            **kwargs,
        )
        self.structure = structure
        self.cls = CLASS_INDEX[structure]
        self.share = (float(share[0]), float(share[1]))
        self.ground = ground
        self.stride = stride
        self.weighted = weighted
        self.val_length = val_length
        self.val_seed = val_seed

    def _sampler(
        self, dataset: GeoDataset | SPARCSCrops, **kwargs: Any
    ) -> ClassShareSampler | SceneShareSampler:
        """Patches of *dataset* by their share of the structure (or as *kwargs* say).

        :class:`~torchgeo_csia.samplers.SceneShareSampler` for crops of whole
        scenes, :class:`~torchgeo_csia.samplers.ClassShareSampler` for a dataset.
        """
        args: dict[str, Any] = {
            'cls': self.cls,
            'share': self.share,
            'stride': self.stride,
        } | kwargs
        if isinstance(dataset, SPARCSCrops):
            return SceneShareSampler(dataset.masks, size=dataset.size, **args)
        return ClassShareSampler(dataset, size=self.patch_size, **args)

    def setup(self, stage: str) -> None:
        """Set up datasets and samplers.

        With ``grid='native'``, crops of whole scenes on their own grids
        (:class:`SPARCSCrops`); else patches of the dataset's grid.

        Args:
            stage: Either 'fit', 'validate', 'test', or 'predict'.
        """
        native = self.grid == 'native'
        everything = SPARCS(split='all', **self.kwargs) if native else None

        def data(split: Literal['train', 'val', 'test']) -> GeoDataset | SPARCSCrops:
            if everything is not None:
                return SPARCSCrops(
                    SPARCSScenes(everything, [split]), self.patch_size, compact=True
                )
            return SPARCS(split=split, **self.kwargs)

        if stage == 'fit':
            self._set_train(data('train'))
        split: Literal['val', 'test'] = 'test'
        if stage in ('fit', 'validate'):
            split = 'val'
        held_out = data(split)
        # the same patches every epoch
        fixed = self._sampler(
            held_out,
            length=self.val_length,
            replacement=False,
            fixed=True,
            generator=self.val_seed,
        )
        setattr(self, f'{split}_dataset', held_out)
        setattr(self, f'{split}_sampler', fixed)

    def _set_train(self, dataset: GeoDataset | SPARCSCrops) -> None:
        """Training patches of *dataset*, with clear ground if asked for."""
        # seeded from torch (seed_everything), so every DDP rank draws the same
        # list and Lightning's distributed wrapper hands each rank its own part
        seed = int(torch.initial_seed())
        sampler = self._sampler(
            dataset, length=self.length, weighted=self.weighted, generator=seed
        )
        if self.ground is None:
            self.train_dataset = dataset
            self.train_sampler = sampler  # type: ignore[assignment]
            return
        clear = self._sampler(
            dataset,
            cls=BACKGROUND,
            share=(self.ground, 1.0),
            length=len(sampler),
            generator=seed + 1,
        )
        self.train_dataset = _WithGround(dataset)
        # yields pairs of patches, which _WithGround takes; GeoDataModule hands
        # any sampler to its DataLoader
        self.train_sampler = _Pairs(sampler, clear)  # type: ignore[assignment]

    def test_dataloader(self) -> DataLoader[Sample]:
        """Crops of the test scenes (TorchGeo's loader, not whole scenes).

        Returns:
            The test loader.
        """
        return GeoDataModule.test_dataloader(self)

    def predict_dataloader(self) -> DataLoader[Sample]:
        """The test crops, to repaint.

        Returns:
            The predict loader.
        """
        return GeoDataModule.test_dataloader(self)

    def on_after_batch_transfer(self, batch: Sample, dataloader_idx: int) -> Sample:
        """Apply batch augmentations after the batch is transferred to the device.

        Args:
            batch: A batch of data that needs to be altered or augmented.
            dataloader_idx: The index of the dataloader to which the batch belongs.

        Returns:
            A batch of data.
        """
        ground = batch.pop('ground', None)
        batch = super().on_after_batch_transfer(batch, dataloader_idx)
        if ground is not None:
            # normalised as the image; Kornia does not know the key
            ground = ground.float()  # compact crops arrive as uint8
            mean, std = self.mean.to(ground), self.std.to(ground)
            batch['ground'] = (ground - mean) / std
        return batch
