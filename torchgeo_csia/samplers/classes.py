"""Patches drawn by the share of one class they hold."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor
from torch.utils.data import Sampler
from torchgeo.datasets import GeoDataset
from torchgeo.samplers import GeoSampler, Units

from ..constants import IGNORE_INDEX

#: pixels kept clear of each footprint's bounding box (see ``_candidates``)
_INSET = 2


class _ShareDraws:
    """Which candidate patches each epoch takes (both class-share samplers).

    Args:
        shares: the class's share in each candidate.
        length: draws per epoch (default: the number of candidates; without
            *replacement* at most that many).
        weighted: draw in proportion to the share.
        replacement: draw with replacement.
        fixed: the same draws every epoch.
        generator: seed or numpy generator.
    """

    def __init__(
        self,
        shares: NDArray[np.float64],
        length: int | None,
        weighted: bool,
        replacement: bool,
        fixed: bool,
        generator: int | np.random.Generator | None,
    ) -> None:
        self.count = len(shares)
        self.weights = shares / shares.sum() if weighted and shares.sum() > 0 else None
        self.replacement = replacement
        self.generator = np.random.default_rng(generator)
        self.length = length or self.count
        if not replacement:
            self.length = min(self.length, self.count)
        #: the draws every epoch repeats when *fixed* (else ``None``)
        self.fixed = self._draw() if fixed else None

    def _draw(self) -> NDArray[np.int64]:
        if self.replacement and self.weights is None:
            return self.generator.integers(self.count, size=self.length)
        picks: NDArray[np.int64] = self.generator.choice(
            self.count, size=self.length, replace=self.replacement, p=self.weights
        )
        return picks

    def epoch(self) -> NDArray[np.int64]:
        """Indices of the candidates this epoch yields."""
        return self._draw() if self.fixed is None else self.fixed

    def __len__(self) -> int:
        return self.length


def _check_share(share: tuple[float, float], stride: int) -> tuple[float, float]:
    low, high = share
    if not 0 <= low <= high <= 1:
        raise ValueError(
            f'share must be (low, high) with 0 <= low <= high <= 1, got {share}'
        )
    if stride < 1:
        raise ValueError(f'stride must be a positive number of pixels, got {stride}')
    return float(low), float(high)


def _qualifying(
    mask: Tensor,
    cls: int,
    share: tuple[float, float],
    patch: tuple[int, int],
    stride: int,
    ignore_index: int | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Rows, columns (in strides) and class shares of the patches that qualify.

    A patch of *mask* qualifies if it holds *share* of *cls* and, unless
    *ignore_index* is ``None``, no nodata.
    """
    area = patch[0] * patch[1]
    found = _box_sums(mask == cls, patch, stride) / area
    ok = (found >= share[0]) & (found <= share[1])
    if ignore_index is not None:
        ok &= _box_sums(mask == ignore_index, patch, stride) == 0
    r, c = torch.nonzero(ok, as_tuple=True)
    return r, c, found[ok].double()


class ClassShareSampler(GeoSampler):
    """Random patches whose share of one class lies in a range.

    Inpainters learn to paint a class by reconstructing its real structures, so
    their training crops must hold some of it, but not only it (the structure needs
    context around it). At construction the sampler reads each scene's labels once,
    lists candidate patches on a grid (corners every *stride* pixels, on the
    dataset's pixel lattice as :class:`~torchgeo_csia.samplers.SceneRandomSampler`
    snaps its patches), keeps those that hold no nodata pixel and whose share of
    *cls* lies in *share* (both ends included), and then draws from them.

    The labels are read through the dataset's own query, over each footprint's
    bounding box, so the shares are those of the pixels a patch will hold (warped
    to the dataset's CRS, mosaicked with overlapping scenes). That query reads the
    image too: on the 40 real training scenes of SPARCS (EPSG:3857, 256 px patches,
    one CPU) the sampler took 10.7 s to build and listed 84,507 patches holding
    3-70 % cloud; a second one on the same dataset 4.6 s (its files were open).

    It does not draw points inside footprints as
    :class:`~torchgeo_csia.samplers.SceneRandomSampler` does: the label share is
    known only per listed patch, and rejection of random patches would waste most
    draws where the class is rare.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        dataset: GeoDataset,
        *,
        size: tuple[float, float] | float,
        cls: int | str,
        share: tuple[float, float] = (0.03, 0.7),
        length: int | None = None,
        stride: int = 16,
        units: Units = Units.PIXELS,
        weighted: bool = False,
        replacement: bool = True,
        fixed: bool = False,
        ignore_index: int | None = IGNORE_INDEX,
        generator: int | np.random.Generator | None = None,
    ) -> None:
        """Initialize a new ClassShareSampler instance.

        Args:
            dataset: Dataset to sample from; its samples must carry a ``mask``.
            size: Dimensions of each patch, ``size`` or ``(height, width)``.
            cls: The class, as its mask value or (for datasets with
                ``class_schemes`` and ``classes``, such as
                :class:`~torchgeo_csia.datasets.SPARCS`) its name.
            share: ``(low, high)``: the least and most share of the patch's pixels
                that are *cls*.
            length: Number of patches per epoch (defaults to the number of
                candidate patches; without *replacement* at most that many).
            stride: Step in pixels between the corners of candidate patches.
            units: Defines if ``size`` is in pixel or CRS units.
            weighted: Draw patches in proportion to their share of *cls*, so each
                pixel of the class is seen about as often (uniform draws favour
                scenes where the class is patchy over scenes it covers widely).
            replacement: Draw with replacement (without, no patch repeats within
                an epoch).
            fixed: Draw the same patches in the same order every epoch (for
                validation); otherwise every epoch draws anew.
            ignore_index: Mask value of nodata; patches holding it are skipped
                (``None``: keep them).
            generator: Seed or numpy generator.

        Raises:
            ValueError: If *share* is not a range within [0, 1], *stride* is not
                positive, *cls* is an unknown name, or no patch qualifies.
        """
        self.share = _check_share(share, stride)
        height, width = (size, size) if isinstance(size, int | float) else size
        self.res = dataset.res
        if units == Units.PIXELS:
            height, width = height * self.res[1], width * self.res[0]
        self.size = (height, width)
        self.cls = _class_value(dataset, cls)
        # the lattice of SceneRandomSampler: pixel corners counted from the lower
        # left of all footprints, so both samplers cut the same pixels
        self.origin = dataset.index.total_bounds[:2]
        rows, cols = round(height / self.res[1]), round(width / self.res[0])
        corners, shares = [], []
        for footprint in dataset.index.geometry:
            found = self._candidates(
                dataset, footprint.bounds, (rows, cols), stride, ignore_index
            )
            corners.append(found[0])
            shares.append(found[1])
        #: ``N x 2`` lower-left corners (x, y) of the candidate patches
        self.corners: NDArray[np.float64] = np.concatenate(corners)
        #: the class's share in each candidate patch
        self.shares: NDArray[np.float64] = np.concatenate(shares)
        if not len(self.corners):
            raise ValueError(
                f'no {rows} x {cols} px patch holds class {self.cls} within share '
                f'{self.share} (and no nodata); widen share or shrink size'
            )
        self.draws = _ShareDraws(
            self.shares, length, weighted, replacement, fixed, generator
        )
        self._length = len(self.draws)

    def _candidates(
        self,
        dataset: GeoDataset,
        bounds: tuple[float, float, float, float],
        patch: tuple[int, int],
        stride: int,
        ignore_index: int | None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Corners and class shares of the qualifying patches of one footprint."""
        xres, yres = self.res
        ox, oy = self.origin
        # The footprint's bounding box, shrunk to the lattice and by _INSET more
        # pixels. A read that reaches past the edge of a warped scene's raster is
        # clipped there and resampled with another phase, so its pixels would
        # differ from those of a patch read alone; inside, both reads agree.
        x0 = ox + (math.ceil(round((bounds[0] - ox) / xres, 6)) + _INSET) * xres
        x1 = ox + (math.floor(round((bounds[2] - ox) / xres, 6)) - _INSET) * xres
        y0 = oy + (math.ceil(round((bounds[1] - oy) / yres, 6)) + _INSET) * yres
        y1 = oy + (math.floor(round((bounds[3] - oy) / yres, 6)) - _INSET) * yres
        none = np.zeros((0, 2)), np.zeros(0)
        if round((x1 - x0) / xres) < patch[1] or round((y1 - y0) / yres) < patch[0]:
            return none
        # the public query, so the shares are those of the pixels the patches will
        # hold (overlapping scenes mosaic as they will when the patch is read)
        mask = dataset[x0:x1:xres, y0:y1:yres]['mask']
        r, c, share = _qualifying(
            mask, self.cls, self.share, patch, stride, ignore_index
        )
        # row 0 of the mask is its top (y1); a patch's lower left is patch rows down
        xs = x0 + (c * stride).double().numpy() * xres
        ys = y1 - (r * stride + patch[0]).double().numpy() * yres
        return np.stack([xs, ys], 1), share.numpy()

    def __iter__(self) -> Iterator[tuple[slice, slice]]:
        """Iterate over the patches of one epoch.

        Yields:
            [xmin:xmax, ymin:ymax] coordinates to index a dataset.
        """
        height, width = self.size
        for i in self.draws.epoch():
            x, y = self.corners[i]
            yield slice(float(x), float(x) + width), slice(float(y), float(y) + height)

    def __len__(self) -> int:
        """Return the number of patches in one epoch.

        Returns:
            The length of the epoch.
        """
        return self._length


def _box_sums(mask: Tensor, patch: tuple[int, int], stride: int) -> Tensor:
    """Pixels set in each patch of *mask*, corners every *stride* pixels.

    From a summed-area table, so the cost does not grow with the patch (an average
    pool of 256 px patches took seconds a scene); float64 keeps the counts exact.
    """
    table = F.pad(mask.double().cumsum(0).cumsum(1), (1, 0, 1, 0))
    height, width = patch
    rows = torch.arange(0, mask.shape[0] - height + 1, stride)
    cols = torch.arange(0, mask.shape[1] - width + 1, stride)
    top, bottom = table[rows], table[rows + height]
    return (
        bottom[:, cols + width] - bottom[:, cols] - top[:, cols + width] + top[:, cols]
    )


def _class_value(dataset: GeoDataset, cls: int | str) -> int:
    """The mask value of *cls*, a value or a name of the dataset's class scheme."""
    if not isinstance(cls, str):
        return int(cls)
    schemes = getattr(dataset, 'class_schemes', None)
    scheme = getattr(dataset, 'classes', None)
    names = schemes.get(scheme) if isinstance(schemes, dict) else None
    if names is None or cls not in names:
        raise ValueError(
            f'unknown class {cls!r}'
            + (f'; expected one of {list(names)}' if names else '')
            + ' (or pass the mask value)'
        )
    return list(names).index(cls)


class SceneShareSampler(Sampler[tuple[int, int, int]]):
    """Random crops of whole scenes whose share of one class lies in a range.

    :class:`ClassShareSampler` for scenes each on its own grid, as
    :class:`~torchgeo_csia.datamodules.sparcs.SPARCSCrops` holds them: candidate
    crops have corners every *stride* pixels from each scene's top left, hold no
    nodata and hold *share* of *cls*; they are indexed ``(scene, top, left)``.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        masks: Sequence[Tensor],
        *,
        size: tuple[int, int] | int,
        cls: int,
        share: tuple[float, float] = (0.03, 0.7),
        length: int | None = None,
        stride: int = 16,
        weighted: bool = False,
        replacement: bool = True,
        fixed: bool = False,
        ignore_index: int | None = IGNORE_INDEX,
        generator: int | np.random.Generator | None = None,
    ) -> None:
        """Initialize a new SceneShareSampler instance.

        Args:
            masks: each scene's ``H x W`` labels.
            size: crop size in pixels, ``size`` or ``(height, width)``.
            cls: the class's mask value.
            share: ``(low, high)``: the least and most share of the crop's pixels
                that are *cls*.
            length: crops per epoch, as in :class:`ClassShareSampler`.
            stride: step in pixels between the corners of candidate crops.
            weighted: draw crops in proportion to their share of *cls*.
            replacement: draw with replacement.
            fixed: draw the same crops in the same order every epoch.
            ignore_index: mask value of nodata (``None``: keep crops holding it).
            generator: seed or numpy generator.

        Raises:
            ValueError: If *share* is not a range within [0, 1], *stride* is not
                positive, or no crop qualifies.
        """
        patch = (size, size) if isinstance(size, int) else (size[0], size[1])
        self.share = _check_share(share, stride)
        crops, shares = [], []
        for i, mask in enumerate(masks):
            if mask.shape[-2] < patch[0] or mask.shape[-1] < patch[1]:
                continue
            r, c, found = _qualifying(
                mask, cls, self.share, patch, stride, ignore_index
            )
            crops.append(
                torch.stack([torch.full_like(r, i), r * stride, c * stride], 1)
            )
            shares.append(found)
        if not crops or not sum(len(c) for c in crops):
            raise ValueError(
                f'no {patch[0]} x {patch[1]} px crop holds class {cls} within share '
                f'{self.share} (and no nodata); widen share or shrink size'
            )
        #: ``N x 3`` (scene, top, left) of the candidate crops
        self.crops = torch.cat(crops)
        #: the class's share in each candidate crop
        self.shares: NDArray[np.float64] = torch.cat(shares).numpy()
        self.draws = _ShareDraws(
            self.shares, length, weighted, replacement, fixed, generator
        )

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        """Iterate over the crops of one epoch.

        Yields:
            ``(scene, top, left)`` of each crop.
        """
        # one gather and one copy to Python for the whole epoch
        rows = self.crops[self.draws.epoch()].tolist()
        yield from ((scene, top, left) for scene, top, left in rows)

    def __len__(self) -> int:
        """Crops per epoch."""
        return len(self.draws)
