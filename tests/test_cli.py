import argparse
import glob
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from torchgeo_csia.cli import build_parser, main
from torchgeo_csia.experiment import CLASSES, iou

from .conftest import DATA, HERE

ROOT = os.path.join(HERE, '..')
LIGHT = (
    'import sys\n'
    'from torchgeo_csia.cli import build_parser\n'
    'build_parser()\n'
    "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'torchgeo'})\n"
    'assert not heavy, heavy\n'
)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, check=True
    )


def test_parser_is_light() -> None:
    # --help answers without importing torch or torchgeo
    _python(LIGHT)


@pytest.mark.parametrize('args', [['--help'], ['demo', '--help'], ['evaluate', '-h']])
def test_help_is_fast(args: list[str]) -> None:
    cmd = [sys.executable, '-m', 'torchgeo_csia.cli', *args]
    best = math.inf
    for _ in range(3):  # the best of three, against a busy machine
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        best = min(best, time.perf_counter() - start)
    assert done.stdout.startswith('usage: torchgeo-csia')
    assert best < 1.5, f'{args}: {best:.2f} s'


@pytest.mark.parametrize(
    'first, then',
    [
        ('import torchgeo_csia', 'import torchgeo.models'),
        ('import torchgeo.models', ''),
    ],
)
def test_get_weight_after_import(first: str, then: str) -> None:
    # registered with TorchGeo whichever is imported first, and only then imports it
    _python(
        f'import sys\n{first}\n'
        "assert 'torch' not in sys.modules or 'torchgeo.models' in sys.modules\n"
        f'{then}\nimport torchgeo_csia\n'
        'from torchgeo.models import get_model, get_weight, list_models\n'
        "w = get_weight('CSIASegmenter_Weights.BASE_SPARCS_PHOTO')\n"
        "assert {'csia_segmenter', 'csia_inpainter'} <= set(list_models())\n"
        "get_model('csia_segmenter', weights=w)\n"
    )


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    return dict(action.choices)


def test_every_option_has_help_and_shows_its_default() -> None:
    for name, sub in _subparsers().items():
        assert issubclass(sub.formatter_class, argparse.ArgumentDefaultsHelpFormatter)
        for action in sub._actions:
            assert action.help, f'{name} {action.option_strings}: no help text'
        text = ' '.join(sub.format_help().split())
        for action in sub._actions:
            if action.default not in (None, False, argparse.SUPPRESS):
                shown = ' '.join(f'(default: {action.default})'.split())
                assert shown in text, f'{name} {action.option_strings}: no default'
    assert '(default: 6)' in _subparsers()['demo'].format_help()


def test_demo_offers_only_photo(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as err:
        build_parser().parse_args(['demo', '--image', 'data'])
    assert err.value.code == 2
    assert "invalid choice: 'data'" in capsys.readouterr().err


def test_ci_run_passes_arguments_after_double_dash() -> None:
    # the README's form: bash .ci/run demo -- --root ... --image photo
    done = subprocess.run(
        ['bash', os.path.join(ROOT, '.ci', 'run'), 'demo', '--', '--help'],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'usage: torchgeo-csia demo' in done.stdout


def test_demo_figure_shares_a_scale_and_names_columns() -> None:
    import matplotlib.pyplot as plt

    from torchgeo_csia.cli import NODATA_COLOR, demo_figure

    torch.manual_seed(0)
    before = {
        'image': torch.rand(2, 3, 16, 16) * 0.2,
        'mask': torch.zeros(2, 16, 16, dtype=torch.long),
    }
    before['mask'][1, :, :2] = 255  # nodata
    after = {'image': before['image'].clone(), 'mask': before['mask'].clone()}
    after['image'][0, :, :4, :4] = 1.0  # a bright painted cloud
    after['mask'][0, :4, :4] = 3
    scenes = ['LC80010812013365LGN00_18', 'LC80320282013182LGN00_30']
    fig = demo_figure(before, after, scenes, [['cloud + shadow'], []])
    axs = np.array(fig.axes[:8]).reshape(4, 2)
    # before and after on one scale: unchanged pixels look the same in both
    shown_before = np.asarray(axs[0, 0].images[0].get_array())
    shown_after = np.asarray(axs[2, 0].images[0].get_array())
    np.testing.assert_allclose(shown_before[4:, 4:], shown_after[4:, 4:])
    assert (shown_after[:4, :4] == 1.0).all()
    assert scenes[0] in axs[0, 0].get_title() and scenes[1] in axs[0, 1].get_title()
    assert 'cloud + shadow' in axs[2, 0].get_title()
    assert 'unchanged' in axs[2, 1].get_title()
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ['background', 'shadow', 'snow', 'cloud', 'nodata', 'inserted']
    # nodata is drawn in its own colour, not white like cloud
    cmap = axs[1, 1].images[0].get_cmap()
    assert tuple(cmap.get_bad()[:3]) == NODATA_COLOR
    plt.close(fig)


def test_iou_mean_leaves_absent_classes_out() -> None:
    conf = torch.tensor(
        [[50, 5, 0, 5], [5, 20, 0, 0], [0, 0, 0, 0], [5, 0, 0, 30]]
    )  # no snow in the truth, none predicted
    scores = iou(conf)
    assert scores['snow'] == 0.0
    present = [scores[c] for c in ('background', 'shadow', 'cloud')]
    assert scores['mean'] == pytest.approx(sum(present) / 3)
    # a class predicted but absent still costs the classes it was taken from
    conf[0, 2] = 10
    assert iou(conf)['background'] < scores['background']
    assert math.isnan(iou(torch.zeros(4, 4, dtype=torch.long))['mean'])


def test_bench_data_small(capsys) -> None:
    main(['bench-data', '--scenes', '2', '--size', '600', '--patches', '5'])
    table = capsys.readouterr().out
    assert '| native UTM | L8Biome (torchgeo) |' in table
    assert 'SPARCS usgs (_mask.png)' in table


def test_bench_data_loader(usgs_root: str, capsys) -> None:
    from torchgeo_csia.bench_data import loader

    rows = loader(usgs_root, workers=(0, 1), batch_size=2, patch_size=64, batches=2)
    assert [n for n, _ in rows] == [0, 1] and all(rate > 0 for _, rate in rows)
    assert '| workers | patches/s |' in capsys.readouterr().out


@pytest.fixture(scope='module')
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp('packs')
    out = {}
    for image in ('photo', 'data'):
        out[image] = str(root / image)
        main(
            [
                'pack',
                '--root',
                os.path.join(DATA, 'usgs'),
                '--image',
                image,
                '--out',
                out[image],
            ]
        )
    return out


def test_pack_refuses_dataset_folder(tmp_path: Path) -> None:
    inside = os.path.join(DATA, 'usgs', 'pack')
    with pytest.raises(ValueError, match='must not be inside'):
        main(['pack', '--root', os.path.join(DATA, 'usgs'), '--out', inside])
    assert not os.path.exists(inside)


@pytest.mark.parametrize('image', ['photo', 'data'])
def test_train_inpainter_resume_and_evaluate(
    packs: dict[str, str],
    image: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the same command trains on the 3-band quicklooks and on 10-band data
    args = [
        'train-inpainter',
        '--pack',
        packs[image],
        '--class',
        'cloud',
        '--size',
        '32',
    ]
    args += ['--batch-size', '2', '--encoder', 'resnet18', '--out', str(tmp_path)]
    args += ['--decoder-channels', '16', '16', '16', '16', '16']
    main([*args, '--steps', '2'])
    main([*args, '--steps', '2'])  # resumes from the checkpoint: nothing left
    assert 'resumed cloud from step 2' in capsys.readouterr().out
    (weights,) = glob.glob(str(tmp_path / '*.pth'))
    meta = json.load(open(weights.replace('.pth', '.json')))
    assert meta['image'] == image and meta['steps_done'] == 2
    main(
        [
            'evaluate-inpainters',
            '--pack',
            packs[image],
            '--class',
            'cloud',
            '--weights',
            weights,
            '--count',
            '4',
            '--figure',
            str(tmp_path / 'fig.png'),
        ]
    )
    assert (tmp_path / 'fig.png').stat().st_size > 1000
    table = capsys.readouterr().out
    assert '| cloud | diffusion |' in table and '| cloud | class mean |' in table
    # fine-tuning those weights with the adversarial term, resumable as well
    tuned = tmp_path / 'tuned'
    more = [*args, '--out', str(tuned), '--init', weights, '--adversarial', '0.1']
    more += ['--swap', '0.5', '--swap-free', '0.2', '--ema', '0.5', '--weighted']
    more += ['--critic-real', 'swapped']
    main([*more, '--steps', '2'])
    state = torch.load(tuned / 'last.ckpt', weights_only=False)
    assert state['critic'] is not None and state['config']['init'] == weights
    assert state['config']['swap'] == 0.5 and state['config']['weighted']
    assert state['config']['critic_real'] == 'swapped'
    # the moving average is what gets exported, not the last weights
    (exported,) = glob.glob(str(tuned / '*.pth'))
    out = torch.load(exported)
    name = next(k for k, v in out.items() if v.is_floating_point() and v.ndim == 4)
    assert torch.equal(out[name], state['ema'][f'module.{name}'].half())
    assert not torch.equal(state['ema'][f'module.{name}'], state['model'][name])
    main([*more, '--steps', '2'])
    assert 'resumed cloud from step 2' in capsys.readouterr().out


def test_train_segmenter_evaluate_realism(
    packs: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(
        [
            'train-segmenter',
            '--pack',
            packs['photo'],
            '--variant',
            'csia',
            '--cloud-first',
            '--steps',
            '2',
            '--batch-size',
            '2',
            '--size',
            '32',
            '--encoder',
            'resnet18',
            '--out',
            str(tmp_path),
        ]
    )
    (weights,) = glob.glob(str(tmp_path / '*.pth'))
    log = json.load(open(weights.replace('.pth', '.json')))
    assert log['config']['shadow_first'] is False
    assert log['steps_done'] == 2 and set(log['reach']) == {
        'RandomCloudShadow',
        'RandomShadowForClouds',
        'RandomSnow',
    }
    main(
        [
            'evaluate',
            '--pack',
            packs['photo'],
            '--weights',
            weights,
            '--split',
            'all',
            '--out',
            str(tmp_path / 'table.md'),
            '--figure',
            str(tmp_path / 'conf.png'),
        ]
    )
    assert '| shadow |' in (tmp_path / 'table.md').read_text()
    assert (tmp_path / 'conf.png').stat().st_size > 1000
    main(
        [
            'realism',
            '--pack',
            packs['photo'],
            '--weights',
            weights,
            '--splits',
            'train',
            '--count',
            '4',
            '--size',
            '32',
            '--min-free',
            '0.2',
            '--out',
            str(tmp_path / 'r.json'),
            '--figure',
            str(tmp_path / 'r.png'),
        ]
    )
    result = json.load(open(tmp_path / 'r.json'))
    assert 0.0 <= result['cloud'] <= 1.0 and 'recall_snow' in result
    assert sum(result[f'shadow_as_{c}'] for c in CLASSES) == pytest.approx(1.0)
    # the reference: real structures of the training crops moved onto the crops
    assert 0.0 <= result['pasted_cloud'] <= 1.0
    assert result['ratio_pasted_cloud'] == pytest.approx(
        result['pasted_cloud'] / result['recall_cloud']
    )
    assert '| cloud |' in capsys.readouterr().out


def test_reach(packs: dict[str, str], tmp_path: Path) -> None:
    args = ['reach', '--pack', packs['photo'], '--count', '6', '--size', '32']
    main(
        [
            *args,
            '--p',
            '0',
            '1',
            '--min-free',
            '0',
            '1',
            '--out',
            str(tmp_path / 'r'),
        ]
    )
    rows = json.load(open(tmp_path / 'r'))
    assert len(rows) == 2 * 2 * 3
    for row in rows:
        assert 0.0 <= row['changed'] <= row['eligible'] <= 1.0
        if row['p'] == 0:
            assert row['changed'] == 0.0
    # at p 1 with no background rule every eligible crop changes
    full = [r for r in rows if r['p'] == 1 and r['min_free'] == 0]
    assert all(r['changed'] == r['eligible'] for r in full)
    assert any(r['changed'] > 0 for r in full)


def test_train_rejects_unknown_critic_real(
    packs: dict[str, str], tmp_path: Path
) -> None:
    from torchgeo_csia.inpainting import TrainConfig, load_pack, train

    cfg = TrainConfig(cls='cloud', steps=1, size=32, critic_real='other')
    with pytest.raises(ValueError, match="critic_real must be 'own' or 'swapped'"):
        train(load_pack(packs['photo']), cfg, str(tmp_path))


def test_build_bank(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from torchgeo_csia.transforms import StructureBank

    out = tmp_path / 'bank.npz'
    main(
        [
            'build-bank',
            '--root',
            os.path.join(DATA, 'usgs'),
            '--size',
            '32',
            '--out',
            str(out),
        ]
    )
    bank = StructureBank.load(out)
    assert bank.meta['split'] == 'train' and len(bank) > 0
    assert bank.meta['scenes'] == [
        'LC80010812013365LGN00_18',
        'LC80320282013182LGN00_30',
    ]


def test_bench_passes_its_options(monkeypatch: pytest.MonkeyPatch) -> None:
    # the bench itself times the shipped networks (a GPU job: docs/reproduce); here
    # the command's options reach it
    import torchgeo_csia.bench as bench

    seen: dict[str, object] = {}
    monkeypatch.setattr(bench, 'run', lambda **kwargs: seen.update(kwargs))
    main(['bench', '--batches', '2', '4', '--size', '64', '--repeat', '1'])
    assert seen == {
        'batches': [2, 4],
        'size': 64,
        'repeat': 1,
        'device': None,
        'baseline': None,
        'authors': True,
    }
    main(['bench', '--device', 'cpu', '--baseline', 'old', '--no-authors'])
    assert (seen['device'], seen['baseline'], seen['authors']) == ('cpu', 'old', False)


@pytest.mark.parametrize(
    'spec', ['BASE_SPARCS_PHOTO', 'CSIASegmenter_Weights.BASE_SPARCS_PHOTO']
)
def test_weights_names_resolve(spec: str) -> None:
    from torchgeo_csia.cli import _registered
    from torchgeo_csia.models.weights import CSIASegmenter_Weights

    member = _registered(spec, 'CSIASegmenter_Weights', '--weights')
    assert member is CSIASegmenter_Weights.BASE_SPARCS_PHOTO


@pytest.mark.parametrize(
    'args, message',
    [
        (
            ['realism', '--weights', 'NOPE'],
            "--weights 'NOPE' is neither a file nor one of",
        ),
        (
            ['evaluate', '--weights', 'CSIAInpainter_Weights.CLOUD_SPARCS_PHOTO'],
            'is neither a file nor one of',
        ),
        (
            ['reach', '--inpainters', 'SNOW_SPARCS_PHOTO', 'x', 'y'],
            "--inpainters 'SNOW_SPARCS_PHOTO' paints snow, expected a cloud",
        ),
        (
            ['evaluate-inpainters', '--class', 'cloud', '--weights', 'x.pth'],
            "--weights 'x.pth' is neither a file nor one of",
        ),
    ],
)
def test_weights_options_say_what_they_take(
    packs: dict[str, str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit, match=message):
        main([args[0], '--pack', packs['photo'], *args[1:]])


def test_evaluate_leaves_an_absent_class_out_of_the_mean(
    packs: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import torchgeo_csia.experiment as experiment

    conf = torch.tensor([[50, 5, 0, 5], [5, 20, 0, 0], [0, 0, 0, 0], [5, 0, 0, 30]])
    monkeypatch.setattr(experiment, 'confusion', lambda *args: conf)
    out = tmp_path / 'table.md'
    args = ['evaluate', '--pack', packs['photo'], '--weights', 'BASE_SPARCS_PHOTO']
    main([*args, '--split', 'all', '--out', str(out)])
    table = out.read_text()
    assert table in capsys.readouterr().out
    assert '| snow | n/a (absent) | n/a |' in table
    scores = json.load(open(f'{out}.json'))['scores']
    mean = sum(scores[c] for c in ('background', 'shadow', 'cloud')) / 3
    assert f'| mean of the 3 present classes | {mean:.3f} |' in table


def test_demo_stripe_is_in_the_label_file(real_root: str) -> None:
    # the straight vertical stripe in the first column of the real-data demo (seed 0)
    # is a 1-pixel snow stroke of the label file, magnified about 2.4 times by the
    # EPSG:3857 grid at 65 N; the dataset invents no snow around it
    import rasterio
    from PIL import Image
    from rasterio.transform import from_origin
    from rasterio.warp import Resampling, reproject, transform

    from torchgeo_csia.datasets import SPARCS

    scene = 'LC82170152014249LGN00_38'
    labels = np.asarray(Image.open(os.path.join(real_root, f'{scene}_mask.png')))
    assert (labels[233:239, 91] == 3).all()  # snow/ice, one pixel wide
    assert (labels[233:239, [89, 93]] == 4).all()  # in land
    with rasterio.open(os.path.join(real_root, f'{scene}_qmask.tif')) as src:
        crs, grid = src.crs, src.transform
    (x,), (y,) = transform(crs, 'EPSG:3857', *[[v] for v in grid * (91.5, 236.5)])
    x0, y1 = (x // 30 - 32) * 30, (y // 30 + 32) * 30
    sample = SPARCS(real_root, image='photo', classes='csia')[
        x0 : x0 + 64 * 30 : 30, y1 - 64 * 30 : y1 : 30
    ]
    direct = np.full((64, 64), 255, np.uint8)
    reproject(
        labels,
        direct,
        src_transform=grid,
        src_crs=crs,
        dst_transform=from_origin(x0, y1, 30, 30),
        dst_crs='EPSG:3857',
        resampling=Resampling.nearest,
    )
    snow = sample['mask'].numpy() == 2
    near = np.zeros_like(snow)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near |= np.roll(np.roll(direct == 3, dy, 0), dx, 1)
    assert 40 < snow.sum() < 90 and (snow <= near).all()
