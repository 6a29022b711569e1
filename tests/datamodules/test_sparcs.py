import os
from pathlib import Path

import pytest
from lightning.pytorch import Trainer
from torch import nn
from torchgeo.main import main

from torchgeo_csia.datamodules import SPARCSDataModule

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


def fit(config: str, tmp_path: Path, *extra: str) -> None:
    """``torchgeo fit`` on the generated scenes, one CPU step."""
    main(
        [
            'fit',
            '--config',
            config,
            '--data.dict_kwargs.paths',
            os.path.join(DATA, 'usgs'),
            *extra,
            '--trainer.accelerator=cpu',
            '--trainer.fast_dev_run=1',
            f'--trainer.default_root_dir={tmp_path}',
        ]
    )


class TestSPARCSDataModule:
    def test_splits_are_disjoint(self) -> None:
        dm = datamodule()
        dm.setup('fit')
        dm.setup('test')
        assert dm.train_dataset is not None
        scenes = [
            set(d.index.scene)  # type: ignore[union-attr]
            for d in (dm.train_dataset, dm.val_dataset, dm.test_dataset)
        ]
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


@pytest.mark.parametrize('name', ['sparcs_base.yaml', 'sparcs_csia.yaml'])
def test_documented_configs(name: str, tmp_path: Path) -> None:
    # the BASE and CSIA harness configs, shrunk to one CPU step
    config = os.path.join(HERE, '..', 'docs', 'configs', name)
    fit(
        config,
        tmp_path,
        '--data.init_args.batch_size=2',
        '--data.init_args.patch_size=64',
        '--data.init_args.length=2',
        '--data.init_args.num_workers=0',
        '--trainer.precision=32',
    )


def test_task_loads_shipped_segmenter() -> None:
    import torch

    from torchgeo_csia.tasks import CSIASegmentation

    task = CSIASegmentation(weights='CSIASegmenter_Weights.BASE_SPARCS_PHOTO')
    with torch.inference_mode():
        assert task(torch.rand(1, 3, 64, 64)).shape == (1, 4, 64, 64)
