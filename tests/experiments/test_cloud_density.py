import math

import pytest
import torch

from torchgeo_csia.experiments import cloud_density as cd
from torchgeo_csia.experiments.two_sample import Scene


def _scene(value: int, cloud: slice) -> Scene:
    image = torch.full((3, 8, 8), value, dtype=torch.uint8)
    labels = torch.zeros(8, 8, dtype=torch.uint8)
    labels[cloud] = cd.CLOUD
    return Scene('LC80010812013365LGN00_18', 'train', image, labels, (150.0, 40.0))


def test_real_brightness_reads_the_cloud_pixels() -> None:
    scenes = [_scene(51, slice(0, 2)), _scene(102, slice(0, 1))]
    values = cd.real_pixels(scenes).mean(1)
    assert len(values) == 16 + 8
    assert sorted(set(values.tolist())) == pytest.approx([0.2, 0.4])
    assert len(cd.real_pixels([_scene(51, slice(0, 0))])) == 0


def test_quantiles() -> None:
    assert cd.quantiles(torch.arange(101.0)) == pytest.approx([25.0, 50.0, 75.0])
    assert all(math.isnan(v) for v in cd.quantiles(torch.zeros(0)))


def test_painted_brightness_grows_with_density(usgs_root: str) -> None:
    from torchgeo_csia.experiments.two_sample import load_scenes

    scenes = load_scenes(usgs_root, ['train', 'val', 'test'])
    # the generated scenes' label-free 16 px patches, painted alike at each density
    thin = cd.painted_pixels(scenes, 1.0, patches=4, patch=16).mean(1)
    thick = cd.painted_pixels(scenes, 3.0, patches=4, patch=16).mean(1)
    assert len(thin) == len(thick) > 0
    assert float(thick.median()) > float(thin.median())


def test_main_prints_the_table(
    usgs_root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ['--root', usgs_root, '--patches', '2', '--patch', '32']
    assert cd.main([*argv, '--densities', '1', '2']) == 0
    out = capsys.readouterr().out
    assert '| real |' in out and '| painted, density 2 |' in out


def test_nearest_per_band() -> None:
    painted = {1.0: [0.3, 0.2, 0.1], 2.0: [0.4, 0.3, 0.2], 3.0: [0.5, 0.4, 0.3]}
    assert cd.nearest_per_band([0.31, 0.39, 0.9], painted) == [1.0, 3.0, 3.0]


def test_band_quantile() -> None:
    values = torch.stack([torch.arange(101.0), 2 * torch.arange(101.0)], 1)
    assert cd.band_quantile(values) == pytest.approx([50.0, 100.0])
    assert cd.band_quantile(values, 0.75) == pytest.approx([75.0, 150.0])


def test_main_matches_the_quantile_asked_for(
    usgs_root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ['--root', usgs_root, '--patches', '4', '--patch', '16']
    assert cd.main([*argv, '--densities', '1', '2', '--quantile', '0.75']) == 0
    out = capsys.readouterr().out
    assert '| q75 per band |' in out and 'whose q75 is nearest' in out
