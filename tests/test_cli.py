import argparse
import importlib.util
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


@pytest.mark.parametrize('args', [['--help'], ['demo', '--help'], ['realism', '-h']])
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


def test_bench_data_small(capsys) -> None:
    main(['bench-data', '--scenes', '2', '--size', '600', '--patches', '5'])
    table = capsys.readouterr().out
    assert '| native UTM | L8Biome (torchgeo) |' in table
    assert 'SPARCS usgs (_mask.png)' in table


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
    import torchgeo_csia.experiments.bench as bench

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


def test_the_second_training_system_is_gone() -> None:
    # training is torchgeo fit with docs/configs/*.yaml; scoring is torchgeo test
    commands = set(_subparsers())
    assert commands == {
        'demo',
        'bench-data',
        'bench',
        'build-bank',
        'evaluate-inpainters',
        'realism',
        'reach',
        'export',
    }
    for gone in ('pack', 'inpainting', 'experiment', 'bench', 'bench_data'):
        assert importlib.util.find_spec(f'torchgeo_csia.{gone}') is None, gone


@pytest.mark.parametrize(
    'args, message',
    [
        (
            ['realism', '--weights', 'NOPE'],
            "--weights 'NOPE' is neither a file nor one of",
        ),
        (
            ['realism', '--weights', 'CSIAInpainter_Weights.CLOUD_SPARCS_PHOTO'],
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
    usgs_root: str, args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit, match=message):
        main([args[0], '--root', usgs_root, *args[1:]])


def test_measures_run_on_the_scenes(
    usgs_root: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # each measure reads the SPARCS folder itself (no pack); tiny sizes
    main(['reach', '--root', usgs_root, '--count', '4', '--size', '32'])
    main(['reach', '--root', usgs_root, '--p', '1', '--min-free', '0'])
    assert '| 1 | 0 | RandomCloudShadow |' in capsys.readouterr().out
    out = tmp_path / 'r.json'
    main(
        [
            'realism',
            '--root',
            usgs_root,
            '--weights',
            'BASE_SPARCS_PHOTO',
            '--splits',
            'val',
            'test',
            '--count',
            '2',
            '--size',
            '32',
            '--min-free',
            '0.2',
            '--out',
            str(out),
        ]
    )
    assert 0 <= json.loads(out.read_text())['cloud'] <= 1
    assert '| cloud |' in capsys.readouterr().out
    main(
        [
            'evaluate-inpainters',
            '--root',
            usgs_root,
            '--class',
            'shadow',
            '--weights',
            'SHADOW_SPARCS_PHOTO',
            '--count',
            '2',
            '--size',
            '32',
            '--json',
            str(tmp_path / 'e.jsonl'),
        ]
    )
    table = capsys.readouterr().out
    assert (
        '| shadow | diffusion |' in table
        and '| shadow | SHADOW_SPARCS_PHOTO |' in table
    )


def test_export_writes_shipped_style_weights(tmp_path: Path) -> None:
    from torchgeo_csia.models.weights import verified_path

    state = {'state_dict': {'model.w': torch.ones(2), 'critic.w': torch.zeros(1)}}
    torch.save(state, tmp_path / 'last.ckpt')
    main(['export', str(tmp_path / 'last.ckpt'), str(tmp_path / 'out' / 'net')])
    (path,) = (tmp_path / 'out').glob('net-*.pth')
    assert verified_path(path) == path  # the hash in the name is the file's
    saved = torch.load(path, weights_only=True)
    assert list(saved) == ['w'] and saved['w'].dtype == torch.float16


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


def test_realism_takes_a_shadow_depth_per_band(
    usgs_root: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the depths reach the measure: one number as a number, one per band as a list
    from torchgeo_csia.experiments import realism

    seen: list[object] = []

    def fake(
        *args: object, **kwargs: object
    ) -> tuple[dict[str, float], dict[str, object]]:
        seen.append(kwargs['shadow_depth'])
        return {}, {}

    monkeypatch.setattr(realism, 'realism', fake)
    monkeypatch.setattr(realism, 'realism_table', lambda result: '')
    common = ['realism', '--root', usgs_root, '--weights', 'BASE_SPARCS_PHOTO']
    common += ['--out', str(tmp_path / 'r.json')]
    main([*common, '--shadow-depth', '1.9'])
    main([*common, '--shadow-depth', '2.15', '2.33', '1.26'])
    assert seen == [1.9, [2.15, 2.33, 1.26]]
