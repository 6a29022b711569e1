import math

import pytest
import torch

from torchgeo_csia.experiments import shadow_depth as sd
from torchgeo_csia.experiments.two_sample import Scene


def _scene(ground: tuple[int, int, int], gain: tuple[float, float, float]) -> Scene:
    # a 32 px scene of flat ground with a shadow square that keeps *gain* per band
    image = torch.tensor(ground, dtype=torch.float32).view(3, 1, 1).repeat(1, 32, 32)
    labels = torch.zeros(32, 32, dtype=torch.uint8)
    labels[12:20, 12:20] = sd.SHADOW
    shadow = labels == sd.SHADOW
    image[:, shadow] *= torch.tensor(gain).view(3, 1)
    return Scene(
        'LC80010812013365LGN00_18', 'train', image.round().byte(), labels, (150.0, 40.0)
    )


def test_box_mean() -> None:
    x = torch.ones(1, 9, 9)
    m = sd.box_mean(x, 3)
    assert m[0, 4, 4] == pytest.approx(1.0)
    assert m[0, 0, 0] == pytest.approx(4 / 9)  # zero outside the image


def test_real_gains_read_each_band_over_its_ground() -> None:
    gains = sd.real_gains([_scene((200, 160, 100), (0.5, 0.25, 0.75))], window=15)
    assert len(gains) == 64
    torch.testing.assert_close(
        gains.median(0).values, torch.tensor([0.5, 0.25, 0.75]), atol=0.01, rtol=0
    )
    # a shadow with too little ground in its window is left out
    assert len(sd.real_gains([_scene((200, 160, 100), (0.5, 0.5, 0.5))], window=3)) < 64


def test_fit_depth() -> None:
    fit = sd.fit_depth([0.25, 0.5, 0.9], [0.5, 0.5, 1.0])
    assert fit[:2] == pytest.approx([2.0, 1.0])
    assert math.isnan(fit[2])  # a painted gain that does not darken


def test_painted_gains_darken(usgs_root: str) -> None:
    from torchgeo_csia.experiments.two_sample import load_scenes

    scenes = load_scenes(usgs_root, ['train', 'val', 'test'])
    gains = sd.painted_gains(scenes, patches=4, patch=16)
    assert len(gains) > 0 and gains.shape[1] == 3
    # the network's shadows darken the ground they are painted on
    assert (gains.median(0).values < 1).all()


def test_the_window_must_be_odd() -> None:
    with pytest.raises(ValueError, match='odd'):
        sd.real_gains([_scene((200, 160, 100), (0.5, 0.5, 0.5))], window=64)


def test_main_prints_the_table(
    usgs_root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ['--root', usgs_root, '--patches', '4', '--patch', '16', '--window', '15']
    assert sd.main(argv) == 0
    out = capsys.readouterr().out
    assert '| real |' in out and '| painted, depth 1.9 |' in out
    assert 'the depth that gives the real median gain' in out
