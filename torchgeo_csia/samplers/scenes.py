"""Gridded sampling scene by scene."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import shapely
from geopandas import GeoSeries
from torchgeo.datasets import GeoDataset
from torchgeo.samplers import GeoSampler, GriddedPatchSampler, Units


class Resumable:
    """A random sampler whose epoch can be taken up again after an interruption.

    Lightning resumes a fit mid-epoch, but a plain sampler would start the epoch's
    draws anew. :meth:`state_dict` holds the generator as the current epoch began
    and the draws already used; :meth:`load_state_dict` restores the generator, so
    that the next epoch replays the same draws, and skips the used ones. ``len``
    stays the whole epoch, as Lightning counts a resumed epoch's batches from its
    start. Every draw of an epoch is made when its iteration begins.

    .. versionadded:: 0.1
    """

    _epoch_state: Any = None
    _skip = 0

    def __len__(self) -> int:  # the sampler's own comes first in its bases
        raise NotImplementedError

    def _get_state(self) -> Any:
        raise NotImplementedError

    def _set_state(self, state: Any) -> None:
        raise NotImplementedError

    def _begin_epoch(self) -> int:
        """Note the generator's state at an epoch's start; the draws to skip."""
        self._epoch_state = self._get_state()
        skip, self._skip = self._skip, 0
        return skip

    def state_dict(self, done: int = 0) -> dict[str, Any]:
        """The current epoch, *done* of its draws used.

        Args:
            done: draws of the current epoch used so far; with ``len(self)`` or
                more (or before any epoch) the state is that of the next epoch.

        Returns:
            The generator's state and the draws to skip.
        """
        if done >= len(self) or self._epoch_state is None:
            return {'generator': self._get_state(), 'skip': 0}
        return {'generator': self._epoch_state, 'skip': done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take up an epoch saved by :meth:`state_dict`.

        Args:
            state: What :meth:`state_dict` returned.

        Raises:
            ValueError: If *state* lacks a key or skips a negative number of draws.
        """
        missing = {'generator', 'skip'} - set(state)
        if missing:
            raise ValueError(f'state lacks {sorted(missing)}, has {sorted(state)}')
        if state['skip'] < 0:
            raise ValueError(f"state['skip'] must be >= 0, got {state['skip']}")
        self._set_state(state['generator'])
        self._epoch_state, self._skip = None, int(state['skip'])


class SceneGriddedSampler(GeoSampler):
    """:class:`~torchgeo.samplers.GriddedPatchSampler` over each scene's footprint.

    A plain gridded sampler walks the bounding box of all footprints. SPARCS scenes
    lie all over the globe, so that box is mostly empty and walking it takes
    minutes (on the 60 real scenes in EPSG:3857 with 256 px patches,
    :class:`~torchgeo.samplers.GriddedPatchSampler` had listed 815 of 2,346 patches
    after 120 s; this sampler lists them in 0.2 s); this sampler walks one footprint
    after the other instead, in index order. Patches of neighbouring overlapping
    scenes may repeat.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        dataset: GeoDataset,
        *,
        size: tuple[float, float] | float,
        stride: tuple[float, float] | float | None = None,
        units: Units = Units.PIXELS,
    ) -> None:
        """Initialize a new SceneGriddedSampler instance.

        Args:
            dataset: Dataset to sample from.
            size: Dimensions of each patch.
            stride: Distance to skip between each patch (defaults to *size*).
            units: Defines if ``size`` and ``stride`` are in pixel or CRS units.
        """
        self.samplers = [
            GriddedPatchSampler(
                dataset, size=size, stride=stride, roi=footprint, units=units
            )
            for footprint in dataset.index.geometry
        ]

    def __iter__(self) -> Iterator[tuple[slice, slice]]:
        """Iterate over the patches of each scene in turn.

        Yields:
            [xmin:xmax, ymin:ymax] coordinates to index a dataset.
        """
        for sampler in self.samplers:
            yield from sampler


class SceneRandomSampler(GeoSampler, Resumable):
    """Random patches drawn scene by scene, in proportion to each scene's area.

    :class:`~torchgeo.samplers.RandomPatchSampler` draws points uniformly in the
    union of all footprints by rejection from its bounding box; for scenes spread over
    the globe most draws are rejected (on the 60 real SPARCS scenes in EPSG:3857 with
    256 px patches it draws 55 patches/s, this sampler 3,088; with reading, in one
    process, 28.5 against 62 patches/s). This sampler picks a scene (weighted by the
    area of its footprint, shrunk so that the whole patch fits) and then a point
    inside that footprint, snapped to the dataset's pixel lattice.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        dataset: GeoDataset,
        *,
        size: tuple[float, float] | float,
        length: int | None = None,
        units: Units = Units.PIXELS,
        generator: int | np.random.Generator | None = None,
    ) -> None:
        """Initialize a new SceneRandomSampler instance.

        Args:
            dataset: Dataset to sample from.
            size: Dimensions of each patch, ``size`` or ``(height, width)``.
            length: Number of patches per epoch (defaults to about the number of
                non-overlapping patches that fit).
            units: Defines if ``size`` is in pixel or CRS units.
            generator: Seed or numpy generator.

        Raises:
            ValueError: If no footprint can hold a whole patch.
        """
        height, width = (size, size) if isinstance(size, int | float) else size
        self.res = dataset.res
        if units == Units.PIXELS:
            height, width = height * self.res[1], width * self.res[0]
        self.size = (height, width)
        self.generator = np.random.default_rng(generator)
        self.origin = dataset.index.total_bounds[:2]
        radius = math.hypot(height / 2, width / 2)
        cores = shapely.buffer(np.asarray(dataset.index.geometry), -radius)
        areas = shapely.area(cores)
        if not (areas > 0).any():
            raise ValueError(
                f'no scene footprint can hold a patch of {self.size} CRS units'
            )
        self.cores = GeoSeries(cores[areas > 0])
        self.weights = areas[areas > 0] / areas.sum()
        self._length = length or max(1, int(areas.sum() // (height * width)))

    def _get_state(self) -> Any:
        return self.generator.bit_generator.state

    def _set_state(self, state: Any) -> None:
        self.generator.bit_generator.state = state

    def __iter__(self) -> Iterator[tuple[slice, slice]]:
        """Iterate over random patches of one epoch.

        Yields:
            [xmin:xmax, ymin:ymax] coordinates to index a dataset.
        """
        skip = self._begin_epoch()
        counts = self.generator.multinomial(len(self), self.weights)
        xs, ys = [], []
        for core, count in zip(self.cores, counts, strict=False):
            if count:
                points = (
                    GeoSeries([core])
                    .sample_points(size=int(count), rng=self.generator)
                    .explode()
                )
                xs.append(points.x.to_numpy())
                ys.append(points.y.to_numpy())
        x, y = np.concatenate(xs), np.concatenate(ys)
        order = self.generator.permutation(len(x))
        height, width = self.size
        # Lower-left corners snapped to the pixel lattice of the dataset's origin.
        x0 = (
            self.origin[0]
            + np.round((x - width / 2 - self.origin[0]) / self.res[0]) * self.res[0]
        )
        y0 = (
            self.origin[1]
            + np.round((y - height / 2 - self.origin[1]) / self.res[1]) * self.res[1]
        )
        for i in order[skip:]:
            yield (
                slice(float(x0[i]), float(x0[i]) + width),
                slice(float(y0[i]), float(y0[i]) + height),
            )
