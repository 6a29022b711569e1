"""Data-loading benchmark: SPARCS against TorchGeo's L8Biome on equivalent files."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence

import numpy as np
import rasterio
from pyproj import CRS
from torchgeo.datasets import GeoDataset, L8Biome
from torchgeo.samplers import RandomPatchSampler

from ..datasets import SPARCS
from ..datasets.synthetic import SyntheticScene, write_scene

# L8Biome stores labels as 0 fill, 64 shadow, 128 clear, 192 thin cloud, 255 cloud.
_L8BIOME_CODES = np.array([64, 64, 128, 128, 128, 255, 128], dtype=np.uint8)


def _mosaic_scenes(count: int, size: int) -> list[SyntheticScene]:
    """Scenes side by side in one UTM zone, so RandomPatchSampler can draw from them."""
    return [
        SyntheticScene(
            f'LC8001{81 + i:03d}2013365LGN00_18',
            32619,
            (240000.0 + i * size * 30.0, -3360000.0),
            84.0,
            60.0,
        )
        for i in range(count)
    ]


def write_benchmark_scenes(root: str, count: int = 4, size: int = 1000) -> None:
    """Write the same scenes as SPARCS (both layouts) and as L8Biome files.

    Args:
        root: folder; gets ``usgs/``, ``osu/`` and ``l8biome/``.
        count: number of scenes.
        size: scene height and width in pixels.
    """
    for i, scene in enumerate(_mosaic_scenes(count, size)):
        for layout in ('usgs', 'osu'):
            write_scene(os.path.join(root, layout), scene, size, layout, seed=i)
        stem = os.path.join(root, 'osu', scene.scene_id)
        l8 = os.path.join(root, 'l8biome', scene.scene_id[:21])
        os.makedirs(l8, exist_ok=True)
        with rasterio.open(f'{stem}_data.tif') as src:
            profile, data = src.profile, src.read()
        with rasterio.open(f'{stem}_labels.tif') as src:
            labels = src.read(1)
        # L8Biome has 11 bands (B8 too): repeat B7 in its place.
        data = np.concatenate([data[:7], data[6:7], data[7:]])
        profile.update(count=11)
        with rasterio.open(f'{l8}/{scene.scene_id[:21]}.TIF', 'w', **profile) as dst:
            dst.write(data)
        profile.update(count=1, dtype='uint8')
        mask_path = f'{l8}/{scene.scene_id[:21]}_fixedmask.TIF'
        with rasterio.open(mask_path, 'w', **profile) as dst:
            dst.write(_L8BIOME_CODES[labels][None])


def _rate(dataset: GeoDataset, patches: int, patch_size: int, seed: int) -> float:
    sampler = RandomPatchSampler(
        dataset, size=patch_size, length=patches, generator=seed
    )
    queries = list(sampler)
    if not queries:
        raise ValueError(
            f'RandomPatchSampler drew no {patch_size} px patch: scenes too small'
        )
    for query in queries[:5]:  # open and cache file handles
        dataset[query]
    start = time.perf_counter()
    for query in queries:
        dataset[query]
    return len(queries) / (time.perf_counter() - start)


def run(
    count: int = 4,
    size: int = 1000,
    patches: int = 300,
    patch_size: int = 256,
    root: str | None = None,
    echo: Callable[[str], None] = print,
) -> list[tuple[str, str, float, float]]:
    """Time random 256 x 256 patches from SPARCS and L8Biome side by side.

    Args:
        count: number of generated scenes.
        size: scene size in pixels (the real scenes are 1000).
        patches: patches timed per row.
        patch_size: patch size in pixels.
        root: where to write the scenes (a temporary folder by default).
        echo: printer for the table.

    Returns:
        Rows of (crs, reader, patches/s, ratio to L8Biome).
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = root or tmp
        write_benchmark_scenes(root, count, size)
        for crs_name, crs in (
            ('native UTM', CRS.from_epsg(32619)),
            ('EPSG:3857', CRS.from_epsg(3857)),
        ):
            readers: dict[str, GeoDataset] = {
                'L8Biome (torchgeo)': L8Biome(
                    os.path.join(root, 'l8biome'),
                    crs=crs,
                    res=30.0,
                    bands=SPARCS.all_bands,  # the same 10 bands, B8 skipped
                ),
                'SPARCS osu (_labels.tif)': SPARCS(
                    os.path.join(root, 'osu'), image='data', crs=crs, res=30.0
                ),
                'SPARCS usgs (_mask.png)': SPARCS(
                    os.path.join(root, 'usgs'), image='data', crs=crs, res=30.0
                ),
                'SPARCS osu, bilinear images': SPARCS(
                    os.path.join(root, 'osu'),
                    image='data',
                    crs=crs,
                    res=30.0,
                    resampling='bilinear',
                ),
            }
            base = 0.0
            for name, ds in readers.items():
                rate = _rate(ds, patches, patch_size, seed=0)
                base = base or rate
                rows.append((crs_name, name, rate, rate / base))
    echo(
        f'{count} generated scenes of {size} x {size} px, 10 bands uint16; '
        f'{patches} RandomPatchSampler patches of {patch_size} px per row, '
        f'one process, {os.cpu_count()} CPUs'
    )
    echo('| CRS | reader | patches/s | ratio to L8Biome |')
    echo('|---|---|---|---|')
    for crs_name, name, rate, ratio in rows:
        echo(f'| {crs_name} | {name} | {rate:.1f} | {ratio:.2f} |')
    return rows


def loader(
    root: str,
    workers: Sequence[int] = (0, 4, 8, 15),
    batch_size: int = 32,
    patch_size: int = 256,
    batches: int = 20,
    grids: Sequence[str] = ('dataset', 'native'),
    echo: Callable[[str], None] = print,
) -> list[tuple[str, int, float]]:
    """Training patches/s that :class:`SPARCSDataModule` delivers from real files.

    The train split of the SPARCS quicklooks under *root* (``image='photo'``), read
    through the datamodule's own training loader for each grid and worker count;
    set-up (with ``grid='native'`` it reads the scenes whole) and the first batch
    (worker start-up) are not timed.

    Args:
        root: a SPARCS folder (USGS or Oregon State layout).
        workers: loader worker counts to time.
        batch_size: patches per batch.
        patch_size: patch size in pixels.
        batches: timed batches per row.
        grids: the datamodule's ``grid`` settings to time.
        echo: printer for the table.

    Returns:
        Rows of (grid, workers, patches/s).
    """
    from ..datamodules import SPARCSDataModule

    rows = []
    for grid in grids:
        for n in workers:
            dm = SPARCSDataModule(
                batch_size=batch_size,
                patch_size=patch_size,
                length=batch_size * (batches + 1),
                num_workers=n,
                grid=grid,  # type: ignore[arg-type]
                paths=root,
                image='photo',
                classes='csia',
            )
            dm.setup('fit')
            it = iter(dm.train_dataloader())
            next(it)
            start = time.perf_counter()
            done = sum(len(batch['image']) for batch in it)
            rows.append((grid, n, done / (time.perf_counter() - start)))
    echo(
        f'SPARCSDataModule training patches from {root} ({patch_size} px, batch '
        f'{batch_size}, {batches} timed batches a row, {os.cpu_count()} CPUs)'
    )
    echo('| grid | workers | patches/s |\n|---|---|---|')
    for grid, n, rate in rows:
        echo(f'| {grid} | {n} | {rate:.0f} |')
    return rows
