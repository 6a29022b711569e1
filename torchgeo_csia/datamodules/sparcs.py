"""SPARCS datamodule."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import kornia.augmentation as K
import torch
import torch.distributed as dist
from torch import nn
from torchgeo.datamodules import GeoDataModule
from torchgeo.datasets.utils import Sample

from ..datasets import SPARCS
from ..samplers import SceneGriddedSampler, SceneRandomSampler
from ..transforms import sun_geometry

#: Per image type: (mean, std) that :class:`kornia.augmentation.Normalize` applies.
#: ``data``: raw counts to top-of-atmosphere reflectance (DN * 2e-5 - 0.1, the MTL
#: rescaling of Landsat-8 bands 1-9; the thermal bands get the same scale).
#: ``photo``: 8-bit quicklook to [0, 1].
NORMALIZATION: dict[str, tuple[float, float]] = {
    'data': (5000.0, 50000.0),
    'photo': (0.0, 255.0),
}


@contextlib.contextmanager
def _rank_stream(calls: int, device: torch.device) -> Iterator[None]:
    """Under DDP, a random stream of this rank's own for the augmentations.

    ``seed_everything`` gives every rank the same seed, so each would draw the same
    CSIA pattern (which samples, shapes, shifts) on its own patches. Inside, the
    generators are seeded from the run's seed, the rank and the call count, so the
    draws stay reproducible and independent of the loading workers; the training's
    own random stream is restored afterwards. Without DDP nothing changes.
    """
    if not (dist.is_available() and dist.is_initialized()):
        yield
        return
    rank, size = dist.get_rank(), dist.get_world_size()
    seed = (torch.initial_seed() * 1_000_003 + calls * size + rank) % 2**63
    cuda = [device] if device.type == 'cuda' else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


class _BatchAugmentation(nn.Module):
    """Kornia pipeline on TorchGeo batch dicts that follows the batch's device.

    The datamodule is no :class:`~torch.nn.Module`, so Lightning never moves its
    augmentations; those that hold networks (CSIA inpainters) are moved here, once
    per device, before they run. Kornia runs at most one mix augmentation (the CSIA
    classes are ones) per ``AugmentationSequential``, so each gets its own.
    """

    def __init__(self, *augs: nn.Module) -> None:
        super().__init__()
        self.calls = 0
        groups: list[list[nn.Module]] = []
        for aug in augs:
            mix = isinstance(aug, K.MixAugmentationBaseV2)
            if mix or not groups or isinstance(groups[-1][0], K.MixAugmentationBaseV2):
                groups.append([aug])
            else:
                groups[-1].append(aug)
        self.stages = nn.ModuleList(
            K.AugmentationSequential(
                *group,  # type: ignore[arg-type]
                data_keys=None,
                keepdim=True,
            )
            for group in groups
        )

    def forward(self, batch: Sample) -> Sample:
        device = batch['image'].device
        if any(p.device != device for p in self.parameters()) or any(
            b.device != device for b in self.buffers()
        ):
            self.to(device)
        self.calls += 1
        # Kornia hands the CSIA modules image and mask only; the sun comes this way
        sun = batch.get('sun_azimuth'), batch.get('sun_elevation')
        with _rank_stream(self.calls, device), sun_geometry(self, *sun):
            for stage in self.stages:
                batch = stage(batch)
        return batch


class SPARCSDataModule(GeoDataModule):
    """LightningDataModule implementation for the SPARCS dataset.

    Scenes are split by id (:meth:`SPARCS.split_of`: 70 % train, 15 % val, 15 % test,
    the same on every machine, no scene in two splits). Training draws random patches
    (:class:`~torchgeo_csia.samplers.SceneRandomSampler`), validation and test gridded
    ones (:class:`~torchgeo_csia.samplers.SceneGriddedSampler`). TorchGeo's own
    samplers work on :class:`~torchgeo_csia.datasets.SPARCS` too, but for scenes
    spread over the globe they are slower: on the 60 real scenes (EPSG:3857, 256 px
    patches, one process) :class:`~torchgeo.samplers.RandomPatchSampler` draws 55
    patches/s (28.5/s with reading) against 3,088 (62/s), and
    :class:`~torchgeo.samplers.GriddedPatchSampler` walks the bounding box of all
    footprints (815 of the 2,346 patches listed after 120 s, against 0.2 s).

    Batch augmentations run on the device in ``on_after_batch_transfer``, in this
    order: normalisation for the image type (:data:`NORMALIZATION`), then the CSIA
    augmentations given as *csia* (they read the sun geometry of the sample, so they
    come before anything that flips or rotates it), then random horizontal and
    vertical flips.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        batch_size: int = 1,
        patch_size: int | tuple[int, int] = 256,
        length: int | None = None,
        num_workers: int = 0,
        csia: Sequence[nn.Module] = (),
        **kwargs: Any,
    ) -> None:
        """Initialize a new SPARCSDataModule instance.

        Args:
            batch_size: Size of each mini-batch.
            patch_size: Size of each patch, either ``size`` or ``(height, width)``.
            length: Length of each training epoch (patches).
            num_workers: Number of workers for parallel data loading.
            csia: CSIA augmentations (Kornia modules from
                :mod:`torchgeo_csia.transforms`) applied to training batches after
                normalisation and before the geometric augmentations. They write
                labels of the ``'csia'`` scheme, so they need ``classes='csia'``.
            **kwargs: Additional keyword arguments passed to
                :class:`~torchgeo_csia.datasets.SPARCS` (``paths``, ``image``,
                ``classes``, ``bands``, ``crs``, ``res``, ...); ``image`` defaults
                to ``'photo'`` (the quicklooks every release holds), as in
                :class:`~torchgeo_csia.datasets.SPARCS`.

        Raises:
            ValueError: If *kwargs* holds ``split`` (the datamodule sets it) or an
                unknown ``image``, or if *csia* is given with classes other than
                ``'csia'``.
        """
        if 'split' in kwargs:
            raise ValueError('split is set by SPARCSDataModule; do not pass it')
        image = kwargs.setdefault('image', 'photo')
        if image not in NORMALIZATION:
            raise ValueError(f"image must be 'data' or 'photo', got {image!r}")
        classes = kwargs.get('classes', 'sparcs')
        if csia and classes != 'csia':
            default = '' if 'classes' in kwargs else ', the default'
            raise ValueError(
                f"csia augmentations need classes='csia' (got classes={classes!r}"
                f'{default}): they paint labels of the csia scheme (0 background, '
                "1 shadow, 2 snow, 3 cloud), which in the 7-code 'sparcs' scheme "
                'mean other classes (2 is water there)'
            )
        super().__init__(
            SPARCS,
            batch_size=batch_size,
            patch_size=patch_size,
            length=length,
            num_workers=num_workers,
            **kwargs,
        )
        mean, std = NORMALIZATION[image]
        self.mean, self.std = torch.tensor(mean), torch.tensor(std)
        self.csia = list(csia)
        self.aug = _BatchAugmentation(K.Normalize(mean=self.mean, std=self.std))
        self.train_aug = _BatchAugmentation(
            K.Normalize(mean=self.mean, std=self.std),
            *self.csia,
            K.RandomHorizontalFlip(p=0.5),
            K.RandomVerticalFlip(p=0.5),
        )

    def setup(self, stage: str) -> None:
        """Set up datasets and samplers.

        Args:
            stage: Either 'fit', 'validate', 'test', or 'predict'.
        """
        if stage == 'fit':
            self.train_dataset = SPARCS(split='train', **self.kwargs)
            # seeded from torch (seed_everything), so every DDP rank draws the same
            # list and Lightning's distributed wrapper hands each rank its own part
            self.train_sampler = SceneRandomSampler(
                self.train_dataset,
                size=self.patch_size,
                length=self.length,
                generator=int(torch.initial_seed()),
            )
        if stage in ('fit', 'validate'):
            self.val_dataset = SPARCS(split='val', **self.kwargs)
            self.val_sampler = SceneGriddedSampler(
                self.val_dataset, size=self.patch_size
            )
        if stage in ('test', 'predict'):
            self.test_dataset = SPARCS(split='test', **self.kwargs)
            self.test_sampler = SceneGriddedSampler(
                self.test_dataset, size=self.patch_size
            )
