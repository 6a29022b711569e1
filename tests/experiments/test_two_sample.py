import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from torchgeo_csia.constants import BACKGROUND, CLOUD, SNOW
from torchgeo_csia.experiments import two_sample as ts
from torchgeo_csia.experiments.texture import (
    band_means,
    erode,
    gradient_magnitude,
    high_frequency_power,
    texture_statistics,
)
from torchgeo_csia.models import Inpainter

# the generated scenes are 64 px: small crops and patches, few steps
FAST = {
    'seeds': (0,),
    'crops': 8,
    'size': 16,
    'patch': 32,
    'min_pixels': 10,
    'min_free': 0.5,
    'score_splits': ('val', 'test'),
    'steps': 5,
    'batch_size': 8,
    'width': 4,
    'examples': 2,
}


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def white_square(
    image: Tensor, mask: Tensor, azimuth: Tensor, elevation: Tensor
) -> tuple[Tensor, Tensor]:
    """A painter that paints a flat white cloud square where there is background."""
    hole = torch.zeros_like(mask, dtype=torch.bool)
    hole[:, 4:28, 4:28] = True
    hole &= mask == BACKGROUND
    return image.masked_fill(hole[:, None], 1.0), mask.masked_fill(hole, CLOUD)


# ------------------------------------------------------------------ crops


def test_valid_centres_fit_the_frame_and_avoid_excluded() -> None:
    where = torch.ones(20, 30, dtype=torch.bool)
    centres = ts.valid_centres(where, 8)
    assert centres[:, 0].min() == 4 and centres[:, 0].max() == 20 - 8 + 4
    assert centres[:, 1].min() == 4 and centres[:, 1].max() == 30 - 8 + 4
    x = torch.arange(20 * 30).reshape(20, 30)
    for r, c in centres.tolist():
        assert ts.crop(x, (r, c), 8).shape == (8, 8)
    exclude = torch.zeros(20, 30, dtype=torch.bool)
    exclude[10, 15] = True
    kept = ts.valid_centres(where, 8, exclude)
    for r, c in kept.tolist():
        assert not ts.crop(exclude, (r, c), 8).any()
    assert len(kept) < len(centres)
    assert len(ts.valid_centres(torch.ones(5, 5, dtype=torch.bool), 8)) == 0


def test_valid_centres_bad_arguments() -> None:
    with pytest.raises(ValueError, match='size'):
        ts.valid_centres(torch.ones(4, 4, dtype=torch.bool), 0)
    with pytest.raises(ValueError, match='where'):
        ts.valid_centres(torch.ones(4, dtype=torch.bool), 2)


def test_crops_around_are_centred_on_the_class() -> None:
    labels = torch.zeros(6, 48, 48, dtype=torch.long)
    labels[:5, 10:20, 25:40] = CLOUD  # the last sample holds none
    image = torch.rand(6, 3, 48, 48)
    x, y, keep = ts.crops_around(image, labels, labels == CLOUD, 16, gen())
    assert x.shape == (5, 3, 16, 16) and y.shape == (5, 16, 16)
    assert keep.tolist() == [0, 1, 2, 3, 4]
    assert (y[:, 8, 8] == CLOUD).all()
    # the crops are windows of the input
    none = ts.crops_around(image[5:], labels[5:], labels[5:] == CLOUD, 16, gen())
    assert none[0].shape == (0, 3, 16, 16) and len(none[2]) == 0


def test_round_robin_balances_groups_without_repeats() -> None:
    picks = ts.round_robin([100, 3, 50], 30, gen())
    assert len(picks) == 30 and len(set(picks)) == 30
    per = [sum(g == i for g, _ in picks) for i in range(3)]
    assert per[1] == 3 and abs(per[0] - per[2]) <= 1
    assert len(ts.round_robin([2, 1], 10, gen())) == 3


def test_free_windows_are_label_free() -> None:
    labels = torch.zeros(64, 64, dtype=torch.long)
    labels[40:, 40:] = SNOW
    corners = ts.free_windows(labels, 16, 8)
    assert len(corners)
    for t, left in corners.tolist():
        assert (labels[t : t + 16, left : left + 16] == BACKGROUND).all()
    assert len(ts.free_windows(labels, 16, 8, min_free=0.5)) > len(corners)
    assert len(ts.free_windows(labels, 128, 8)) == 0


def test_cloudy_windows_hold_cloud_and_background_only() -> None:
    labels = torch.zeros(64, 64, dtype=torch.long)
    labels[8:24, 8:24] = CLOUD  # the window at (8, 8) is all cloud
    labels[24:28, 8:24] = SNOW  # beside the cloud: windows holding it are out
    corners = ts.cloudy_windows(labels, 16, 8)
    assert len(corners)
    for t, left in corners.tolist():
        window = labels[t : t + 16, left : left + 16]
        assert (window == CLOUD).any()
        assert ((window == CLOUD) | (window == BACKGROUND)).all()
        assert (window == CLOUD).float().mean() <= 0.5
    # a window that is all cloud exceeds the share; one that is half cloud does not
    assert [8, 8] not in corners.tolist() and [0, 8] in corners.tolist()
    assert [16, 8] not in corners.tolist()  # half cloud, but it holds snow
    assert [0, 8] not in ts.cloudy_windows(labels, 16, 8, max_cloud=0.49).tolist()
    assert [8, 8] in ts.cloudy_windows(labels, 16, 8, max_cloud=1.0).tolist()
    assert len(ts.cloudy_windows(labels, 128, 8)) == 0


def test_mask_class_hides_the_class_and_its_ring() -> None:
    x = torch.ones(1, 3, 16, 16)
    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    labels[0, 6:10, 6:10] = CLOUD
    out = ts.mask_class(x, labels, CLOUD, 2)
    assert (out[0, :, 4:12, 4:12] == 0).all()
    assert out.sum() == 3 * (256 - 64)
    assert (x == 1).all()  # not modified


def test_balanced_and_halves() -> None:
    a, b = ts.balanced(torch.arange(10), torch.arange(4) + 100, gen())
    assert len(a) == len(b) == 4 and (b >= 100).all()
    assert len(set(a.tolist())) == 4
    h1, h2 = ts.halves(torch.arange(11), gen())
    assert len(h1) == len(h2) == 5
    assert not set(h1.tolist()) & set(h2.tolist())


# ------------------------------------------------------------- classifier


def smooth(n: int, seed: int) -> Tensor:
    g = gen(seed)
    low = torch.rand(n, 3, 4, 4, generator=g)
    return nn.functional.interpolate(low, size=(16, 16), mode='bilinear')


def test_classifier_separates_obviously_different_crops() -> None:
    real = smooth(96, 0)
    noisy = (smooth(96, 1) + 0.3 * torch.randn(96, 3, 16, 16, generator=gen(2))).clamp(
        0, 1
    )
    acc = ts.two_sample_accuracy(
        real[:48], noisy[:48], real[48:], noisy[48:], seed=0, steps=60, width=8
    )
    assert acc > 0.9


def test_classifier_cannot_tell_one_distribution_from_itself() -> None:
    x = smooth(400, 3) + 0.1 * torch.randn(400, 3, 16, 16, generator=gen(4))
    accs = [
        ts.two_sample_accuracy(
            x[:100], x[100:200], x[200:300], x[300:], seed=s, steps=40, width=8
        )
        for s in (0, 1)
    ]
    assert all(abs(a - 0.5) < 0.15 for a in accs), accs


class MeanLogit(nn.Module):
    """Logit = mean value - 0.5: a fixed 'classifier' for the scores."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        return x.mean((1, 2, 3)) - 0.5 + self.dummy


def test_classifier_scores_accuracy_and_auc() -> None:
    dark, bright = torch.full((10, 3, 16, 16), 0.2), torch.full((6, 3, 16, 16), 0.8)
    perfect = ts.classifier_scores(MeanLogit(), dark, bright)
    assert perfect == {'accuracy': 1.0, 'auc': 1.0}
    swapped = ts.classifier_scores(MeanLogit(), bright, dark)
    assert swapped == {'accuracy': 0.0, 'auc': 0.0}
    # ranked right but the threshold off: accuracy 0.5, AUC 1
    shifted = ts.classifier_scores(MeanLogit(), dark + 0.4, bright)
    assert shifted == {'accuracy': 0.5, 'auc': 1.0}
    assert ts.classifier_scores(MeanLogit(), dark, dark)['auc'] == 0.5


def test_classifier_is_seeded() -> None:
    a, b = smooth(32, 0), smooth(32, 1).flip(-1)
    runs = [
        ts.train_classifier(a, b, seed=7, steps=3, width=4)(a[:4]) for _ in range(2)
    ]
    assert torch.equal(runs[0], runs[1])


def test_classifier_bad_arguments() -> None:
    a = torch.rand(4, 3, 16, 16)
    with pytest.raises(ValueError, match='both sets'):
        ts.train_classifier(a, a[:0])
    with pytest.raises(ValueError, match='one shape'):
        ts.train_classifier(a, torch.rand(4, 3, 8, 8))
    with pytest.raises(ValueError, match='steps'):
        ts.train_classifier(a, a, steps=0)
    with pytest.raises(ValueError, match='even'):
        ts.CropClassifier()(torch.rand(1, 3, 15, 15))


# ----------------------------------------------------------------- texture


def test_texture_statistics() -> None:
    region = torch.ones(2, 16, 16, dtype=torch.bool)
    flat = torch.full((2, 3, 16, 16), 0.4)
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None]) % 2
    board = checker.float().expand(2, 3, 16, 16).contiguous()
    assert gradient_magnitude(flat, region) == 0
    assert gradient_magnitude(board, region) > 1
    assert high_frequency_power(flat, region) == 0
    # a checkerboard's power sits at the highest frequency
    assert high_frequency_power(board, region) > 0.2
    assert high_frequency_power(smooth(2, 0), region) < 0.01
    assert torch.allclose(band_means(flat, region), torch.full((3,), 0.4))
    stats = texture_statistics(board, region)
    assert stats['pixels'] == 512 and len(stats['brightness']) == 3
    assert math.isnan(float(gradient_magnitude(flat, region & False)))
    with pytest.raises(ValueError, match='region'):
        gradient_magnitude(flat, region[0])
    with pytest.raises(ValueError, match='cutoff'):
        high_frequency_power(flat, region, cutoff=1.0)


def test_erode() -> None:
    region = torch.zeros(1, 10, 10, dtype=torch.bool)
    region[0, 2:8, 2:8] = True
    assert erode(region, 1).sum() == 16
    assert erode(torch.ones(1, 4, 4, dtype=torch.bool), 1).sum() == 4


# ------------------------------------------------------------------ painters


def test_as_painter_shipped_modes() -> None:
    modes = ts.as_painter('shipped')
    assert [served for _, served in modes] == [('cloud', 'shadow'), ('snow',)]
    assert [served for _, served in ts.as_painter('shipped', ('snow',))] == [('snow',)]
    assert ts.as_painter(white_square)[0][0] is white_square


def _recorded(
    monkeypatch: pytest.MonkeyPatch, mode: type = ts.RandomCloudShadow
) -> list[Any]:
    """The *mode* augmentations as_painter builds from now on, as built."""
    built: list[Any] = []

    class Recorded(mode):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(ts, mode.__name__, Recorded)
    return built


def _tiny_main(
    root: str, tmp_path: Path, cls: str, *extra: str
) -> tuple[str, dict[str, Any]]:
    """Run the command line on *cls* with *extra* options: its report and config.

    Tiny: the generated scenes hold no label-free 32 px patch, so nothing is painted
    and the classifiers train 3 steps.
    """
    out, numbers = tmp_path / f'{cls}.md', tmp_path / f'{cls}.json'
    argv = ['--root', root, '--out', str(out), '--json', str(numbers)]
    argv += ['--classes', cls, '--seeds', '0', '--crops', '8', '--size', '16']
    argv += ['--patch', '32', '--min-pixels', '10', '--steps', '3', '--width', '4']
    argv += ['--score-splits', 'val', 'test', '--no-figure']
    assert ts.main([*argv, *extra]) == 0
    config: dict[str, Any] = json.loads(numbers.read_text())['config']
    return out.read_text(), config


def test_shadow_depth_reaches_the_painter(
    usgs_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _recorded(monkeypatch)
    ts.as_painter('shipped', ('shadow',), shadow_depth=1.9)
    assert built[-1].shadow_depth == 1.9
    with pytest.raises(ValueError, match='shadow_depth'):
        ts.as_painter('shipped', shadow_depth=0.0)
    with pytest.raises(ValueError, match='CSIA modes only'):
        ts.as_painter(white_square, shadow_depth=1.9)
    report, config = _tiny_main(usgs_root, tmp_path, 'shadow', '--shadow-depth', '1.9')
    assert built[-1].shadow_depth == 1.9
    assert config['shadow_depth'] == 1.9
    assert '(shadow depth 1.9)' in report


def test_cloud_density_reaches_the_painter(
    usgs_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _recorded(monkeypatch)
    ts.as_painter('shipped', ('cloud',), cloud_density=2.0)
    assert built[-1].cloud_density == 2.0 and built[-1].shadow_depth == 1.0
    with pytest.raises(ValueError, match='cloud_density must be > 0'):
        ts.as_painter('shipped', cloud_density=0.0)
    with pytest.raises(ValueError, match='CSIA modes only'):
        ts.as_painter(white_square, cloud_density=2.0)
    extra = ['--shadow-depth', '1.9', '--cloud-density', '2', '--cloud-texture', '1']
    extra += ['--shadow-scale', '2']
    report, config = _tiny_main(usgs_root, tmp_path, 'cloud', *extra)
    assert built[-1].cloud_density == 2.0 and built[-1].cloud_texture == 1.0
    assert built[-1].shadow_scale == 2 and config['shadow_scale'] == 2
    assert config['cloud_density'] == 2.0 and config['cloud_texture'] == 1.0
    assert (
        '(shadow depth 1.9, cloud density 2, cloud texture 1, shadow scale 2)' in report
    )
    with pytest.raises(ValueError, match='shadow_scale applies'):
        ts.as_painter(white_square, shadow_scale=2)
    with pytest.raises(ValueError, match='cloud_texture must be >= 0'):
        ts.as_painter('shipped', cloud_texture=-1.0)
    with pytest.raises(ValueError, match='cloud_texture applies'):
        ts.as_painter(white_square, cloud_texture=1.0)


def test_shadow_for_clouds_paints_shadows_by_mode_five(
    usgs_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modes = ts.as_painter('shipped', shadow_for_clouds=True)
    assert [served for _, served in modes] == [('cloud',), ('shadow',), ('snow',)]
    assert [
        s for _, s in ts.as_painter('shipped', ('cloud',), shadow_for_clouds=True)
    ] == [('cloud',)]
    with pytest.raises(ValueError, match='shadow_for_clouds applies'):
        ts.as_painter(white_square, shadow_for_clouds=True)
    built = _recorded(monkeypatch, ts.RandomShadowForClouds)
    ts.as_painter('shipped', ('shadow',), 2.0, shadow_scale=2, shadow_for_clouds=True)
    assert built[-1].shadow_depth == 2.0 and built[-1].shadow_scale == 2
    assert built[-1].p == 1.0 and built[-1].max_cloud == ts.MAX_CLOUD
    report, config = _tiny_main(usgs_root, tmp_path, 'shadow', '--shadow-for-clouds')
    assert config['shadow_for_clouds'] is True
    assert '(shadows by RandomShadowForClouds beside real clouds)' in report


def test_as_painter_bad_arguments() -> None:
    with pytest.raises(ValueError, match='painter'):
        ts.as_painter({'water': 'x'})
    with pytest.raises(ValueError, match='painter'):
        ts.as_painter('NO_SUCH_WEIGHTS')
    net = Inpainter(nn.Conv2d(4, 3, 3, padding=1), bands=3)
    with pytest.raises(ValueError, match='structure'):
        ts.as_painter(net)


def test_painter_from_files(tmp_path: Path) -> None:
    from torchgeo_csia.models.weights import load_inpainter

    # an exported state dict: the mapping's key names the class it paints
    shipped = load_inpainter('SHADOW_SPARCS_PHOTO')
    torch.save(shipped.state_dict(), tmp_path / 'mine.pth')
    net = ts._inpainter_like(str(tmp_path / 'mine.pth'), 'shadow')
    assert net.structure == 'shadow' and net.margin == shipped.margin
    x, hole = torch.rand(1, 3, 32, 32), torch.zeros(1, 32, 32, dtype=torch.bool)
    hole[:, 8:20, 8:20] = True
    with torch.no_grad():
        assert torch.allclose(net(x, hole), shipped(x, hole))
    modes = ts.as_painter({'shadow': str(tmp_path / 'mine.pth')})
    assert [served for _, served in modes] == [('cloud', 'shadow'), ('snow',)]
    # alone, a state dict does not say its class (a checkpoint does)
    with pytest.raises(ValueError, match='does not say which class'):
        ts.as_painter(str(tmp_path / 'mine.pth'))


# ------------------------------------------------------------- the measure


def test_two_sample_test_with_a_painter_function(usgs_root: str) -> None:
    result = ts.two_sample_test(
        usgs_root, painter=white_square, classes=('cloud',), **FAST
    )
    cloud = result['classes']['cloud']
    assert set(result['classes']) == {'cloud'}
    for role in ('train', 'score'):
        n = cloud['crops'][role]
        assert n['real'] == n['painted'] == n['moved'] == 8
        assert cloud['scenes'][role]
    assert len(cloud['scenes']['train']) == 2 and len(cloud['scenes']['score']) == 2
    assert cloud['note']  # two scenes: warned
    for kind in ts.COMPARISONS:
        acc = cloud['accuracy'][kind]
        assert len(acc['values']) == 1 and 0.0 <= acc['mean'] <= 1.0
    # a flat white square has no texture
    assert cloud['texture']['painted']['gradient_ratio'] < 0.5
    assert result['examples']['cloud']['painted'].dtype == torch.uint8
    assert 'shadow' not in result['classes']


def test_two_sample_test_shipped(usgs_root: str, tmp_path: Path) -> None:
    result = ts.two_sample_test(usgs_root, **FAST)
    assert set(result['classes']) == {'cloud', 'shadow', 'snow'}
    shadow = result['classes']['shadow']
    assert set(shadow['masked_accuracy']) == {'painted', 'moved'}
    assert shadow['crops']['train']['painted'] > 0
    text = ts.format_table(result)
    assert '| shadow (cloud masked) |' in text and '| snow |' in text
    out = tmp_path / 'fig.png'
    ts.realism_figure(result, out)
    assert out.stat().st_size > 1000
    json.dumps(ts._jsonable(result))  # the numbers serialise


def test_two_sample_test_is_reproducible(usgs_root: str) -> None:
    kw = {**FAST, 'painter': white_square, 'classes': ('cloud',)}
    a, b = (ts.two_sample_test(usgs_root, **kw) for _ in range(2))
    assert a['classes']['cloud']['accuracy'] == b['classes']['cloud']['accuracy']
    assert a['classes']['cloud']['texture'] == b['classes']['cloud']['texture']


@pytest.mark.parametrize(
    ('kwargs', 'name'),
    [
        ({'classes': ('water',)}, 'classes'),
        ({'classes': ()}, 'classes'),
        ({'seeds': ()}, 'seeds'),
        ({'seeds': (1, 1)}, 'seeds'),
        ({'crops': 2}, 'crops'),
        ({'size': 15}, 'size'),
        ({'patch': 8}, 'patch'),
        ({'max_scenes': 0}, 'max_scenes'),
        ({'min_free': 0.0}, 'min_free'),
        ({'ring': -1}, 'ring'),
        ({'score_splits': ('train',)}, 'score_splits'),
        ({'train_splits': ('nope',)}, 'train_splits'),
        ({'painter': {'water': 'x'}}, 'painter'),
    ],
)
def test_two_sample_test_bad_arguments(usgs_root: str, kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        ts.two_sample_test(usgs_root, **{**FAST, **kwargs})


def test_main_writes_table_and_figure(usgs_root: str, tmp_path: Path) -> None:
    out = tmp_path / 'realism.md'
    argv = [
        '--root',
        usgs_root,
        '--out',
        str(out),
        '--classes',
        'snow',
        '--seeds',
        '0',
        '--crops',
        '8',
        '--size',
        '16',
        '--patch',
        '32',
        '--min-pixels',
        '10',
        '--steps',
        '3',
        '--width',
        '4',
        '--score-splits',
        'val',
        'test',
        '--json',
        str(tmp_path / 'r.json'),
    ]
    # the generated scenes hold no label-free 32 px patch: no painted crops, so the
    # comparisons that need them say why instead of failing
    assert ts.main(argv) == 0
    text = out.read_text()
    assert 'python -m torchgeo_csia.experiments.two_sample' in text
    assert '| snow |' in text and os.path.exists(tmp_path / 'realism.png')
    numbers = json.loads((tmp_path / 'r.json').read_text())
    assert numbers['config']['crops'] == 8
