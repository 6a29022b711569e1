import glob
import json
import os
from pathlib import Path

import pytest
import torch

from torchgeo_csia.cli import main
from torchgeo_csia.experiment import CLASSES

from .conftest import DATA


def test_demo(tmp_path: Path) -> None:
    out = tmp_path / 'demo.png'
    main(['demo', '--batch-size', '2', '--patch-size', '64', '--out', str(out)])
    assert out.stat().st_size > 1000


def test_bench_data_small(capsys) -> None:
    main(['bench-data', '--scenes', '2', '--size', '600', '--patches', '5'])
    table = capsys.readouterr().out
    assert '| native UTM | L8Biome (torchgeo) |' in table
    assert 'SPARCS usgs (_mask.png)' in table


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


def test_bench_cpu_small(capsys: pytest.CaptureFixture[str]) -> None:
    main(
        [
            'bench',
            '--batch-size',
            '2',
            '--bands',
            '3',
            '--size',
            '64',
            '--repeat',
            '1',
            '--encoder',
            'resnet18',
            '--device',
            'cpu',
        ]
    )
    out = capsys.readouterr().out
    assert 'authors: cloud + shadow' in out and 'overhead' in out
