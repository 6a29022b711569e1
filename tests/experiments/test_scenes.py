import pytest
import torch

from torchgeo_csia.constants import NORMALIZATION
from torchgeo_csia.datamodules.sparcs import SPARCSCrops
from torchgeo_csia.experiments.scenes import Scenes


def test_scenes_are_whole_normalised_and_split(scenes: Scenes) -> None:
    assert len(scenes.ids) == 4 and scenes.bands == 3 and scenes.image == 'photo'
    assert isinstance(scenes.crops, SPARCSCrops)
    assert scenes.split('train') == [0, 1]
    assert scenes.split('val', 'test') == [2, 3]
    assert scenes.crop_size(256) == 64 and scenes.crop_size(32) == 32
    for s in range(4):
        image, labels = scenes.scene(s)
        assert image.shape == (3, 64, 64) and labels.shape == (64, 64)
        assert labels.dtype == torch.long and torch.equal(labels, scenes.labels[s])
        assert 0 <= image.min() and image.max() <= 1  # photo / 255
        assert set(labels.unique().tolist()) <= {0, 1, 2, 3}
    assert NORMALIZATION['photo'] == (0.0, 255.0)


def test_share_sites_hold_the_share(scenes: Scenes) -> None:
    sites = scenes.share_sites([0, 1], 3, 32, (0.1, 0.9), 10_000, seed=0)
    assert sites and {s for s, _, _ in sites} <= {0, 1}
    assert all(top % 16 == 0 and left % 16 == 0 for _, top, left in sites)
    labels = scenes.batch(sites, 32)['mask']
    share = (labels == 3).flatten(1).float().mean(1)
    assert ((share >= 0.1) & (share <= 0.9)).all()
    # the scene numbers are the scenes', not the searched ones' order
    assert {s for s, _, _ in scenes.share_sites([3], 0, 32, (0, 1), 4, 0)} == {3}
    with pytest.raises(ValueError, match='no 32 x 32 px crop holds class 3'):
        scenes.share_sites([0], 3, 32, (1.0, 1.0), 4, seed=0)


def test_share_sites_are_seeded_and_distinct(scenes: Scenes) -> None:
    everything = scenes.share_sites([0, 1, 2, 3], 0, 32, (0.0, 1.0), 10_000, 0)
    a = scenes.share_sites([0, 1, 2, 3], 0, 32, (0.0, 1.0), 5, seed=1)
    assert a == scenes.share_sites([0, 1, 2, 3], 0, 32, (0.0, 1.0), 5, seed=1)
    assert len(set(a)) == 5 and set(a) <= set(everything)
    assert len(set(everything)) == len(everything) == 4 * 9  # 3 x 3 corners a scene


def test_batches_carry_the_sun(scenes: Scenes) -> None:
    sites = scenes.random_sites([1], 6, 48, seed=0)
    assert sites == scenes.random_sites([1], 6, 48, seed=0)
    assert all(s == 1 and top <= 16 and left <= 16 for s, top, left in sites)
    batch = scenes.batch(sites, 48)
    assert batch['image'].shape == (6, 3, 48, 48) and batch['mask'].dtype == torch.long
    s, top, left = sites[0]
    image, labels = scenes.scene(s)
    assert torch.equal(batch['image'][0], image[:, top : top + 48, left : left + 48])
    assert torch.equal(batch['mask'][0], labels[top : top + 48, left : left + 48])
    sun = scenes.crops.with_size(48)[sites[0]]['sun_azimuth']
    assert torch.equal(batch['sun_azimuth'], sun.expand(6))
