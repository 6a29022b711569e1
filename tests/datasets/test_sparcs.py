import glob
import os
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import rasterio
import shapely
import torch
from PIL import Image
from pyproj import CRS
from torch.utils.data import DataLoader
from torchgeo.datasets import DatasetNotFoundError, RGBBandsMissingError, stack_samples
from torchgeo.samplers import GriddedPatchSampler, RandomPatchSampler

import torchgeo_csia.datasets.sparcs as sparcs_module
from torchgeo_csia.datasets import IGNORE_INDEX, SPARCS
from torchgeo_csia.datasets.synthetic import default_scenes, write_scene
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
        ds = SPARCS(usgs_root, bands=['B5', 'B4'])
        full = SPARCS(usgs_root)
        x, y = ds[scene_query(ds)]['image'], full[scene_query(full)]['image']
        torch.testing.assert_close(x, y[[4, 3]])

    @pytest.mark.parametrize(
        'kwargs, match',
        [
            ({'bands': ['B8']}, "bands \\['B8'\\] are not valid"),
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
        ds = SPARCS(usgs_root, classes='csia')
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
        ds = SPARCS(usgs_root, bands=['B5', 'B6'])
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
        import zipfile

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
            SPARCS(str(root))

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
