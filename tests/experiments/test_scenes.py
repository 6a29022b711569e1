import torch

from torchgeo_csia.constants import NORMALIZATION
from torchgeo_csia.experiments.scenes import (
    STRIDE,
    Scenes,
    crop_batch,
    crop_sites,
    crops,
    pick,
    random_sites,
)


def test_scenes_are_whole_normalised_and_split(scenes: Scenes) -> None:
    assert len(scenes.ids) == 4 and scenes.bands == 3 and scenes.image == 'photo'
    assert scenes.split('train') == [0, 1]
    assert scenes.split('val', 'test') == [2, 3]
    for image, labels in zip(scenes.images, scenes.labels, strict=True):
        assert image.shape == (3, 64, 64) and labels.shape == (64, 64)
        assert 0 <= image.min() and image.max() <= 1  # photo / 255
        assert set(labels.unique().tolist()) <= {0, 1, 2, 3}
    assert NORMALIZATION['photo'] == (0.0, 255.0)
    assert scenes.sun.shape == (4, 2)


def test_crop_sites_hold_the_share(scenes: Scenes) -> None:
    sites = crop_sites(scenes, [0, 1], 3, 32, (0.1, 0.9))
    assert len(sites) and set(sites[:, 0].tolist()) <= {0, 1}
    assert (sites[:, 1:] % STRIDE == 0).all()
    _, labels = crops(scenes, sites, 32)
    share = (labels == 3).flatten(1).float().mean(1)
    assert ((share >= 0.1) & (share <= 0.9)).all()
    none = crop_sites(scenes, [0], 3, 32, (2.0, 3.0))
    assert none.shape == (0, 3)


def test_pick_is_seeded_and_without_replacement(scenes: Scenes) -> None:
    sites = crop_sites(scenes, [0, 1, 2, 3], 0, 32, (0.0, 1.0))
    a, b = pick(sites, 5, seed=1), pick(sites, 5, seed=1)
    assert torch.equal(a, b) and len({tuple(s) for s in a.tolist()}) == 5
    assert len(pick(sites, 10_000, seed=0)) == len(sites)


def test_batches_carry_the_sun(scenes: Scenes) -> None:
    g = torch.Generator().manual_seed(0)
    sites = random_sites(scenes, [1], 6, 48, g)
    assert (sites[:, 0] == 1).all() and (sites[:, 1:] <= 64 - 48).all()
    batch = crop_batch(scenes, sites, 48)
    assert batch['image'].shape == (6, 3, 48, 48) and batch['mask'].dtype == torch.long
    assert torch.equal(batch['sun_azimuth'], scenes.sun[[1] * 6, 0])
