import gc
import glob
import io
import os
import shutil
import subprocess
import sys
import urllib.error
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest
import rasterio
import shapely
import torch
from PIL import Image
from pyproj import CRS
from rasterio.transform import Affine
from torch.utils.data import DataLoader
from torchgeo.datasets import DatasetNotFoundError, RGBBandsMissingError, stack_samples
from torchgeo.samplers import (
    GriddedPatchSampler,
    GridGeoSampler,
    PreChippedGeoSampler,
    RandomBatchGeoSampler,
    RandomGeoSampler,
    RandomPatchSampler,
    RandomTimestampSampler,
)

import torchgeo_csia.datasets.sparcs as sparcs_module
from torchgeo_csia.datasets import IGNORE_INDEX, SPARCS
from torchgeo_csia.datasets.synthetic import (
    default_scenes,
    real_or_sample,
    write_scene,
)
from torchgeo_csia.samplers import SceneGriddedSampler, SceneRandomSampler

from ..conftest import DATA, REAL_OSU

SCENE = 'LC80010812013365LGN00_18'


def scene_crs_bounds(root: str, scene: str) -> tuple[CRS, rasterio.coords.BoundingBox]:
    with rasterio.open(os.path.join(root, f'{scene}_qmask.tif')) as src:
        return CRS.from_user_input(src.crs), src.bounds


def stitch(ds: SPARCS, sampler: GriddedPatchSampler, bounds, shape, key: str):
    """Mosaic gridded patches back onto a scene's pixel grid."""
    h, w = shape
    out = None
    for query in sampler:
        sample = ds[query]
        data = sample[key].numpy()
        if out is None:
            out = np.full((*data.shape[:-2], h, w), -1, dtype=np.int64)
        x, y = query[0], query[1]
        ph, pw = data.shape[-2:]
        c = round((x.start - bounds.left) / 30)
        r = round((bounds.top - y.stop) / 30)
        rs, cs, re, ce = max(r, 0), max(c, 0), min(r + ph, h), min(c + pw, w)
        out[..., rs:re, cs:ce] = data[..., rs - r : re - r, cs - c : ce - c]
    assert out is not None
    return out


def scene_query(ds: SPARCS, i: int = 0) -> tuple[slice, slice]:
    """Bounding box of the i-th scene's footprint (scenes lie far apart)."""
    xmin, ymin, xmax, ymax = ds.index.geometry.iloc[i].bounds
    return slice(xmin, xmax), slice(ymin, ymax)


def copy_scene(src_root: str, dst_root: Path, scene: str = SCENE) -> Path:
    dst_root.mkdir(parents=True, exist_ok=True)
    for path in glob.glob(os.path.join(src_root, f'{scene[:21]}*')):
        shutil.copy(path, dst_root)
    return dst_root


def flip_bit_silently(path: Path) -> None:
    """Flip one bit of a PNG's pixel data such that it still decodes, differently."""
    data = path.read_bytes()
    pos = 8
    while data[pos + 4 : pos + 8] != b'IDAT':
        pos += 12 + int.from_bytes(data[pos : pos + 4], 'big')
    length, start = int.from_bytes(data[pos : pos + 4], 'big'), pos + 8
    original = np.asarray(Image.open(path))
    for offset in range(start + length // 2, start + length):
        for bit in range(8):
            trial = bytearray(data)
            trial[offset] ^= 1 << bit
            try:
                with Image.open(io.BytesIO(bytes(trial))) as img:
                    decoded = np.asarray(img)
            except (OSError, SyntaxError, ValueError):
                continue
            if decoded.shape == original.shape and (decoded != original).any():
                path.write_bytes(bytes(trial))
                return
    raise AssertionError(f'no silent bit flip found in {path}')


def edit_grid(
    path: Path,
    a: float | None = None,
    b: float = 0.0,
    e: float | None = None,
    dx: float = 0.0,
    dy: float = 0.0,
    crs: str | None = None,
) -> None:
    """Overwrite a GeoTIFF's pixel size, rotation, origin or CRS in place."""
    with rasterio.open(path, 'r+') as dst:
        t = dst.transform
        dst.transform = Affine(
            t.a if a is None else a, b, t.c + dx, 0.0, t.e if e is None else e, t.f + dy
        )
        if crs is not None:
            dst.crs = crs


#: Every TorchGeo sampler (and ours), as a factory of (sampler, batched).
SAMPLERS: dict[str, Callable[..., tuple[Any, bool]]] = {
    'RandomGeoSampler': lambda ds, size, length, roi=None: (
        RandomGeoSampler(
            ds, size, length, roi=roi, generator=torch.Generator().manual_seed(0)
        ),
        False,
    ),
    'GridGeoSampler': lambda ds, size, length, roi=None: (
        GridGeoSampler(ds, size, roi=roi),
        False,
    ),
    'PreChippedGeoSampler': lambda ds, size, length, roi=None: (
        PreChippedGeoSampler(ds, roi=roi),
        False,
    ),
    'RandomBatchGeoSampler': lambda ds, size, length, roi=None: (
        RandomBatchGeoSampler(
            ds, size, 4, length, roi=roi, generator=torch.Generator().manual_seed(0)
        ),
        True,
    ),
    'RandomPatchSampler': lambda ds, size, length, roi=None: (
        RandomPatchSampler(ds, size=size, length=length, roi=roi, generator=0),
        False,
    ),
    'GriddedPatchSampler': lambda ds, size, length, roi=None: (
        GriddedPatchSampler(ds, size=size, roi=roi),
        False,
    ),
    'RandomPatch@RandomTimestamp': lambda ds, size, length, roi=None: (
        RandomPatchSampler(ds, size=size, length=length, roi=roi, generator=0)
        @ RandomTimestampSampler(ds, generator=0),
        False,
    ),
    'SceneRandomSampler': lambda ds, size, length, roi=None: (
        SceneRandomSampler(ds, size=size, length=length, generator=0),
        False,
    ),
    'SceneGriddedSampler': lambda ds, size, length, roi=None: (
        SceneGriddedSampler(ds, size=size),
        False,
    ),
}


def run_sampler(
    ds: SPARCS,
    name: str,
    size: int,
    length: int,
    roi: shapely.Polygon | None = None,
    limit: int | None = None,
) -> int:
    """Read every query of a sampler (at most *limit*, evenly spread)."""
    sampler, batched = SAMPLERS[name](ds, size, length, roi)
    queries = list(sampler)
    if limit is not None and len(queries) > limit:
        queries = queries[:: len(queries) // limit][:limit]
    for query in queries:
        for q in query if batched else [query]:
            x = ds[q]
            assert x['mask'].shape == x['image'].shape[1:]
            if name != 'PreChippedGeoSampler':
                assert x['mask'].shape == (size, size)
            assert set(x['mask'].unique().tolist()) <= {*range(7), IGNORE_INDEX}
    return len(queries)


class TestSPARCS:
    @pytest.mark.parametrize('layout', ['usgs', 'osu'])
    @pytest.mark.parametrize('image', ['data', 'photo'])
    def test_getitem(self, layout: str, image: str) -> None:
        ds = SPARCS(os.path.join(DATA, layout), image=image)
        assert len(ds) == 4
        x = ds[scene_query(ds)]
        nbands = 10 if image == 'data' else 3
        assert x['image'].shape[0] == nbands
        assert x['image'].dtype == torch.float32
        assert x['mask'].dtype == torch.long
        assert x['mask'].shape == x['image'].shape[1:]
        assert set(x['mask'].unique().tolist()) <= {*range(7), IGNORE_INDEX}
        for key in ('bounds', 'transform', 'sun_azimuth', 'sun_elevation'):
            assert isinstance(x[key], torch.Tensor)

    def test_sun_geometry_from_mtl(self, usgs_root: str) -> None:
        crs, b = scene_crs_bounds(usgs_root, SCENE)
        ds = SPARCS(usgs_root, crs=crs)
        x = ds[b.left : b.left + 600, b.bottom : b.bottom + 600]
        assert x['sun_azimuth'].item() == pytest.approx(84.0)
        assert x['sun_elevation'].item() == pytest.approx(60.0)

    @pytest.mark.parametrize('layout', ['usgs', 'osu'])
    @pytest.mark.parametrize('image', ['data', 'photo'])
    def test_own_crs_is_exact(self, layout: str, image: str, tmp_path: Path) -> None:
        root = os.path.join(DATA, layout)
        crs, b = scene_crs_bounds(root, SCENE)
        ds = SPARCS(str(copy_scene(root, tmp_path)), crs=crs, res=30, image=image)
        sampler = GriddedPatchSampler(ds, size=24, roi=shapely.box(*b))
        mask = stitch(ds, sampler, b, (64, 64), 'mask')
        img = stitch(ds, sampler, b, (64, 64), 'image')
        if layout == 'usgs':
            expected = np.asarray(Image.open(os.path.join(root, f'{SCENE}_mask.png')))
        else:
            with rasterio.open(os.path.join(root, f'{SCENE}_labels.tif')) as src:
                expected = src.read(1)
        np.testing.assert_array_equal(mask, expected)
        if image == 'data':
            with rasterio.open(os.path.join(root, f'{SCENE}_data.tif')) as src:
                np.testing.assert_array_equal(img, src.read())
        else:
            png = np.asarray(Image.open(os.path.join(root, f'{SCENE}_photo.png')))
            np.testing.assert_array_equal(img, png.transpose(2, 0, 1))

    def test_layouts_agree(self, usgs_root: str, osu_root: str) -> None:
        a, b = SPARCS(usgs_root), SPARCS(osu_root)
        query = scene_query(a)
        torch.testing.assert_close(a[query]['mask'], b[query]['mask'])
        torch.testing.assert_close(a[query]['image'], b[query]['image'])

    def test_classes_csia(self, usgs_root: str) -> None:
        raw = SPARCS(usgs_root, classes='sparcs')
        csia = SPARCS(usgs_root, classes='csia')
        m_raw = raw[scene_query(raw)]['mask']
        m_csia = csia[scene_query(csia)]['mask']
        table = {0: 1, 1: 1, 2: 0, 3: 2, 4: 0, 5: 3, 6: 0, IGNORE_INDEX: IGNORE_INDEX}
        for code, cls in table.items():
            assert (m_csia[m_raw == code] == cls).all()
        assert set(m_csia.unique().tolist()) <= {0, 1, 2, 3, IGNORE_INDEX}

    def test_outside_scenes_is_ignore_index(self, usgs_root: str) -> None:
        ds = SPARCS(usgs_root)  # EPSG:3857: scene footprints do not fill the bbox
        x = ds[scene_query(ds)]
        assert (x['mask'] == IGNORE_INDEX).any()
        assert (x['image'][:, x['mask'] == IGNORE_INDEX] == 0).all()

    def test_bands(self, usgs_root: str) -> None:
        ds = SPARCS(usgs_root, image='data', bands=['B5', 'B4'])
        full = SPARCS(usgs_root, image='data')
        x, y = ds[scene_query(ds)]['image'], full[scene_query(full)]['image']
        torch.testing.assert_close(x, y[[4, 3]])

    @pytest.mark.parametrize(
        'kwargs, match',
        [
            ({'bands': ['B8'], 'image': 'data'}, "bands \\['B8'\\] are not valid"),
            ({'bands': ['B4'], 'image': 'photo'}, 'not valid for image'),
            ({'image': 'toa'}, "image must be 'data' or 'photo'"),
            ({'classes': 'l8biome'}, 'classes must be one of'),
            ({'split': 'holdout'}, "split must be 'all'"),
        ],
    )
    def test_bad_arguments(self, usgs_root: str, kwargs: dict, match: str) -> None:
        with pytest.raises(ValueError, match=match):
            SPARCS(usgs_root, **kwargs)

    def test_plot(self, usgs_root: str) -> None:
        ds = SPARCS(usgs_root, image='data', classes='csia')
        x = ds[scene_query(ds)]
        fig = ds.plot(x, suptitle='Test')
        plt.close(fig)
        x['prediction'] = x['mask'].clone()
        fig = ds.plot(x, show_titles=False)
        assert len(fig.axes) == 3
        plt.close(fig)
        photo = SPARCS(usgs_root, image='photo')
        plt.close(photo.plot(photo[scene_query(photo)]))

    def test_plot_rgb_missing(self, usgs_root: str) -> None:
        ds = SPARCS(usgs_root, image='data', bands=['B5', 'B6'])
        with pytest.raises(RGBBandsMissingError):
            ds.plot(ds[scene_query(ds)])

    def test_not_found(self, tmp_path: Path) -> None:
        with pytest.raises(DatasetNotFoundError, match='Dataset not found'):
            SPARCS(str(tmp_path))

    def test_download(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        def fake_download(url: str, root: str, filename: str | None = None, **kw):
            assert url == SPARCS.url
            shutil.copy(os.path.join(DATA, 'l8cloudmasks.zip'), root)

        monkeypatch.setattr(sparcs_module, 'download_url', fake_download)
        ds = SPARCS(str(tmp_path), download=True)
        assert len(ds) == 4
        assert os.path.isdir(tmp_path / 'sending')
        # Second time: found on disk, nothing downloaded.
        monkeypatch.setattr(sparcs_module, 'download_url', None)
        assert len(SPARCS(str(tmp_path), download=True)) == 4

    def test_download_incomplete(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def fake_download(url: str, root: str, filename: str | None = None, **kw):
            with zipfile.ZipFile(os.path.join(root, SPARCS.filename), 'w') as zf:
                zf.write(
                    os.path.join(DATA, 'usgs', f'{SCENE}_mask.png'),
                    f'sending/{SCENE}_mask.png',
                )

        monkeypatch.setattr(sparcs_module, 'download_url', fake_download)
        with pytest.raises(ValueError, match=f'{SCENE} is incomplete'):
            SPARCS(str(tmp_path), download=True)

    def test_invalid_query(self, usgs_root: str) -> None:
        ds = SPARCS(usgs_root)
        with pytest.raises(IndexError, match='not found in dataset'):
            ds[0:10, 0:10]

    def test_missing_label(self, usgs_root: str, tmp_path: Path) -> None:
        root = copy_scene(usgs_root, tmp_path)
        os.remove(root / f'{SCENE}_mask.png')
        with pytest.raises(
            ValueError, match=f'missing {SCENE}_labels.* or {SCENE}_mask'
        ):
            SPARCS(str(root))

    def test_missing_mtl(self, usgs_root: str, tmp_path: Path) -> None:
        root = copy_scene(usgs_root, tmp_path)
        os.remove(root / f'{SCENE[:21]}_mtl.txt')
        with pytest.raises(ValueError, match=f'missing {SCENE[:21]}_mtl.txt'):
            SPARCS(str(root))

    def test_mtl_without_sun(self, usgs_root: str, tmp_path: Path) -> None:
        root = copy_scene(usgs_root, tmp_path)
        (root / f'{SCENE[:21]}_mtl.txt').write_text('GROUP = L1_METADATA_FILE\nEND\n')
        with pytest.raises(ValueError, match='no SUN_AZIMUTH entry'):
            SPARCS(str(root))

    @pytest.mark.parametrize('name', ['data.tif', 'qmask.tif'])
    def test_corrupt_geotiff(self, usgs_root: str, tmp_path: Path, name: str) -> None:
        root = copy_scene(usgs_root, tmp_path)
        if name == 'qmask.tif':  # the grid of the PNGs when there is no _data.tif
            os.remove(root / f'{SCENE}_data.tif')
        (root / f'{SCENE}_{name}').write_bytes(b'II*\x00 this is not a tiff')
        with pytest.raises(ValueError, match=f'{SCENE}_{name}: cannot be read'):
            SPARCS(str(root), image='photo' if name == 'qmask.tif' else 'data')

    def test_wrong_band_count(self, usgs_root: str, tmp_path: Path) -> None:
        root = copy_scene(usgs_root, tmp_path)
        path = root / f'{SCENE}_data.tif'
        with rasterio.open(path) as src:
            profile, data = src.profile, src.read([1, 2, 3])
        profile['count'] = 3
        with rasterio.open(path, 'w', **profile) as dst:
            dst.write(data)
        with pytest.raises(ValueError, match='has 3 bands, expected 10'):
            SPARCS(str(root), image='data')

    def test_mask_size_mismatch(self, usgs_root: str, tmp_path: Path) -> None:
        root = copy_scene(usgs_root, tmp_path)
        Image.new('P', (10, 10)).save(root / f'{SCENE}_mask.png')
        with pytest.raises(ValueError, match='is 10 x 10 px'):
            SPARCS(str(root))

    @pytest.mark.parametrize('layout', ['usgs', 'osu'])
    def test_bad_mask_codes(self, layout: str, tmp_path: Path) -> None:
        root = copy_scene(os.path.join(DATA, layout), tmp_path)
        if layout == 'usgs':
            path = root / f'{SCENE}_mask.png'
            png = Image.open(path)
            codes = np.asarray(png).copy()
            codes[0, :5] = 9
            out = Image.fromarray(codes, mode='P')
            out.putpalette(png.getpalette())
            out.save(path)
        else:
            path = root / f'{SCENE}_labels.tif'
            with rasterio.open(path, 'r+') as dst:
                codes = dst.read()
                codes[0, 0, :5] = 9
                dst.write(codes)
        ds = SPARCS(str(root))
        with pytest.raises(ValueError, match=r'codes \[9\] outside the SPARCS codes'):
            ds[scene_query(ds)]

    def test_png_not_palette(self, usgs_root: str, tmp_path: Path) -> None:
        root = copy_scene(usgs_root, tmp_path)
        Image.new('RGB', (64, 64)).save(root / f'{SCENE}_mask.png')
        ds = SPARCS(str(root))
        with pytest.raises(ValueError, match="expected a PNG of mode 'P'"):
            ds[scene_query(ds)]

    def test_checksum_reads_everything(self, usgs_root: str, tmp_path: Path) -> None:
        root = copy_scene(usgs_root, tmp_path)
        assert len(SPARCS(str(root), checksum=True)) == 1
        (root / f'{SCENE}_mask.png').write_bytes(b'\x89PNG broken')
        with pytest.raises(ValueError, match=f'{SCENE}_mask.png'):
            SPARCS(str(root), checksum=True)

    def test_nothing_written(self, usgs_root: str) -> None:
        before = sorted(os.listdir(usgs_root))
        ds = SPARCS(usgs_root, image='photo')
        ds[scene_query(ds)]
        assert sorted(os.listdir(usgs_root)) == before

    def test_splits(self, usgs_root: str) -> None:
        scenes = {
            split: set(SPARCS(usgs_root, split=split).index.scene)
            for split in ('train', 'val', 'test')
        }
        assert scenes['train'] & scenes['val'] == set()
        assert scenes['train'] & scenes['test'] == set()
        assert scenes['val'] & scenes['test'] == set()
        assert set.union(*scenes.values()) == set(SPARCS(usgs_root).index.scene)
        # Pinned: the split must never change between machines or versions.
        assert SPARCS.split_of('LC80010812013365LGN00_18') == 'train'
        assert SPARCS.split_of('LC81180602014116LGN00_29') == 'test'
        assert SPARCS.split_of('LC80800142014169LGN00_05') == 'val'

    def test_empty_split(self, usgs_root: str, tmp_path: Path) -> None:
        root = copy_scene(usgs_root, tmp_path)
        with pytest.raises(ValueError, match="no scene of split 'val'"):
            SPARCS(str(root), split='val')

    def test_two_scenes_overlap_first_wins(self, tmp_path: Path) -> None:
        a, b = default_scenes(2)
        b = type(b)(b.scene_id, a.epsg, (a.origin[0] + 900, a.origin[1]), 100, 50)
        write_scene(str(tmp_path), a, size=64, seed=1)
        write_scene(str(tmp_path), b, size=64, seed=2)
        crs = CRS.from_epsg(a.epsg)
        ds = SPARCS(str(tmp_path), crs=crs, res=30)
        x = ds[ds.bounds]
        assert x['mask'].shape == (64, 94)
        assert not (x['mask'] == IGNORE_INDEX).any()

    def test_scene_gridded_sampler(self, usgs_root: str) -> None:
        ds = SPARCS(usgs_root)
        sampler = SceneGriddedSampler(ds, size=32)
        queries = list(sampler)
        assert len(sampler) == len(queries) >= 4 * 4
        for query in queries:
            assert ds[query]['mask'].shape == (32, 32)

    def test_scene_random_sampler(self, usgs_root: str) -> None:
        ds = SPARCS(usgs_root)
        sampler = SceneRandomSampler(ds, size=32, length=200, generator=0)
        queries = list(sampler)
        assert len(queries) == 200
        hit = set()
        for query in queries:
            x = ds[query]
            assert x['mask'].shape == (32, 32)
            assert not (x['mask'] == IGNORE_INDEX).any()  # patch inside a footprint
            hit.add(x['sun_azimuth'].item())
        assert len(hit) == 4  # every scene drawn
        assert queries == list(SceneRandomSampler(ds, size=32, length=200, generator=0))
        with pytest.raises(ValueError, match='no scene footprint can hold'):
            SceneRandomSampler(ds, size=1000)

    @pytest.mark.parametrize('sampler_cls', [RandomPatchSampler, GriddedPatchSampler])
    def test_samplers(self, tmp_path: Path, sampler_cls: type) -> None:
        # Two neighbouring scenes (a global spread needs the Scene* samplers).
        a, b = default_scenes(2)
        b = type(b)(b.scene_id, a.epsg, (a.origin[0] + 1920, a.origin[1]), 100, 50)
        write_scene(str(tmp_path), a, size=64, seed=1)
        write_scene(str(tmp_path), b, size=64, seed=2)
        ds = SPARCS(str(tmp_path), image='photo', classes='csia')
        if sampler_cls is RandomPatchSampler:
            sampler = RandomPatchSampler(ds, size=32, length=6)
        else:
            sampler = GriddedPatchSampler(ds, size=32)
        loader = DataLoader(ds, batch_size=3, sampler=sampler, collate_fn=stack_samples)
        batches = list(loader)
        assert batches
        batch = batches[0]
        assert batch['image'].shape == (3, 3, 32, 32)
        assert batch['mask'].shape == (3, 32, 32)
        assert batch['sun_azimuth'].shape == (3,)

    # ---------------------------------------------------------- integrity (#14.6)
    @pytest.mark.parametrize('kind', ['mask', 'photo'])
    def test_checksum_png_crc(self, usgs_root: str, tmp_path: Path, kind: str) -> None:
        root = copy_scene(usgs_root, tmp_path)
        path = root / f'{SCENE}_{kind}.png'
        flip_bit_silently(path)
        assert len(SPARCS(str(root))) == 1  # decodes (as other labels) unchecked
        with pytest.raises(ValueError, match=f'{SCENE}_{kind}.png: is corrupt'):
            SPARCS(str(root), checksum=True)

    # --------------------------------------------------------------- grid (#14.7)
    @pytest.mark.parametrize(
        'change, match',
        [
            ({'a': 31.0}, 'pixels are 31.0 x 30.0 m'),
            ({'e': -29.0}, 'pixels are 30.0 x 29.0 m'),
            ({'b': 0.5}, 'rotated or sheared'),
            ({'dx': 7.0}, 'is not on the 30 m grid'),
            ({'dx': 300000.0}, 'is not inside the scene'),
            ({'dy': 30.0 * 2000}, 'is not inside the scene'),
            ({'crs': 'EPSG:32620'}, 'is not UTM zone 19'),
        ],
    )
    def test_qmask_grid_checked(
        self, usgs_root: str, tmp_path: Path, change: dict, match: str
    ) -> None:
        root = copy_scene(usgs_root, tmp_path)
        os.remove(root / f'{SCENE}_data.tif')  # the PNGs go on the qmask's grid
        edit_grid(root / f'{SCENE}_qmask.tif', **change)
        with pytest.raises(ValueError, match=f'{SCENE}_qmask.tif: .*{match}'):
            SPARCS(str(root))

    def test_half_pixel_origin_accepted(self, usgs_root: str, tmp_path: Path) -> None:
        # MTL corners are pixel centres: edges at +-15 m are the other convention
        root = copy_scene(usgs_root, tmp_path)
        os.remove(root / f'{SCENE}_data.tif')
        edit_grid(root / f'{SCENE}_qmask.tif', dx=15.0, dy=-15.0)
        assert len(SPARCS(str(root))) == 1

    def test_labels_grid_mismatch(self, osu_root: str, tmp_path: Path) -> None:
        root = copy_scene(osu_root, tmp_path)
        edit_grid(root / f'{SCENE}_labels.tif', dx=30.0)
        with pytest.raises(ValueError, match=f'{SCENE}_labels.tif: its grid .*differs'):
            SPARCS(str(root))

    def test_mtl_without_corners(self, usgs_root: str, tmp_path: Path) -> None:
        root = copy_scene(usgs_root, tmp_path)
        mtl = root / f'{SCENE[:21]}_mtl.txt'
        text = mtl.read_text().replace('CORNER_UL_PROJECTION_X_PRODUCT', 'UL_X')
        mtl.write_text(text)
        with pytest.raises(ValueError, match='no CORNER_UL_PROJECTION_X_PRODUCT entry'):
            SPARCS(str(root))

    # ---------------------------------------------------------------- MTL (#14.8)
    @pytest.mark.parametrize(
        'line, match',
        [
            ('SUN_AZIMUTH = 83.876.02841', "SUN_AZIMUTH = '83.876.02841' is not a"),
            ('SUN_AZIMUTH = 400.0', r'SUN_AZIMUTH = 400.0 is outside \[-180, 360\]'),
            ('SUN_ELEVATION = -260.5', r'SUN_ELEVATION = -260.5 is outside \(0, 90\]'),
            ('SUN_ELEVATION = nan', "SUN_ELEVATION = 'nan' is not a finite number"),
            ('SUN_ELEVATION = ', "SUN_ELEVATION = '' is not a number"),
        ],
    )
    def test_mtl_bad_values(
        self, usgs_root: str, tmp_path: Path, line: str, match: str
    ) -> None:
        root = copy_scene(usgs_root, tmp_path)
        mtl = root / f'{SCENE[:21]}_mtl.txt'
        key = line.split(' =')[0]
        text = mtl.read_text()
        start = text.index(key)
        mtl.write_text(text[:start] + line + text[text.index('\n', start) :])
        with pytest.raises(ValueError, match=f'{SCENE[:21]}_mtl.txt: {match}'):
            SPARCS(str(root))

    # ------------------------------------------------------- crs and res (#14.9)
    @pytest.mark.parametrize(
        'kwargs, match',
        [
            ({'crs': 'EPSG:99999'}, "crs='EPSG:99999' is not a coordinate reference"),
            ({'crs': 'EPSG:5703'}, "crs='EPSG:5703' is a Vertical CRS, not a"),
            ({'crs': 12.5}, 'crs=12.5 is not a coordinate reference'),
            ({'res': 0}, 'res must be a positive finite number'),
            ({'res': -30}, 'res must be a positive finite number'),
            ({'res': (30, 0)}, 'res must be a positive finite number'),
            ({'res': float('nan')}, 'res must be a positive finite number'),
            ({'res': '30'}, 'res must be a positive finite number'),
            ({'res': (30, 30, 30)}, 'res must be a positive finite number'),
            ({'crs': 'EPSG:4326'}, r'res=\(30.0, 30.0\) is larger than a scene'),
        ],
    )
    def test_bad_crs_res(self, usgs_root: str, kwargs: dict, match: str) -> None:
        with pytest.raises(ValueError, match=match):
            SPARCS(usgs_root, **kwargs)

    def test_geographic_crs_with_degrees(self, usgs_root: str) -> None:
        ds = SPARCS(usgs_root, crs='EPSG:4326', res=0.0003)
        assert ds[scene_query(ds)]['mask'].shape[0] > 32

    # -------------------------------------------------------------- paths (#14.10)
    def test_missing_root(self, usgs_root: str, tmp_path: Path) -> None:
        missing = tmp_path / 'typo'
        with pytest.raises(FileNotFoundError, match=r'typo .*does not exist'):
            SPARCS([usgs_root, str(missing)])

    def test_all_roots_missing(self, tmp_path: Path) -> None:
        with pytest.raises(DatasetNotFoundError, match='typo does not exist'):
            SPARCS(str(tmp_path / 'typo'))

    def test_root_without_scenes_warns(self, usgs_root: str, tmp_path: Path) -> None:
        with pytest.warns(UserWarning, match='holds no SPARCS file'):
            assert len(SPARCS([usgs_root, str(tmp_path)])) == 4

    def test_parent_folder_with_copies(self) -> None:
        # tests/data/sparcs holds the same scenes twice (usgs/ and osu/)
        with pytest.raises(ValueError, match=f'scene {SCENE} was found in 2 folders'):
            SPARCS(DATA)

    def test_scene_files_from_one_folder(self, usgs_root: str, tmp_path: Path) -> None:
        root = copy_scene(usgs_root, tmp_path / 'a')
        (tmp_path / 'b').mkdir()
        mtl = f'{SCENE[:21]}_mtl.txt'
        shutil.move(root / mtl, tmp_path / 'b' / mtl)
        with pytest.raises(ValueError, match=f'missing {mtl}'):
            SPARCS([str(root), str(tmp_path / 'b')])

    def test_paths_files_and_subfolders(self, usgs_root: str, tmp_path: Path) -> None:
        root = copy_scene(usgs_root, tmp_path / 'x' / 'sending')
        assert len(SPARCS(str(tmp_path))) == 1  # searched recursively
        files = sorted(str(p) for p in root.iterdir())
        assert len(SPARCS(files)) == 1

    # ---------------------------------------------------- samplers (#14.11)
    def test_query_outside_footprint_is_nodata(
        self, usgs_root: str, tmp_path: Path
    ) -> None:
        # In polar stereographic the scene's footprint is rotated by ~70 degrees
        ds = SPARCS(str(copy_scene(usgs_root, tmp_path)), crs='EPSG:3031')
        footprint = ds.index.geometry.iloc[0]
        corner = footprint.envelope.difference(footprint.buffer(8 * 30))
        x, y = corner.representative_point().coords[0]
        sample = ds[x - 60 : x + 60, y - 60 : y + 60]
        assert sample['mask'].shape == (4, 4)
        assert (sample['mask'] == IGNORE_INDEX).all()
        assert sample['image'].shape == (3, 4, 4)
        assert (sample['image'] == 0).all()
        assert sample['sun_azimuth'].item() == pytest.approx(84.0)
        with pytest.raises(IndexError, match='not found in dataset'):
            ds[x + 1e7 : x + 1e7 + 120, y : y + 120]  # outside every bounding box

    @pytest.mark.parametrize('name', sorted(SAMPLERS))
    def test_torchgeo_samplers(self, usgs_root: str, tmp_path: Path, name: str) -> None:
        ds = SPARCS(str(copy_scene(usgs_root, tmp_path)), crs='EPSG:3031')
        count = run_sampler(ds, name, size=8, length=40)
        assert count > 0

    # ------------------------------------------------ defaults, download (#14.12)
    def test_default_image_is_photo(self, usgs_root: str, tmp_path: Path) -> None:
        root = copy_scene(usgs_root, tmp_path)
        os.remove(root / f'{SCENE}_data.tif')  # what the quicklook releases hold
        ds = SPARCS(str(root))
        assert ds.image == 'photo'
        assert ds[scene_query(ds)]['image'].shape[0] == 3

    def test_not_found_says_what_to_do(self, tmp_path: Path) -> None:
        with pytest.raises(DatasetNotFoundError) as info:
            SPARCS(str(tmp_path))
        message = str(info.value)
        for part in ('download=True', SPARCS.url, 'sending/', '_photo.png', '_mtl.txt'):
            assert part in message
        assert str(tmp_path) in message

    def test_download_offline(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def offline(url: str, root: str, filename: str | None = None, **kw):
            with open(os.path.join(root, SPARCS.filename), 'wb') as f:
                f.write(b'PK partial')
            raise urllib.error.URLError('[Errno -3] Temporary failure in name')

        monkeypatch.setattr(sparcs_module, 'download_url', offline)
        with pytest.raises(RuntimeError, match='could not download') as info:
            SPARCS(str(tmp_path), download=True)
        message = str(info.value)
        for part in (SPARCS.url, 'by hand', str(tmp_path), '_mask.png'):
            assert part in message
        assert isinstance(info.value.__cause__, urllib.error.URLError)
        assert not (tmp_path / SPARCS.filename).exists()  # no partial file left

    def test_download_corrupt_archive(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / SPARCS.filename).write_bytes(b'PK truncated')
        monkeypatch.setattr(sparcs_module, 'download_url', None)  # not called
        with pytest.raises(RuntimeError, match=r'cannot be extracted.*delete it'):
            SPARCS(str(tmp_path), download=True)

    # ------------------------------------------------------- open files (#14.17)
    def test_handles_closed_with_dataset(self, usgs_root: str) -> None:
        ds = SPARCS(usgs_root, image='data')
        ds[scene_query(ds)]
        handles = list(ds._handles.handles.values())
        assert handles
        del ds
        gc.collect()
        assert all(h.reader.closed and h.source.closed for h in handles)

    def test_pickle_without_handles(self, usgs_root: str) -> None:
        import pickle

        ds = SPARCS(usgs_root)
        query = scene_query(ds)
        expected = ds[query]['mask']
        copy = pickle.loads(pickle.dumps(ds))
        assert not copy._handles.handles
        torch.testing.assert_close(copy[query]['mask'], expected)

    def test_no_excepthook_noise_at_exit(self, usgs_root: str, tmp_path: Path) -> None:
        # rasterio objects freed while the interpreter tears down its modules
        # printed 'Error in sys.excepthook' after pytest's summary line
        test = tmp_path / 'test_exit.py'
        test.write_text(
            'from torchgeo_csia.datasets import SPARCS\n'
            'def test_read():\n'
            f'    ds = SPARCS({usgs_root!r}, image="data")\n'
            '    xmin, ymin, xmax, ymax = ds.index.geometry.iloc[0].bounds\n'
            '    ds[xmin:xmax, ymin:ymax]\n'
        )
        package = os.path.dirname(os.path.dirname(sparcs_module.__file__))
        env = {**os.environ, 'PYTHONPATH': os.path.dirname(package)}
        out = subprocess.run(
            [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', str(test)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env,
            timeout=300,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert 'Error in sys.excepthook' not in out.stdout + out.stderr

    # ------------------------------------------------------------- plot (#14.20)
    def test_plot_nodata_distinct(self, usgs_root: str) -> None:
        ds = SPARCS(usgs_root, classes='csia')  # EPSG:3857: nodata around scenes
        x = ds[scene_query(ds)]
        nodata = (x['mask'] == IGNORE_INDEX).numpy()
        assert nodata.any()
        x['prediction'] = x['mask'].clone()
        fig = ds.plot(x)
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        assert labels == [*SPARCS.class_schemes['csia'], f'nodata ({IGNORE_INDEX})']
        for ax in fig.axes:
            (image,) = ax.get_images()
            background = [p for p in ax.patches if p.get_hatch()]
            assert background  # hatching shows through the nodata pixels only
            data = image.get_array()
            if data.ndim == 2:  # masks: nodata masked (transparent)
                np.testing.assert_array_equal(np.ma.getmaskarray(data), nodata)
            else:  # image: alpha 0 on nodata
                np.testing.assert_array_equal(data[..., 3] == 0, nodata)
        # the rendered nodata is not white like cloud
        fig.canvas.draw()
        rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]
        bbox = fig.axes[1].get_window_extent()
        height = rgb.shape[0]
        panel = rgb[
            int(height - bbox.y1) : int(height - bbox.y0), int(bbox.x0) : int(bbox.x1)
        ]
        corner = panel[2:12, 2:12]  # nodata in the corner of the 3857 bounding box
        assert nodata[0, 0]
        assert not (corner == 255).all()
        plt.close(fig)


class TestSPARCSReal:
    def test_all_scenes_indexed(self, real_root: str) -> None:
        ds = SPARCS(real_root, image='photo')
        assert len(ds) == 60
        assert ds.index.scene.is_unique
        assert ds.crs == CRS.from_epsg(3857)

    def test_gridded_pass_reproduces_mask_png(
        self, real_root: str, tmp_path: Path
    ) -> None:
        crs, b = scene_crs_bounds(real_root, SCENE)
        ds = SPARCS(
            str(copy_scene(real_root, tmp_path)), crs=crs, res=30, image='photo'
        )
        sampler = GriddedPatchSampler(ds, size=256, roi=shapely.box(*b))
        mask = stitch(ds, sampler, b, (1000, 1000), 'mask')
        expected = np.asarray(Image.open(os.path.join(real_root, f'{SCENE}_mask.png')))
        np.testing.assert_array_equal(mask, expected)

    def test_osu_labels_match_usgs_masks(self, real_root: str, tmp_path: Path) -> None:
        if not os.path.isdir(REAL_OSU):
            pytest.skip('real OSU labels are absent')
        label = sorted(glob.glob(os.path.join(REAL_OSU, '*_labels.tif')))[0]
        scene = os.path.basename(label)[: -len('_labels.tif')]
        usgs = copy_scene(real_root, tmp_path / 'usgs', scene)
        osu = copy_scene(real_root, tmp_path / 'osu', scene)
        os.remove(osu / f'{scene}_mask.png')
        shutil.copy(label, osu)
        a = SPARCS(str(usgs), image='photo')
        b = SPARCS(str(osu), image='photo')
        torch.testing.assert_close(a[scene_query(a)]['mask'], b[scene_query(b)]['mask'])

    def test_real_grids_match_mtl(self, real_root: str, tmp_path: Path) -> None:
        # all 60 scenes pass the grid check (test_all_scenes_indexed); a qmask
        # shifted by a fraction of a pixel does not
        root = copy_scene(real_root, tmp_path)
        edit_grid(root / f'{SCENE}_qmask.tif', dx=10.0)
        with pytest.raises(ValueError, match='is not on the 30 m grid'):
            SPARCS(str(root))

    @pytest.mark.slow
    @pytest.mark.parametrize('name', sorted(SAMPLERS))
    def test_torchgeo_samplers_real(self, real_root: str, name: str) -> None:
        # EPSG:3857: the polar stereographic scene is the most rotated footprint
        ds = SPARCS(real_root, image='photo', classes='csia')
        polar = ds.index[ds.index.scene == 'LC82151102013360LGN00_26']
        roi = None
        if name in ('GridGeoSampler', 'GriddedPatchSampler', 'PreChippedGeoSampler'):
            roi = shapely.box(*polar.geometry.iloc[0].bounds)
        assert run_sampler(ds, name, size=256, length=60, roi=roi, limit=30) > 0


@pytest.mark.parametrize('layout', ['usgs', 'osu'])
def test_read_labels(layout: str) -> None:
    root = os.path.join(os.path.dirname(__file__), '..', 'data', 'sparcs', layout)
    csia = SPARCS(root, classes='csia')
    raw = SPARCS(root, classes='sparcs')
    scene = str(csia.index['scene'].iloc[0])
    labels = csia.read_labels(scene)
    codes = raw.read_labels(scene)
    assert labels.dtype == np.uint8 and labels.shape == codes.shape
    lut = np.asarray(SPARCS.code_maps['csia'], dtype=np.uint8)
    assert np.array_equal(labels, lut[codes])
    if layout == 'usgs':  # the mask PNG's own indices
        with Image.open(os.path.join(root, f'{scene}_mask.png')) as f:
            assert np.array_equal(codes, np.asarray(f))
    with pytest.raises(KeyError, match='not in this dataset'):
        csia.read_labels('LC80000002000001LGN00_01')


def test_real_or_sample(tmp_path: Path) -> None:
    real = tmp_path / 'sending'
    real.mkdir()
    assert real_or_sample(str(real)) == str(real)  # nothing written into it
    assert not list(real.iterdir())
    generated = real_or_sample(str(tmp_path / 'missing'), count=2, size=64)
    assert not (tmp_path / 'missing').exists()
    assert len(SPARCS(generated).index) == 2
