import os

import numpy as np
import pytest

from torchgeo_csia.datasets import SPARCS
from torchgeo_csia.samplers import ClassShareSampler

from ..conftest import DATA


@pytest.fixture(scope='module')
def train() -> SPARCS:
    return SPARCS(os.path.join(DATA, 'usgs'), classes='csia', split='train')


def shares(dataset: SPARCS, sampler: ClassShareSampler) -> list[float]:
    """The class's share in each drawn patch, read back through the dataset."""
    out = []
    for patch in sampler:
        mask = dataset[patch]['mask']
        assert mask.shape == (32, 32)
        assert not (mask == 255).any()  # no nodata
        out.append((mask == sampler.cls).float().mean().item())
    return out


@pytest.mark.parametrize('cls', ['shadow', 'snow', 'cloud'])
def test_every_patch_holds_the_class_in_range(train: SPARCS, cls: str) -> None:
    sampler = ClassShareSampler(
        train, size=32, cls=cls, share=(0.05, 0.5), length=24, generator=0
    )
    assert len(sampler) == 24
    drawn = shares(train, sampler)
    assert len(drawn) == 24
    assert all(0.05 <= s <= 0.5 for s in drawn)
    # the shares it computed are those of the pixels read
    assert all(0.05 <= s <= 0.5 for s in sampler.shares)


def test_class_by_name_or_value(train: SPARCS) -> None:
    by_name = ClassShareSampler(train, size=32, cls='cloud', generator=0)
    by_value = ClassShareSampler(train, size=32, cls=3, generator=0)
    assert by_name.cls == 3
    assert np.array_equal(by_name.corners, by_value.corners)
    assert len(by_name) == len(by_name.corners)  # default length: every candidate


def test_without_replacement_and_fixed(train: SPARCS) -> None:
    sampler = ClassShareSampler(
        train, size=32, cls='cloud', length=10_000, replacement=False, fixed=True
    )
    first, second = list(sampler), list(sampler)
    assert len(first) == len(sampler.corners)  # capped at the candidates
    assert len({(p[0].start, p[1].start) for p in first}) == len(first)
    assert first == second
    drifting = ClassShareSampler(train, size=32, cls='cloud', length=8, generator=1)
    assert list(drifting) != list(drifting)


def test_weighted_draws_favour_high_shares(train: SPARCS) -> None:
    sampler = ClassShareSampler(
        train, size=32, cls='cloud', share=(0.0, 1.0), weighted=True, length=4000
    )
    assert sampler.draws.weights is not None
    picked = np.array([p[0].start for p in sampler])
    # mean share of the drawn patches, against that of uniform draws
    lookup = dict(zip(sampler.corners[:, 0], sampler.shares, strict=True))
    drawn = np.mean([lookup[x] for x in picked])
    assert drawn > sampler.shares.mean()
    # a patch without the class is never drawn
    assert all(lookup[x] > 0 for x in picked)


def test_invalid_arguments(train: SPARCS) -> None:
    with pytest.raises(ValueError, match='share'):
        ClassShareSampler(train, size=32, cls=3, share=(0.5, 0.2))
    with pytest.raises(ValueError, match='stride'):
        ClassShareSampler(train, size=32, cls=3, stride=0)
    with pytest.raises(ValueError, match="unknown class 'water'"):
        ClassShareSampler(train, size=32, cls='water')
    with pytest.raises(ValueError, match='no 32 x 32 px patch'):
        ClassShareSampler(train, size=32, cls=0, share=(1.0, 1.0))


def test_real_scenes(real_root: str) -> None:
    # the held-out scenes of the real quicklooks in EPSG:3857 (rotated footprints)
    ds = SPARCS(real_root, classes='csia', split='test')
    sampler = ClassShareSampler(ds, size=256, cls='shadow', length=6, generator=0)
    for patch in sampler:
        mask = ds[patch]['mask']
        assert mask.shape == (256, 256) and not (mask == 255).any()
        share = (mask == sampler.cls).float().mean().item()
        assert 0.03 <= share <= 0.7


def test_scene_share_sampler_on_whole_scenes() -> None:
    import torch

    from torchgeo_csia.samplers import SceneShareSampler

    # scene 0: cloud in its left half; scene 1: no cloud; scene 2: too small
    left = torch.zeros(64, 64, dtype=torch.uint8)
    left[:, :32] = 3
    left[0, 50] = 255  # one nodata pixel, top right
    masks = [left, torch.zeros(64, 64, dtype=torch.uint8), torch.zeros(8, 8)]
    sampler = SceneShareSampler(
        masks, size=32, cls=3, share=(0.25, 0.75), stride=8, length=200, generator=0
    )
    assert len(sampler) == 200
    for scene, top, left_px in sampler:
        crop = masks[scene][top : top + 32, left_px : left_px + 32]
        share = (crop == 3).float().mean().item()
        assert scene == 0 and 0.25 <= share <= 0.75 and not (crop == 255).any()
    # corners every 8 px: columns 8, 16, 24 hold 75, 50, 25 %; 24 is nodata-free
    # only below the nodata pixel's rows
    assert {c for _, _, c in sampler.crops.tolist()} == {8, 16, 24}
    assert (sampler.crops[sampler.crops[:, 2] == 24][:, 1] >= 8).all()
    fixed = SceneShareSampler(
        masks,
        size=32,
        cls=3,
        share=(0.25, 0.75),
        stride=8,
        fixed=True,
        replacement=False,
    )
    assert list(fixed) == list(fixed) and len(set(fixed)) == len(fixed.crops)
    with pytest.raises(ValueError, match='no 32 x 32 px crop holds class 2'):
        SceneShareSampler(masks, size=32, cls=2)
    with pytest.raises(ValueError, match='share must be'):
        SceneShareSampler(masks, size=32, cls=3, share=(0.5, 0.2))
