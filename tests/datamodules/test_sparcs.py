import os
from pathlib import Path

import numpy as np
import pytest
import torch
from lightning.pytorch import Trainer
from PIL import Image
from torch import nn
from torchgeo.main import main

from torchgeo_csia.datamodules import SPARCSDataModule
from torchgeo_csia.datamodules.sparcs import (
    SceneCropGrid,
    SceneCropSampler,
    SPARCSCrops,
    SPARCSScenes,
)
from torchgeo_csia.datasets import SPARCS

from ..conftest import DATA, HERE


def datamodule(**kwargs: object) -> SPARCSDataModule:
    args = {
        'batch_size': 2,
        'patch_size': 32,
        'length': 4,
        'paths': os.path.join(DATA, 'usgs'),
        'image': 'photo',
        'classes': 'csia',
    }
    args.update(kwargs)
    return SPARCSDataModule(**args)  # type: ignore[arg-type]


def cli(command: str, config: str, tmp_path: Path, *extra: str) -> None:
    """``torchgeo <command>`` (fit, test, ...) on the generated scenes, on the CPU."""
    main(
        [
            command,
            '--config',
            config,
            '--data.dict_kwargs.paths',
            os.path.join(DATA, 'usgs'),
            *extra,
            '--trainer.accelerator=cpu',
            f'--trainer.default_root_dir={tmp_path}',
        ]
    )


def fit(config: str, tmp_path: Path, *extra: str) -> None:
    """``torchgeo fit`` on the generated scenes, one CPU step."""
    cli('fit', config, tmp_path, *extra, '--trainer.fast_dev_run=1')


def _move(x: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    """*x* turned by *k* quarter turns, after a horizontal flip if *flip*."""
    return torch.rot90(x.flip(-1) if flip else x, k, (-2, -1))


class TestSPARCSDataModule:
    def test_splits_are_disjoint(self) -> None:
        dm = datamodule()
        dm.setup('fit')
        dm.setup('test')
        assert isinstance(dm.test_dataset, SPARCSScenes)
        scenes = [
            set(d.index.scene)  # type: ignore[union-attr]
            for d in (dm.train_dataset, dm.val_dataset)
        ] + [set(dm.test_dataset.scenes)]
        assert all(scenes)
        assert not (
            scenes[0] & scenes[1] or scenes[0] & scenes[2] or scenes[1] & scenes[2]
        )

    @pytest.mark.parametrize('image, top', [('photo', 1.0), ('data', 1.3)])
    def test_train_batch(self, image: str, top: float) -> None:
        dm = datamodule(image=image)
        dm.setup('fit')
        dm.trainer = Trainer(accelerator='cpu', max_epochs=1, logger=False)
        dm.trainer.training = True
        batch = next(iter(dm.train_dataloader()))
        assert batch['image'].shape[:2] == (2, 3 if image == 'photo' else 10)
        raw = batch['image'].clone()
        out = dm.on_after_batch_transfer(batch, 0)
        assert out['image'].shape == raw.shape
        assert out['image'].max() <= top and out['image'].min() >= -0.1
        assert out['mask'].shape == (2, 32, 32)
        assert out['sun_azimuth'].shape == (2,)

    def test_val_test_batches(self) -> None:
        dm = datamodule()
        dm.setup('validate')
        dm.setup('test')
        val = list(dm.val_dataloader())
        test = list(dm.test_dataloader())
        assert val and test
        # 64 x 64 px scenes: a grid of 32 px patches covers each scene.
        assert sum(len(b['image']) for b in val) >= 4

    def test_test_batches_are_whole_scenes(self) -> None:
        # one scene a batch, on its own grid: the files' pixels, nothing resampled
        dm = datamodule(test_splits=['val', 'test'])
        dm.setup('test')
        assert isinstance(dm.test_dataset, SPARCSScenes)
        scenes = dm.test_dataset.scenes
        assert [SPARCS.split_of(s) for s in scenes] == ['val', 'test']
        batches = list(dm.test_dataloader())
        assert len(batches) == 2 and len(list(dm.predict_dataloader())) == 2
        for scene, batch in zip(scenes, batches, strict=True):
            stem = os.path.join(DATA, 'usgs', scene)
            photo = np.asarray(Image.open(f'{stem}_photo.png').convert('RGB'))
            codes = np.asarray(Image.open(f'{stem}_mask.png'))
            labels = np.asarray(SPARCS.code_maps['csia'])[codes]
            assert batch['image'].shape == (1, 3, *codes.shape)
            assert np.array_equal(batch['image'][0].numpy(), photo.transpose(2, 0, 1))
            assert np.array_equal(batch['mask'][0].numpy(), labels)

    def test_test_splits_checked(self) -> None:
        with pytest.raises(ValueError, match='test_splits must be'):
            datamodule(test_splits=['heldout'])
        dm = datamodule()
        dm.setup('test')
        assert dm.test_dataset is not None and len(dm.test_dataset) == 1

    def test_rot90_keeps_image_and_mask_aligned(self) -> None:
        # flips and quarter turns: each sample moves by one of the 8 symmetries of
        # the square, the same one for image and mask, pixels exact
        dm = datamodule(rot90=True, batch_size=16, length=16)
        dm.setup('fit')
        dm.trainer = Trainer(accelerator='cpu', max_epochs=1, logger=False)
        dm.trainer.training = True
        batch = next(iter(dm.train_dataloader()))
        batch['image'][:, 0] = batch['mask'].float()  # a channel that is the mask
        image, mask = batch['image'] / 255, batch['mask'].clone()
        torch.manual_seed(0)
        out = dm.on_after_batch_transfer(batch, 0)
        seen = set()
        for i in range(len(mask)):
            moves = [
                (k, flip)
                for k in range(4)
                for flip in (False, True)
                if torch.equal(out['mask'][i], _move(mask[i], k, flip))
                and torch.equal(out['image'][i], _move(image[i], k, flip))
            ]
            assert moves, f'sample {i}: image and mask moved apart'
            seen.add(moves[0])
        assert torch.equal(out['image'][:, 0] * 255, out['mask'].float())
        assert any(k % 2 for k, _ in seen)  # quarter turns happen

    def test_rot90_needs_square_patches(self) -> None:
        with pytest.raises(ValueError, match='rot90 needs square patches'):
            datamodule(rot90=True, patch_size=(32, 64))

    def test_split_kwarg_rejected(self) -> None:
        with pytest.raises(ValueError, match='split is set by SPARCSDataModule'):
            datamodule(split='train')

    def test_csia_needs_csia_classes(self) -> None:
        # CSIA paints 0-3 of the csia scheme; in the 7-code scheme 2 is water
        with pytest.raises(ValueError, match=r"need classes='csia'.*'sparcs'\)"):
            datamodule(csia=[nn.Identity()], classes='sparcs')
        paths = os.path.join(DATA, 'usgs')
        with pytest.raises(ValueError, match=r"need classes='csia'.*the default"):
            SPARCSDataModule(csia=[nn.Identity()], paths=paths)
        assert datamodule(csia=[nn.Identity()]).kwargs['classes'] == 'csia'

    def test_default_image_is_photo(self) -> None:
        dm = SPARCSDataModule(paths=os.path.join(DATA, 'usgs'), classes='csia')
        assert dm.kwargs['image'] == 'photo'
        assert dm.std.item() == 255.0
        dm.setup('validate')
        assert dm.val_dataset.image == 'photo'  # type: ignore[union-attr]

    @pytest.mark.parametrize('name', ['sparcs.yaml', 'sparcs_csia.yaml'])
    def test_fit_cli(self, name: str, tmp_path: Path) -> None:
        fit(os.path.join(HERE, 'conf', name), tmp_path)

    def test_csia_in_train_aug(self) -> None:
        import torch

        from torchgeo_csia.transforms import RandomCloudShadow

        aug = RandomCloudShadow(
            'CLOUD_SPARCS_PHOTO', 'SHADOW_SPARCS_PHOTO', p=1.0, min_free=0.0
        )
        dm = datamodule(csia=[aug], patch_size=64)
        dm.setup('fit')
        dm.trainer = Trainer(accelerator='cpu', max_epochs=1, logger=False)
        dm.trainer.training = True
        batch = next(iter(dm.train_dataloader()))
        mask = batch['mask'].clone()
        out = dm.on_after_batch_transfer(batch, 0)
        assert set(out['mask'].unique().tolist()) <= {0, 1, 2, 3, 255}
        # every sample with background changed; the sun geometry reached the module
        eligible = (mask == 0).flatten(1).any(1)
        assert torch.equal(aug._params['eligible'], eligible)
        assert 'shadow_shift' in aug._params and aug._sun is None


class TestNativeGrid:
    """grid='native': crops of whole scenes on their own grids, kept in memory."""

    def test_crops_are_the_scene_pixels(self) -> None:
        dm = datamodule(grid='native', length=8)
        dm.setup('fit')
        train = dm.train_dataset
        assert isinstance(train, SPARCSCrops)
        assert [SPARCS.split_of(s) for s in train.scenes] == ['train'] * 2
        whole = SPARCSScenes(SPARCS(split='all', **dm.kwargs), ['train'])
        # the datamodule's crops are compact (uint8), the others float32 / int64,
        # the same pixels either way
        plain = SPARCSCrops(whole, 32)
        assert train.compact and not plain.compact
        for scene, top, left in [(0, 0, 0), (1, 32, 7), (0, 32, 32)]:
            crop, ref = train[(scene, top, left)], whole[scene]
            assert crop['image'].dtype == crop['mask'].dtype == torch.uint8
            as_float = plain[(scene, top, left)]
            assert as_float['image'].dtype == torch.float32
            assert as_float['mask'].dtype == torch.long
            window = (slice(top, top + 32), slice(left, left + 32))
            for c in (crop, as_float):
                assert torch.equal(
                    c['image'].float(), ref['image'][(slice(None), *window)]
                )
                assert torch.equal(c['mask'].long(), ref['mask'][window])
            assert crop['sun_azimuth'] == ref['sun_azimuth']
            # a copy: the crop does not hold its scene's storage
            assert crop['image'].untyped_storage().nbytes() == 3 * 32 * 32
        # scenes are kept small: the quicklook and labels as uint8
        assert train._samples[0]['image'].dtype == torch.uint8
        with pytest.raises(IndexError, match='leaves scene'):
            train[(0, 33, 0)]

    def test_other_sizes_share_the_decoded_scenes(self) -> None:
        dm = datamodule(grid='native')
        dm.setup('fit')
        train = dm.train_dataset
        assert isinstance(train, SPARCSCrops)
        big = train.with_size((48, 64))
        assert big.size == (48, 64) and train.size == (32, 32)
        assert big.images[0] is train.images[0] and big.images[0].shape == (3, 64, 64)
        assert torch.equal(big[(1, 16, 0)]['mask'], train.masks[1][16:].long())
        with pytest.raises(ValueError, match='smaller than the crop size 65 x 65'):
            train.with_size(65)

    def test_batches_and_validation_tiles(self) -> None:
        dm = datamodule(grid='native', length=None)
        dm.setup('fit')
        dm.trainer = Trainer(accelerator='cpu', max_epochs=1, logger=False)
        dm.trainer.training = True
        # one epoch defaults to as many crops as tile the training scenes
        assert len(dm.train_sampler) == 2 * 4  # type: ignore[arg-type]
        batch = next(iter(dm.train_dataloader()))
        assert batch['image'].shape == (2, 3, 32, 32) and 'bounds' not in batch
        assert batch['image'].dtype == batch['mask'].dtype == torch.uint8
        out = dm.on_after_batch_transfer(batch, 0)
        assert out['image'].dtype == torch.float32 and out['mask'].dtype == torch.long
        assert out['image'].max() <= 1.0 and out['mask'].shape == (2, 32, 32)
        val = list(dm.val_dataloader())
        assert sum(len(b['image']) for b in val) == 4  # one 64 px scene, 4 tiles

    def test_sampler_weighs_scenes_alike(self) -> None:
        # a small and a large scene are drawn equally often, crops anywhere inside
        sampler = SceneCropSampler([(40, 40), (1000, 600)], (32, 32), 4000, 0)
        crops = torch.tensor(list(sampler))
        share = (crops[:, 0] == 0).float().mean().item()
        assert 0.46 < share < 0.54
        small, large = crops[crops[:, 0] == 0], crops[crops[:, 0] == 1]
        assert small[:, 1:].min() == 0 and small[:, 1:].max() == 8
        assert large[:, 1].max() == 968 and large[:, 2].max() == 568
        assert torch.equal(
            crops,
            torch.tensor(
                list(SceneCropSampler([(40, 40), (1000, 600)], (32, 32), 4000, 0))
            ),
        )
        assert not torch.equal(crops, torch.tensor(list(sampler)))  # a new epoch

    def test_grid_tiles_every_pixel(self) -> None:
        grid = SceneCropGrid([(100, 64), (32, 32)], (32, 32))
        cover = torch.zeros(100, 64)
        for scene, top, left in grid:
            if scene == 0:
                cover[top : top + 32, left : left + 32] += 1
        assert cover.min() >= 1 and len(grid) == 4 * 2 + 1
        assert (0, 68, 32) in grid.crops  # the last row flush with the edge

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError, match="grid must be 'dataset' or 'native'"):
            datamodule(grid='utm')
        with pytest.raises(ValueError, match=r"grid='native'.*crs or res"):
            datamodule(grid='native', crs='EPSG:3857', res=30)
        dm = datamodule(grid='native', patch_size=128)
        with pytest.raises(ValueError, match='smaller than the crop size 128 x 128'):
            dm.setup('fit')

    def test_fit_cli(self, tmp_path: Path) -> None:
        fit(
            os.path.join(HERE, 'conf', 'sparcs.yaml'),
            tmp_path,
            '--data.init_args.grid=native',
        )

    @pytest.mark.parametrize('grid', ['native', 'dataset'])
    def test_fit_resumes_where_it_stopped(self, grid: str, tmp_path: Path) -> None:
        # stopped after 2 of 4 steps and resumed from its checkpoint, a fit ends
        # with the weights of one that ran through: the same crops and draws
        from lightning.pytorch import Callback, seed_everything

        from torchgeo_csia.tasks import CSIASegmentation

        class Stop(Callback):
            def on_train_batch_end(self, trainer: Trainer, *args: object) -> None:
                trainer.should_stop = trainer.global_step == 2

        def run(name: str, ckpt: str | None = None) -> dict[str, torch.Tensor]:
            seed_everything(0)
            dm = datamodule(grid=grid, length=8, rot90=True)
            task = CSIASegmentation(
                model='unet', backbone='resnet18', scheduler='onecycle', lr=0.01
            )
            trainer = Trainer(
                accelerator='cpu',
                max_steps=4,
                val_check_interval=2,  # the checkpoint at step 2 is validation's
                logger=False,
                enable_progress_bar=False,
                default_root_dir=tmp_path / name,
                callbacks=[Stop()] if name == 'stopped' else [],
            )
            trainer.fit(task, datamodule=dm, ckpt_path=ckpt)
            assert trainer.global_step == (2 if name == 'stopped' else 4)
            return task.model.state_dict()  # type: ignore[no-any-return]

        through = run('through')
        run('stopped')
        (ckpt,) = (tmp_path / 'stopped').rglob('*.ckpt')
        assert ckpt.name == 'epoch=0-step=2.ckpt'
        resumed = run('resumed', str(ckpt))
        assert through.keys() == resumed.keys()
        for key, value in through.items():
            assert torch.equal(value, resumed[key]), key


def test_task_loads_shipped_segmenter() -> None:
    import torch

    from torchgeo_csia.tasks import CSIASegmentation

    task = CSIASegmentation(weights='CSIASegmenter_Weights.BASE_SPARCS_PHOTO')
    with torch.inference_mode():
        assert task(torch.rand(1, 3, 64, 64)).shape == (1, 4, 64, 64)
