"""SPARCS datamodule."""

from __future__ import annotations

import contextlib
import copy
import glob
import os
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import kornia.augmentation as K
import rasterio
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Sampler
from torchgeo.datamodules import GeoDataModule
from torchgeo.datasets.utils import Sample, stack_samples

from ..constants import NORMALIZATION as NORMALIZATION
from ..datasets import SPARCS
from ..datasets.sparcs import PIXEL_SIZE
from ..samplers import Resumable, SceneGriddedSampler, SceneRandomSampler
from ..transforms import sun_geometry


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


class BatchAugmentation(nn.Module):
    """Kornia pipeline on TorchGeo batch dicts that follows the batch's device.

    The datamodule is no :class:`~torch.nn.Module`, so Lightning never moves its
    augmentations; those that hold networks (CSIA inpainters) are moved here, once
    per device, before they run. Kornia runs at most one mix augmentation (the CSIA
    classes are ones) per ``AugmentationSequential``, so each gets its own.

    Args:
        *augs: Kornia augmentations, in the order they run.

    .. versionadded:: 0.1
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
        """Run the pipeline on a batch dict (its tensors already on the device)."""
        device = batch['image'].device
        # compact crops (SPARCSCrops) arrive as uint8: the types the steps take
        if not batch['image'].is_floating_point():
            batch['image'] = batch['image'].float()
        if 'mask' in batch and batch['mask'].dtype != torch.long:
            batch['mask'] = batch['mask'].long()
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


class SPARCSScenes(Dataset[Sample]):
    """Whole SPARCS scenes, each on its own grid, for full-scene evaluation.

    Item *i* is the *i*-th scene of *dataset*'s index, read whole on the grid its
    labels were drawn on (its UTM zone or polar projection, 30 m pixels): no
    resampling and no nodata corners, whatever the CRS of *dataset* (warped to
    EPSG:3857 a scene at 80 degrees north would cover nine times its pixels and
    weigh nine times as much in a score). Samples hold the keys of
    :class:`~torchgeo_csia.datasets.SPARCS` samples; ``bounds`` and
    ``transform`` are in the scene's own CRS.

    .. versionadded:: 0.1
    """

    def __init__(self, dataset: SPARCS, splits: Sequence[str] | None = None) -> None:
        """Initialize a new SPARCSScenes instance.

        Args:
            dataset: the scenes (their files, image type, bands, class scheme).
            splits: keep only the scenes of these splits
                (:meth:`SPARCS.split_of`); all of *dataset*'s by default.

        Raises:
            ValueError: If no scene of *dataset* is in *splits*.
        """
        index = dataset.index
        if splits is not None:
            index = index[[SPARCS.split_of(s) in splits for s in index.scene]]
        if index.empty:
            raise ValueError(f'no scene of splits {list(splits or [])} in the dataset')
        self.dataset = dataset
        #: scene ids, in item order (stack_samples keeps tensors only)
        self.scenes: list[str] = [str(s) for s in index.scene]
        self._files = [
            (str(r.image_path), str(r.label_path), str(r.grid_path))
            for r in index.itertuples()
        ]

    def __len__(self) -> int:
        """Number of scenes."""
        return len(self.scenes)

    def __getitem__(self, i: int) -> Sample:
        """The *i*-th scene, whole, on its own grid.

        Args:
            i: scene number.

        Returns:
            A sample of the whole scene.
        """
        scene, files = self.scenes[i], self._files[i]
        folder = os.path.dirname(files[0])
        # the MTL drops the subscene suffix: its name is the first 21 characters
        mtl = glob.glob(
            os.path.join(glob.escape(folder), f'{scene[:21]}_[mM][tT][lL].txt')
        )
        with rasterio.open(files[2]) as grid:
            crs, bounds = grid.crs, grid.bounds
        ds = self.dataset
        # one scene in its own CRS: SPARCS reads it without warping
        own = SPARCS(
            paths=[*dict.fromkeys(files), *mtl],
            crs=crs,
            res=PIXEL_SIZE,
            image=ds.image,
            bands=ds.bands,
            classes=ds.classes,
            transforms=ds.transforms,
            cache=False,
            checksum=ds.checksum,
        )
        return own[
            bounds.left : bounds.right : PIXEL_SIZE,
            bounds.bottom : bounds.top : PIXEL_SIZE,
        ]


def _compact(x: Tensor) -> Tensor:
    """*x* as ``uint8`` where that holds it exactly, else *x*.

    Quicklooks and labels then take a quarter of float32's memory and an eighth of
    int64's, for scenes kept whole.
    """
    if x.dtype == torch.uint8:
        return x
    if x.is_floating_point() and not torch.equal(x, x.round()):
        return x
    if x.numel() and (x.min() < 0 or x.max() > 255):
        return x
    return x.to(torch.uint8)


class SPARCSCrops(Dataset[Sample]):
    """Crops of whole SPARCS scenes, each on its own grid, decoded once and kept.

    Every scene of *scenes* is read whole once, when the dataset is made, and kept
    in memory (a 1,000 x 1,000 px quicklook with its labels takes 4 MB); an item
    is then a crop of one of them, indexed by ``(scene, top, left)`` in pixels, as
    :class:`SceneCropSampler` and :class:`SceneCropGrid` yield them. Crops carry
    ``image``, ``mask``, ``sun_azimuth`` and ``sun_elevation``; no ``bounds``, as
    scenes lie in different CRSs. Loading workers share the decoded scenes
    (fork, copy-on-write), so they only slice and copy.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        scenes: SPARCSScenes,
        size: int | tuple[int, int],
        compact: bool = False,
    ) -> None:
        """Initialize a new SPARCSCrops instance.

        Args:
            scenes: the scenes to read, whole.
            size: crop size in pixels, ``size`` or ``(height, width)``.
            compact: crops keep the dtype the scenes are kept in (``uint8`` for
                quicklooks and labels) instead of float32 images and int64
                masks: a fifth of the bytes for the loader to pass on and for
                the batch's copy to the device, where
                :class:`BatchAugmentation` converts them.

        Raises:
            ValueError: If a scene is smaller than *size*.
        """
        self.compact = compact
        self.scenes = scenes.scenes
        self._samples: list[Sample] = [
            {
                'image': _compact(sample['image']),
                'mask': _compact(sample['mask']),
                'sun_azimuth': sample['sun_azimuth'],
                'sun_elevation': sample['sun_elevation'],
            }
            for sample in (scenes[i] for i in range(len(self.scenes)))
        ]
        #: height and width of each scene, in pixels
        self.shapes: list[tuple[int, int]] = [
            (int(s['mask'].shape[-2]), int(s['mask'].shape[-1])) for s in self._samples
        ]
        self.size = self._fitting(size)

    def _fitting(self, size: int | tuple[int, int]) -> tuple[int, int]:
        """*size* as ``(height, width)``, checked against every scene."""
        height, width = (size, size) if isinstance(size, int) else size
        for scene, (h, w) in zip(self.scenes, self.shapes, strict=True):
            if h < height or w < width:
                raise ValueError(
                    f'scene {scene} is {h} x {w} px, smaller than the crop size '
                    f'{height} x {width}'
                )
        return height, width

    def with_size(self, size: int | tuple[int, int]) -> SPARCSCrops:
        """Crops of another size from the same decoded scenes (nothing is read again).

        Args:
            size: crop size in pixels, ``size`` or ``(height, width)``.

        Returns:
            A dataset sharing this one's scenes.

        Raises:
            ValueError: If a scene is smaller than *size*.
        """
        crops = copy.copy(self)
        crops.size = self._fitting(size)
        return crops

    @property
    def masks(self) -> list[Tensor]:
        """Each scene's ``H x W`` labels, as kept (``uint8`` where they fit)."""
        return [s['mask'] for s in self._samples]

    @property
    def images(self) -> list[Tensor]:
        """Each scene's ``C x H x W`` image, as kept (``uint8`` where it fits)."""
        return [s['image'] for s in self._samples]

    @property
    def suns(self) -> list[tuple[float, float]]:
        """Each scene's sun azimuth and elevation, in degrees."""
        return [
            (float(s['sun_azimuth']), float(s['sun_elevation'])) for s in self._samples
        ]

    def __len__(self) -> int:
        """Number of scenes (items are indexed by crop, not by number)."""
        return len(self._samples)

    def __getitem__(self, index: tuple[int, int, int]) -> Sample:
        """The crop ``(scene, top, left)``.

        Args:
            index: scene number and the crop's top-left pixel in it.

        Returns:
            A sample of the crop.

        Raises:
            IndexError: If the crop does not lie inside the scene.
        """
        scene, top, left = index
        sample = self._samples[scene]
        (h, w), (ch, cw) = self.shapes[scene], self.size
        if not (0 <= top <= h - ch and 0 <= left <= w - cw):
            raise IndexError(
                f'crop at ({top}, {left}) of {ch} x {cw} px leaves scene '
                f'{self.scenes[scene]} ({h} x {w} px)'
            )
        image = sample['image'][..., top : top + ch, left : left + cw]
        mask = sample['mask'][..., top : top + ch, left : left + cw]
        if self.compact:
            # a copy, so a crop never carries its whole scene's storage along
            image, mask = image.clone(), mask.clone()
        else:
            # copies too (a float scene's .float() would be a view of it)
            image = image.to(torch.float32, copy=True)
            mask = mask.to(torch.long, copy=True)
        return {
            'image': image,
            'mask': mask,
            'sun_azimuth': sample['sun_azimuth'],
            'sun_elevation': sample['sun_elevation'],
        }


class SceneCropSampler(Sampler[tuple[int, int, int]], Resumable):
    """Random crops of scenes, each scene equally likely, anywhere in it.

    Each crop draws its scene uniformly, then its top-left pixel uniformly over
    the places where it fits: every scene weighs the same, whatever its
    latitude or size (warped to a common CRS, a high-latitude scene covers more
    pixels and would be drawn more often). An epoch can be taken up again
    mid-way (:class:`~torchgeo_csia.samplers.Resumable`).

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        shapes: Sequence[tuple[int, int]],
        size: tuple[int, int],
        length: int,
        generator: int | None = None,
    ) -> None:
        """Initialize a new SceneCropSampler instance.

        Args:
            shapes: height and width of each scene, in pixels.
            size: crop height and width, in pixels.
            length: crops per epoch.
            generator: seed of the draws (each epoch draws anew from it).
        """
        self.room = torch.tensor(
            [(h - size[0] + 1, w - size[1] + 1) for h, w in shapes]
        )
        self.length = length
        self.generator = torch.Generator()
        if generator is not None:
            self.generator.manual_seed(generator)

    def _get_state(self) -> Tensor:
        return self.generator.get_state()

    def _set_state(self, state: Tensor) -> None:
        self.generator.set_state(state)

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        """Draw one epoch of crops.

        Yields:
            ``(scene, top, left)`` of each crop.
        """
        skip = self._begin_epoch()
        g = self.generator
        scene = torch.randint(len(self.room), (self.length,), generator=g)
        room = self.room[scene]
        top = (torch.rand(self.length, generator=g) * room[:, 0]).long()
        left = (torch.rand(self.length, generator=g) * room[:, 1]).long()
        crops = (scene[skip:].tolist(), top[skip:].tolist(), left[skip:].tolist())
        yield from zip(*crops, strict=True)

    def __len__(self) -> int:
        """Crops per epoch."""
        return self.length


def _starts(extent: int, size: int) -> list[int]:
    """Tile starts covering *extent* with tiles of *size*, the last one flush."""
    starts = list(range(0, extent - size + 1, size))
    if starts[-1] != extent - size:
        starts.append(extent - size)
    return starts


class SceneCropGrid(Sampler[tuple[int, int, int]]):
    """Crops tiling each scene in turn, the last row and column flush with its edge.

    .. versionadded:: 0.1
    """

    def __init__(
        self, shapes: Sequence[tuple[int, int]], size: tuple[int, int]
    ) -> None:
        """Initialize a new SceneCropGrid instance.

        Args:
            shapes: height and width of each scene, in pixels.
            size: crop height and width, in pixels.
        """
        self.crops = [
            (i, top, left)
            for i, (h, w) in enumerate(shapes)
            for top in _starts(h, size[0])
            for left in _starts(w, size[1])
        ]

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        """The crops, scene by scene, row by row.

        Yields:
            ``(scene, top, left)`` of each crop.
        """
        yield from self.crops

    def __len__(self) -> int:
        """Number of crops."""
        return len(self.crops)


class SPARCSDataModule(GeoDataModule):
    """LightningDataModule implementation for the SPARCS dataset.

    Scenes are split by id (:meth:`SPARCS.split_of`: 70 % train, 15 % val, 15 % test,
    the same on every machine, no scene in two splits). With ``grid='dataset'`` (the
    default) patches lie on the dataset's common grid (its ``crs`` and ``res``):
    training draws random patches
    (:class:`~torchgeo_csia.samplers.SceneRandomSampler`), validation gridded ones
    (:class:`~torchgeo_csia.samplers.SceneGriddedSampler`). With ``grid='native'``
    each scene stays on its own grid (:class:`SPARCSScenes`), read whole once and
    kept in memory (:class:`SPARCSCrops`); training draws random crops with every
    scene equally likely (:class:`SceneCropSampler`), validation tiles each scene
    (:class:`SceneCropGrid`). Test and predict batches
    are whole scenes, one a batch, each on its own grid (:class:`SPARCSScenes`), for
    the full-scene sliding window of
    :class:`~torchgeo_csia.tasks.CSIASegmentation`; *test_splits* says whose scenes.
    Score on one device: across several, Lightning's distributed sampler evens the
    ranks out with repeated scenes, which would then count twice.
    TorchGeo's own samplers work on :class:`~torchgeo_csia.datasets.SPARCS` too, but
    for scenes spread over the globe they are slower: on the 60 real scenes
    (EPSG:3857, 256 px patches, one process)
    :class:`~torchgeo.samplers.RandomPatchSampler` draws 55 patches/s (28.5/s with
    reading) against 3,088 (62/s), and :class:`~torchgeo.samplers.GriddedPatchSampler`
    walks the bounding box of all footprints (815 of the 2,346 patches listed after
    120 s, against 0.2 s).

    Batch augmentations run on the device in ``on_after_batch_transfer``, in this
    order: normalisation for the image type (:data:`NORMALIZATION`), then the CSIA
    augmentations given as *csia* (they read the sun geometry of the sample, so they
    come before anything that flips or rotates it), then random horizontal and
    vertical flips and, with *rot90*, random 90-degree rotations.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        batch_size: int = 1,
        patch_size: int | tuple[int, int] = 256,
        length: int | None = None,
        num_workers: int = 0,
        csia: Sequence[nn.Module] = (),
        rot90: bool = False,
        test_splits: Sequence[str] = ('test',),
        grid: Literal['dataset', 'native'] = 'dataset',
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
            rot90: after the flips, rotate training batches by 90 degrees (each
                sample with probability 0.5, image and mask alike). With the
                flips, each of the 8 symmetries of a square is then equally likely:
                the same distribution as random flips and a random transpose.
                Needs square patches.
            test_splits: splits whose whole scenes the test and predict batches
                are (``('val', 'test')`` scores all scenes held out of training).
            grid: where training and validation patches lie: ``'dataset'``, on
                the dataset's common grid (TorchGeo's way: any CRS and resolution,
                scenes weighted by the area they cover there); ``'native'``, each
                scene on its own grid, unresampled, every scene equally likely
                (the pack-free recipe of the shipped segmenters; scenes are kept
                decoded in memory, so loading costs a slice). *length* defaults
                to one epoch of as many crops as tile the training scenes.
            **kwargs: Additional keyword arguments passed to
                :class:`~torchgeo_csia.datasets.SPARCS` (``paths``, ``image``,
                ``classes``, ``bands``, ``crs``, ``res``, ...); ``image`` defaults
                to ``'photo'`` (the quicklooks every release holds), as in
                :class:`~torchgeo_csia.datasets.SPARCS`.

        Raises:
            ValueError: If *kwargs* holds ``split`` (the datamodule sets it) or an
                unknown ``image``, if *csia* is given with classes other than
                ``'csia'``, if *rot90* is asked for with non-square patches, or if
                *test_splits* names an unknown split, if *grid* is neither
                ``'dataset'`` nor ``'native'``, or if ``grid='native'`` comes with
                ``crs`` or ``res`` (native crops keep each scene's own).
        """
        if grid not in ('dataset', 'native'):
            raise ValueError(f"grid must be 'dataset' or 'native', got {grid!r}")
        fixed = sorted({'crs', 'res'} & set(kwargs))
        if grid == 'native' and fixed:
            raise ValueError(
                f"grid='native' keeps each scene on its own grid; do not pass "
                f'{" or ".join(fixed)}'
            )
        self.grid = grid
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
        height, width = (
            (patch_size, patch_size) if isinstance(patch_size, int) else patch_size
        )
        if rot90 and height != width:
            # Kornia keeps the shape and fills the rest with 0, a class label
            raise ValueError(f'rot90 needs square patches, got {patch_size}')
        unknown = set(test_splits) - set(SPARCS.split_fractions)
        if unknown or not test_splits:
            raise ValueError(
                f'test_splits must be a non-empty subset of '
                f'{list(SPARCS.split_fractions)}, got {list(test_splits)}'
            )
        self.test_splits = tuple(test_splits)
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
        self.aug = BatchAugmentation(K.Normalize(mean=self.mean, std=self.std))
        # nearest: an exact quarter turn samples pixel centres, so nothing is mixed
        rotate = [K.RandomRotation90(times=(1, 1), p=0.5, resample='nearest')]
        self.train_aug = BatchAugmentation(
            K.Normalize(mean=self.mean, std=self.std),
            *self.csia,
            K.RandomHorizontalFlip(p=0.5),
            K.RandomVerticalFlip(p=0.5),
            *(rotate if rot90 else []),
        )
        # the random stream of a resumed fit, set before its first training batch
        self._resume_rng: tuple[Tensor, Tensor | None] | None = None

    def setup(self, stage: str) -> None:
        """Set up datasets and samplers.

        Args:
            stage: Either 'fit', 'validate', 'test', or 'predict'.
        """
        if self.grid == 'native':
            self._setup_native(stage)
        elif stage == 'fit':
            self.train_dataset = SPARCS(split='train', **self.kwargs)
            # seeded from torch (seed_everything), so every DDP rank draws the same
            # list and Lightning's distributed wrapper hands each rank its own part
            self.train_sampler = SceneRandomSampler(
                self.train_dataset,
                size=self.patch_size,
                length=self.length,
                generator=int(torch.initial_seed()),
            )
        if stage in ('fit', 'validate') and self.grid == 'dataset':
            self.val_dataset = SPARCS(split='val', **self.kwargs)
            self.val_sampler = SceneGriddedSampler(
                self.val_dataset, size=self.patch_size
            )
        if stage in ('test', 'predict'):
            scenes = SPARCSScenes(SPARCS(split='all', **self.kwargs), self.test_splits)
            self.test_dataset = self.predict_dataset = scenes

    def _setup_native(self, stage: str) -> None:
        """Training and validation crops of whole scenes on their own grids."""
        size = self.patch_size
        if stage in ('fit', 'validate'):
            ds = SPARCS(split='all', **self.kwargs)
            if stage == 'fit':
                train = SPARCSCrops(SPARCSScenes(ds, ['train']), size, compact=True)
                length = self.length or len(SceneCropGrid(train.shapes, train.size))
                self.train_dataset = train
                # seeded from torch, as with grid='dataset'
                self.train_sampler = SceneCropSampler(  # type: ignore[assignment]
                    train.shapes, train.size, length, int(torch.initial_seed())
                )
            val = SPARCSCrops(SPARCSScenes(ds, ['val']), size, compact=True)
            self.val_dataset = val
            self.val_sampler = SceneCropGrid(val.shapes, val.size)  # type: ignore[assignment]

    def state_dict(self) -> dict[str, Any]:
        """Where a fit stands in its training crops and its augmentations' draws.

        Lightning keeps this in every checkpoint, so a fit resumed from one
        (``--ckpt_path``) trains on the crops the interrupted fit would have drawn
        next (the sampler's epoch replayed, the crops already trained on skipped)
        and its batch augmentations (CSIA's draws, flips, turns) take up their
        random stream where it stood: the runs of a paired ablation see their
        seed's crops however often they are resumed (Lightning's warning that the
        dataloader is not resumable does not apply). Empty outside a fit or with
        a sampler that cannot resume.

        Returns:
            The sampler's state (its epoch and the crops of it done), the random
            stream (CPU, and the training device's if it is a GPU) and the
            augmentation calls made.
        """
        trainer, sampler, aug = self.trainer, self.train_sampler, self.train_aug
        if trainer is None or not isinstance(sampler, Resumable):
            return {}
        assert isinstance(aug, BatchAugmentation)
        # batches trained on in this epoch (a save at on_train_batch_end counts
        # the batch it ends), each of batch_size crops on every rank
        batches = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        done = batches * self.batch_size * trainer.world_size
        device = trainer.strategy.root_device
        cuda = torch.cuda.get_rng_state(device) if device.type == 'cuda' else None
        return {
            'sampler': sampler.state_dict(done),
            'rng': torch.get_rng_state(),
            'cuda_rng': cuda,
            'calls': aug.calls,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Take up a fit saved by :meth:`state_dict` (Lightning calls it on resume).

        Args:
            state_dict: What :meth:`state_dict` returned.
        """
        if not state_dict:
            return
        if isinstance(self.train_sampler, Resumable):
            self.train_sampler.load_state_dict(state_dict['sampler'])
        self._resume_rng = (state_dict['rng'], state_dict['cuda_rng'])
        if isinstance(self.train_aug, BatchAugmentation):
            self.train_aug.calls = state_dict['calls']

    def on_after_batch_transfer(self, batch: Sample, dataloader_idx: int) -> Sample:
        """TorchGeo's batch augmentations, a resumed fit's random stream set first.

        Args:
            batch: The batch, on the device.
            dataloader_idx: Its loader's index.

        Returns:
            The augmented batch.
        """
        if self._resume_rng is not None and self.trainer and self.trainer.training:
            cpu, cuda = self._resume_rng
            torch.set_rng_state(cpu)
            device = batch['image'].device
            if cuda is not None and device.type == 'cuda':
                torch.cuda.set_rng_state(cuda, device)
            self._resume_rng = None
        return super().on_after_batch_transfer(batch, dataloader_idx)

    def _scene_loader(self, dataset: Dataset[Sample] | None) -> DataLoader[Sample]:
        """Whole scenes one a batch, in order (scenes differ in size).

        Raises:
            RuntimeError: If :meth:`setup` has not made *dataset*.
        """
        if dataset is None:
            raise RuntimeError("call setup('test') or setup('predict') first")
        return DataLoader(
            dataset,
            batch_size=1,
            num_workers=self.num_workers,
            collate_fn=stack_samples,
            persistent_workers=self.num_workers > 0,
        )

    def test_dataloader(self) -> DataLoader[Sample]:
        """Whole scenes of *test_splits*, one a batch.

        Returns:
            The test loader.
        """
        return self._scene_loader(self.test_dataset)

    def predict_dataloader(self) -> DataLoader[Sample]:
        """Whole scenes of *test_splits*, one a batch, in :class:`SPARCSScenes` order.

        Returns:
            The predict loader.
        """
        return self._scene_loader(self.predict_dataset)
