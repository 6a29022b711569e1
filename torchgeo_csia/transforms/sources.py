"""Where CSIA structure shapes come from: a bank of real masks, or procedural blobs.

A source answers two questions for a batch of ``n`` patches of ``height x width``:
:meth:`clouds` gives cloud masks with their paired shadow masks (``None`` when the
source has no real pairing, so the augmentation projects the shadow itself), and
:meth:`snow` gives snow masks.

.. versionadded:: 0.1
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ._checks import CSIA_CHECK
from .structures import blob_masks, pack_masks, random_flips, unpack_masks


class StructureSource(Protocol):
    """What the CSIA augmentations need from a structure source."""

    def clouds(
        self, n: int, height: int, width: int, device: torch.device
    ) -> tuple[Tensor, Tensor | None]:
        """``n`` cloud masks and their paired shadow masks (or ``None``)."""

    def snow(self, n: int, height: int, width: int, device: torch.device) -> Tensor:
        """``n`` snow masks."""


class ProceduralStructures:
    """Smooth random blobs, no bank needed.

    Args:
        coverage: range of the share of the patch that one structure covers.
        scale: typical structure size in pixels.

    .. versionadded:: 0.1
    """

    def __init__(
        self, coverage: tuple[float, float] = (0.1, 0.4), scale: int = 48
    ) -> None:
        """Initialize the source."""
        CSIA_CHECK(
            0 < coverage[0] <= coverage[1] < 1,
            lambda: f'coverage must satisfy 0 < low <= high < 1, got {coverage}',
        )
        self.coverage = coverage
        self.scale = scale

    def _blobs(self, n: int, height: int, width: int, device: torch.device) -> Tensor:
        low, high = self.coverage
        cov = low + torch.rand(n, device=device) * (high - low)
        return blob_masks(n, height, width, cov, self.scale, device)

    def clouds(
        self, n: int, height: int, width: int, device: torch.device
    ) -> tuple[Tensor, Tensor | None]:
        """Cloud blobs; no paired shadows (they are projected)."""
        return self._blobs(n, height, width, device), None

    def snow(self, n: int, height: int, width: int, device: torch.device) -> Tensor:
        """Snow blobs."""
        return self._blobs(n, height, width, device)


def _fit(masks: Tensor, index: Tensor, height: int, width: int) -> Tensor:
    """Pick ``N x K x S x S`` masks by *index* and fit them to the patch.

    Resized, then randomly flipped and transposed, alike for the K masks of an entry.
    """
    out = masks[index]
    n = len(index)
    if out.shape[-2:] != (height, width):
        out = F.interpolate(out.float(), size=(height, width), mode='nearest').bool()
    if n == 0:
        return out
    (out,) = random_flips(out)
    return out


class StructureBank:
    """Real structure shapes cut from labels.

    Cloud masks paired with their shadows, and snow masks. Build one with
    ``torchgeo-csia build-bank``.

    Masks are stored bit-packed in a compressed ``.npz`` file. Drawing picks entries
    at random (one index draws a cloud and its own shadow, so the pair's geometry is
    real), resizes them to the patch and applies the same random flip and transpose
    to both members of a pair.

    .. versionadded:: 0.1
    """

    def __init__(
        self, cloud: Tensor, shadow: Tensor, snow: Tensor, meta: dict[str, Any]
    ) -> None:
        """Initialize a bank from boolean masks.

        Args:
            cloud: ``N x S x S`` cloud masks.
            shadow: ``N x S x S`` shadow masks paired with *cloud*.
            snow: ``M x S x S`` snow masks.
            meta: provenance (scenes, patch size, thresholds).

        Raises:
            ValueError: If the masks do not fit together.
        """
        CSIA_CHECK(
            cloud.shape == shadow.shape and cloud.ndim == 3,
            lambda: (
                f'cloud and shadow must both be N x S x S, got {tuple(cloud.shape)} '
                f'and {tuple(shadow.shape)}'
            ),
        )
        CSIA_CHECK(
            snow.ndim == 3 and snow.shape[1:] == cloud.shape[1:],
            lambda: (
                f'snow must be M x {cloud.shape[1]} x {cloud.shape[2]}, got '
                f'{tuple(snow.shape)}'
            ),
        )
        self.pairs = torch.stack([cloud, shadow], 1).bool()
        self.snow_masks = snow.bool()
        self.meta = meta
        self._cache: dict[torch.device, tuple[Tensor, Tensor]] = {}

    def __len__(self) -> int:
        return len(self.pairs) + len(self.snow_masks)

    def _on(self, device: torch.device) -> tuple[Tensor, Tensor]:
        if device not in self._cache:
            self._cache[device] = (self.pairs.to(device), self.snow_masks.to(device))
        return self._cache[device]

    def clouds(
        self, n: int, height: int, width: int, device: torch.device
    ) -> tuple[Tensor, Tensor | None]:
        """Random cloud masks with their own shadows."""
        pairs, _ = self._on(device)
        if len(pairs) == 0:
            raise ValueError('this structure bank holds no cloud/shadow pairs')
        index = torch.randint(len(pairs), (n,), device=device)
        both = _fit(pairs, index, height, width)
        return both[:, 0], both[:, 1]

    def snow(self, n: int, height: int, width: int, device: torch.device) -> Tensor:
        """Random snow masks."""
        _, snow = self._on(device)
        if len(snow) == 0:
            raise ValueError('this structure bank holds no snow masks')
        index = torch.randint(len(snow), (n,), device=device)
        return _fit(snow[:, None], index, height, width)[:, 0]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the bank to a compressed ``.npz`` file."""
        np.savez_compressed(
            path,
            pairs=pack_masks(self.pairs.flatten(0, 1)).numpy(),
            snow=pack_masks(self.snow_masks).numpy(),
            meta=np.array(json.dumps(self.meta)),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> StructureBank:
        """Read a bank written by :meth:`save`.

        Raises:
            ValueError: If *path* is not a structure bank.
        """
        try:
            with np.load(path) as f:
                pairs = unpack_masks(torch.from_numpy(f['pairs']))
                snow = unpack_masks(torch.from_numpy(f['snow']))
                meta = json.loads(str(f['meta']))
        except (OSError, KeyError, ValueError) as err:
            raise ValueError(f'{path} is not a structure bank: {err}') from err
        pairs = pairs.reshape(-1, 2, *pairs.shape[-2:])
        return cls(pairs[:, 0], pairs[:, 1], snow, meta)


def sparcs_bank() -> StructureBank:
    """The shipped structure bank, from the current weights folder.

    The file is :data:`~torchgeo_csia.models.weights.SPARCS_BANK` under
    :func:`~torchgeo_csia.models.weights.models_dir`, which is looked up at each call
    (as for the weights); a file is verified and loaded once.

    Returns:
        The bank.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: If its hash does not match its name.

    .. versionadded:: 0.1
    """
    # the registry of shipped files (a floor down) knows where the bank lies
    from ..models.weights import SPARCS_BANK, models_dir, verified_path

    path = verified_path(models_dir() / SPARCS_BANK)
    stat = path.stat()
    return _load_bank(path, stat.st_size, stat.st_mtime_ns)


@cache
def _load_bank(path: Path, size: int, mtime_ns: int) -> StructureBank:
    return StructureBank.load(path)
