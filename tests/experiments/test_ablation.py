"""The ablation rows, the script that runs them and the table that reads them."""

import itertools
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from torchgeo_csia.experiments import ablation
from torchgeo_csia.experiments.ablation import (
    Difference,
    ablation_table,
    collect,
    collect_scenes,
    mean_sd,
    paired_difference,
    parse_curve,
    parse_metrics_csv,
    parse_printed_table,
    parse_scenes_csv,
    pooled_iou,
    scene_bootstrap,
    t_quantile,
)

from ..conftest import DATA, HERE

ROOT = Path(HERE).parent
ROWS = ROOT / 'docs' / 'configs' / 'ablation'
SCRIPT = ROOT / 'docs' / 'reproduce' / 'gpu_ablation.sh'


# ---------------------------------------------------------------- statistics
def test_mean_sd_by_hand() -> None:
    # mean 0.6; deviations -0.1, 0, 0.1: sum of squares 0.02 / (3 - 1) = 0.01
    m, sd = mean_sd([0.5, 0.6, 0.7])
    assert m == pytest.approx(0.6) and sd == pytest.approx(0.1)
    m, sd = mean_sd([0.5, math.nan, 0.7])  # a class absent from the truth
    assert m == pytest.approx(0.6) and sd == pytest.approx(math.sqrt(0.02))
    assert mean_sd([0.4])[0] == 0.4 and math.isnan(mean_sd([0.4])[1])
    assert all(math.isnan(x) for x in mean_sd([]))


@pytest.mark.parametrize(
    'df, value',  # two-sided 95 % points of a printed t table
    [(1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (30, 2.042), (1e6, 1.960)],
)
def test_t_quantile_matches_the_table(df: float, value: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(value, abs=5e-4)
    assert t_quantile(0.025, df) == pytest.approx(-value, abs=5e-4)
    assert t_quantile(0.5, df) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize('q, df', [(0.0, 3), (1.0, 3), (0.9, 0)])
def test_t_quantile_bad_arguments(q: float, df: float) -> None:
    with pytest.raises(ValueError, match='0 < q < 1'):
        t_quantile(q, df)


def test_paired_difference_by_hand() -> None:
    variant = {0: 0.50, 1: 0.55, 2: 0.60, 3: 0.90}  # seed 3 has no partner
    reference = {0: 0.48, 1: 0.50, 2: 0.59, 4: 0.10}
    d = paired_difference(variant, reference)
    # differences 0.02, 0.05, 0.01: mean 0.026667, sd 0.020817, se 0.012019,
    # t(0.975, 2) = 4.3027: half-width 0.051711
    assert d.n == 3
    assert d.mean == pytest.approx(0.026667, abs=1e-6)
    assert d.low == pytest.approx(0.026667 - 0.051711, abs=1e-5)
    assert d.high == pytest.approx(0.026667 + 0.051711, abs=1e-5)


def test_pairing_removes_the_shared_seed_spread() -> None:
    # seeds move both rows alike: the spread is large, the paired difference exact
    reference = {0: 0.40, 1: 0.50, 2: 0.60}
    variant = {s: v + 0.03 for s, v in reference.items()}
    d = paired_difference(variant, reference)
    assert (d.mean, d.low, d.high) == pytest.approx((0.03, 0.03, 0.03))
    one = paired_difference({0: 0.5}, {0: 0.4})
    assert one.n == 1 and one.mean == pytest.approx(0.1) and math.isnan(one.low)
    none = paired_difference({0: math.nan}, {0: 0.4})
    assert none.n == 0 and math.isnan(none.mean)


def test_ablation_table_pairs_rows_with_the_reference() -> None:
    shadow = 'ClasswiseJaccardIndex_shadow'
    runs = {
        ('base', 0, 'val'): {shadow: 0.40},
        ('base', 1, 'val'): {shadow: 0.44},
        ('csia_all', 0, 'val'): {shadow: 0.43},
        ('csia_all', 1, 'val'): {shadow: 0.45},
        ('base', 0, 'test'): {shadow: 0.30},
    }
    table = ablation_table(runs, 'val', columns={'shadow': shadow})
    assert list(table) == ['base', 'csia_all']
    base, csia = table['base']['shadow'], table['csia_all']['shadow']
    assert base.diff is None and base.n == 2
    assert (base.mean, base.sd) == pytest.approx((0.42, math.sqrt(0.0008)))
    assert isinstance(csia.diff, Difference) and csia.diff.n == 2
    # differences 0.03 and 0.01: mean 0.02, sd 0.014142, t(0.975, 1) = 12.706
    half = 12.7062 * math.sqrt(0.0002) / math.sqrt(2)
    assert csia.diff.mean == pytest.approx(0.02)
    assert (csia.diff.low, csia.diff.high) == pytest.approx(
        (0.02 - half, 0.02 + half), abs=1e-4
    )
    assert list(ablation_table(runs, 'test', columns={'shadow': shadow})) == ['base']


def test_row_order_puts_the_reference_first() -> None:
    rows = ['plasma', 'zz_new', 'csia_all', 'base']
    assert ablation.row_order(rows) == ['base', 'csia_all', 'plasma', 'zz_new']
    assert ablation.row_order(rows, 'csia_all')[0] == 'csia_all'


# ---------------------------------------------------------------- reading runs
RICH = """\
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
┃        Test metric        ┃       DataLoader 0        ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
│       test_AverageJaccardIndex        │          0.7806605100631714          │
│ test_ClasswiseJaccardIndex_background │          0.8959944248199463          │
│   test_ClasswiseJaccardIndex_shadow   │          0.5448769927024841          │
│    test_ClasswiseJaccardIndex_snow    │                 nan                  │
└───────────────────────────────────────┴──────────────────────────────────────┘
"""
PLAIN = """\
Testing DataLoader 0: 100%|| 2/2
────────────────────────────────────────
       Test metric             DataLoader 0
────────────────────────────────────────
test_ClasswiseJaccardIndex_background         0.10553410649299622
  test_ClasswiseJaccardIndex_shadow           0.08158320188522339
              test_loss                       1.3941974639892578
────────────────────────────────────────
"""


def test_parse_printed_tables() -> None:
    rich = parse_printed_table(RICH)
    assert rich['AverageJaccardIndex'] == pytest.approx(0.7806605100631714)
    assert rich['ClasswiseJaccardIndex_shadow'] == pytest.approx(0.5448769927024841)
    assert math.isnan(rich['ClasswiseJaccardIndex_snow'])
    assert len(rich) == 4
    plain = parse_printed_table(PLAIN)
    assert plain == {
        'ClasswiseJaccardIndex_background': 0.10553410649299622,
        'ClasswiseJaccardIndex_shadow': 0.08158320188522339,
        'loss': 1.3941974639892578,
    }


def test_parse_metrics_csv_and_curve() -> None:
    test = 'epoch,step,test_AverageJaccardIndex,test_loss\n0,0,0.5,1.25\n'
    assert parse_metrics_csv(test) == {'AverageJaccardIndex': 0.5, 'loss': 1.25}
    fit = (
        'epoch,step,train_loss,val_ClasswiseJaccardIndex_shadow\n'
        '0,49,0.9,\n'
        '0,999,,0.31\n'
        '0,1999,,0.42\n'
    )
    assert parse_curve(fit) == {
        999: {'ClasswiseJaccardIndex_shadow': 0.31},
        1999: {'ClasswiseJaccardIndex_shadow': 0.42},
    }


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_collect_prefers_the_csv(tmp_path: Path) -> None:
    header = 'epoch,step,test_ClasswiseJaccardIndex_shadow\n'
    _write(tmp_path / 'metrics/base_s0/val/metrics.csv', header + '0,0,0.40\n')
    _write(tmp_path / 'test_base_s0_val.txt', RICH)  # the same run, printed
    _write(tmp_path / 'test_csia_snow_s3_test.txt', RICH)  # printed only
    _write(tmp_path / 'metrics/csia_snow_s3/fit/metrics.csv', header)  # not a test
    _write(tmp_path / 'test_broken_s1_val.txt', 'Traceback ...\n')  # no table
    runs = collect(tmp_path)
    assert sorted(runs) == [('base', 0, 'val'), ('csia_snow', 3, 'test')]
    assert runs['base', 0, 'val'] == {'ClasswiseJaccardIndex_shadow': 0.40}
    assert runs['csia_snow', 3, 'test']['AverageJaccardIndex'] == pytest.approx(0.78066)


def test_collect_pairs_runs_of_several_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = 'epoch,step,test_ClasswiseJaccardIndex_shadow\n'
    _write(tmp_path / 'a/metrics/base_s0/val/metrics.csv', header + '0,0,0.40\n')
    _write(tmp_path / 'b/metrics/deep_s0/val/metrics.csv', header + '0,0,0.45\n')
    runs = collect(tmp_path / 'a', tmp_path / 'b')
    assert sorted(runs) == [('base', 0, 'val'), ('deep', 0, 'val')]
    # the same run in two folders is not silently dropped
    _write(tmp_path / 'b/metrics/base_s0/val/metrics.csv', header + '0,0,0.41\n')
    with pytest.raises(ValueError, match='base_s0 \\(val\\) is in both'):
        collect(tmp_path / 'a', tmp_path / 'b')
    with pytest.raises(SystemExit):
        ablation.main([str(tmp_path / 'a'), str(tmp_path / 'b')])
    assert 'is in both' in capsys.readouterr().err
    with pytest.raises(ValueError, match='no folder'):
        collect(tmp_path / 'a', tmp_path / 'typo')


def test_main_prints_the_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = 'epoch,step,test_ClasswiseJaccardIndex_shadow\n'
    for row, seed, split, value in [
        ('base', 0, 'val', 0.40),
        ('base', 1, 'val', 0.44),
        ('transplant', 0, 'val', 0.43),
        ('transplant', 1, 'val', 0.45),
        ('base', 0, 'test', 0.30),
        ('transplant', 0, 'test', 0.33),
    ]:
        path = tmp_path / f'metrics/{row}_s{seed}/{split}/metrics.csv'
        _write(path, header + f'0,0,{value}\n')
    assert ablation.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.index('### val') < out.index('### test (reported once')
    assert '| base | 2 | n/a +- n/a | 0.420 +- 0.028 |' in out
    # differences 0.03, 0.01: +0.020 +- 12.706 * 0.014142 / sqrt(2) = 0.127
    assert '| - base | 2 pairs | n/a | +0.020 [-0.107, +0.147] | n/a |' in out
    assert '| - base | 1 pairs | n/a | +0.030 [n/a, n/a] | n/a |' in out
    _write(tmp_path / 'metrics/base_s0/fit/metrics.csv', 'step,val_loss\n9,0.5\n')
    # a fit resumed in a second call: one version folder per call, one curve
    for version, step in ((0, 9), (1, 19)):
        path = tmp_path / f'metrics/csia_all_s0/fit/version_{version}/metrics.csv'
        _write(path, f'step,val_loss\n{step},0.5\n')
    assert ablation.main([str(tmp_path), '--curve']) == 0
    out = capsys.readouterr().out
    assert '| base_s0 | 9 |' in out
    assert '| csia_all_s0 | 9 |' in out and '| csia_all_s0 | 19 |' in out
    (tmp_path / 'empty').mkdir()
    assert ablation.main([str(tmp_path / 'empty')]) == 1  # no run
    with pytest.raises(SystemExit):  # no folder
        ablation.main([str(tmp_path / 'missing')])


def test_main_prints_precision_and_recall(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = (
        'epoch,step,test_ClasswiseJaccardIndex_shadow,test_ClasswisePrecision_shadow,'
        'test_ClasswiseRecall_shadow,test_AveragePrecision\n'
    )
    for row, seed, iou, precision, recall in [
        ('base', 0, 0.40, 0.80, 0.60),
        ('base', 1, 0.44, 0.82, 0.62),
        ('transplant', 0, 0.43, 0.70, 0.70),
        ('transplant', 1, 0.45, 0.74, 0.66),
    ]:
        path = tmp_path / f'metrics/{row}_s{seed}/val/metrics.csv'
        _write(path, header + f'0,0,{iou},{precision},{recall},0.5\n')
    assert ablation.main([str(tmp_path), '--metric', 'precision']) == 0
    out = capsys.readouterr().out
    assert out.startswith('### val\n\nprecision mean +- sd over seeds')
    assert '| row | n | background | shadow | snow | cloud |\n' in out  # no mean
    assert '| transplant | 2 | n/a +- n/a | 0.720 +- 0.028 | n/a +- n/a |' in out
    assert '| - base | 2 pairs | n/a | -0.090 [' in out
    assert ablation.main([str(tmp_path), '--metric', 'recall']) == 0
    assert '| - base | 2 pairs | n/a | +0.070 [' in capsys.readouterr().out
    assert ablation.main([str(tmp_path)]) == 0  # IoU by default
    out = capsys.readouterr().out
    assert 'IoU mean' in out and '| mIoU |' in out and '| +0.020 [' in out
    # a class absent from the truth (IoU NaN) has no precision, whatever was logged
    path = tmp_path / 'metrics/base_s0/val/metrics.csv'
    _write(path, header.replace('\n', ',test_ClasswisePrecision_snow\n'))
    with path.open('a') as f:
        f.write('0,0,0.40,0.80,0.60,0.5,0.0\n')
    runs = ablation.present_only(collect(tmp_path), 'precision')
    assert math.isnan(runs['base', 0, 'val']['ClasswisePrecision_snow'])
    assert runs['base', 0, 'val']['ClasswisePrecision_shadow'] == 0.80
    with pytest.raises(SystemExit):
        ablation.main([str(tmp_path), '--curve', '--metric', 'recall'])


# ---------------------------------------------------------------- scenes
def _scene(tp: tuple[int, ...], miss: int = 0) -> np.ndarray:
    """A confusion with *tp* right per class and *miss* of each class taken as 0."""
    c = np.diag(np.array(tp, dtype=np.int64))
    c[1:, 0] += miss
    return c


def test_pooled_iou_by_hand() -> None:
    # class 0: tp 10, truth 10, predicted 10 + 2 = 12: 10 / 12; class 1: tp 4 of
    # truth 6 (2 taken as 0), predicted 4: 4 / 6; class 2 absent: NaN, left out
    c = np.zeros((3, 3), dtype=np.int64)
    c[0, 0], c[1, 1], c[1, 0] = 10, 4, 2
    iou = pooled_iou(c)
    assert iou[:2] == pytest.approx([10 / 12, 4 / 6]) and math.isnan(iou[2])
    assert iou[3] == pytest.approx((10 / 12 + 4 / 6) / 2)


def test_parse_scenes_csv() -> None:
    text = 'scene,truth,a,b\ns1,a,5,1\ns1,b,0,3\ns2,a,2,0\ns2,b,1,1\n'
    scenes = parse_scenes_csv(text, classes=('a', 'b'))
    assert scenes['s1'].tolist() == [[5, 1], [0, 3]]
    assert scenes['s2'].tolist() == [[2, 0], [1, 1]]
    with pytest.raises(ValueError, match="no column 'c'"):
        parse_scenes_csv(text, classes=('a', 'b', 'c'))
    with pytest.raises(ValueError, match='scene s2 lacks a truth row'):
        parse_scenes_csv(text.rsplit('s2,b', 1)[0], classes=('a', 'b'))


def test_scene_bootstrap_estimate_is_the_pooled_paired_difference() -> None:
    rng = np.random.default_rng(0)
    confs = {
        row: {
            s: {f'x{n}': rng.integers(0, 50, (4, 4)) for n in range(6)}
            for s in range(3)
        }
        for row in ('a', 'b')
    }
    diffs = scene_bootstrap(confs['a'], confs['b'], draws=200)
    per_seed = {
        row: {s: pooled_iou(sum(m.values())) for s, m in confs[row].items()}
        for row in confs
    }
    for k, d in enumerate(diffs):
        seeds = paired_difference(
            {s: v[k] for s, v in per_seed['a'].items()},
            {s: v[k] for s, v in per_seed['b'].items()},
        )
        assert d.mean == pytest.approx(seeds.mean) and d.n == 3
        assert d.low <= d.mean <= d.high
    same = scene_bootstrap(confs['a'], confs['a'], draws=50)
    assert all((d.mean, d.low, d.high) == (0, 0, 0) for d in same)
    assert all(d.n == 0 for d in scene_bootstrap(confs['a'], {}, draws=5))


def test_one_scene_deciding_widens_the_interval_to_zero() -> None:
    # the variant beats the reference on one scene of ten, in every seed alike:
    # over seeds the difference is certain, over scenes it is not
    base = {
        s: {f'x{n}': _scene((90, 10, 5, 20), miss=5) for n in range(10)}
        for s in range(3)
    }
    variant = {s: dict(m) for s, m in base.items()}
    for s in variant:
        variant[s]['x0'] = _scene((90, 10, 5, 20), miss=0)
    seeds = paired_difference(
        {s: pooled_iou(sum(m.values()))[1] for s, m in variant.items()},
        {s: pooled_iou(sum(m.values()))[1] for s, m in base.items()},
    )
    assert seeds.mean > 0 and seeds.low == pytest.approx(seeds.high)
    shadow = scene_bootstrap(variant, base, draws=2000)[1]
    assert shadow.mean == pytest.approx(seeds.mean)
    # about (9/10)^10 = 35 % of the draws leave the scene out: no difference there
    assert shadow.low == pytest.approx(0, abs=1e-12) and shadow.high > shadow.mean


def test_the_interval_spans_seeds_that_disagree() -> None:
    # every scene alike within a seed, the variant better in seed 0 and worse in
    # seed 1: drawing scenes changes nothing, drawing seeds does
    base = {
        s: {f'x{n}': _scene((90, 10, 5, 20), miss=3) for n in range(4)} for s in (0, 1)
    }
    variant = {
        0: {f'x{n}': _scene((90, 10, 5, 20), miss=0) for n in range(4)},
        1: {f'x{n}': _scene((90, 10, 5, 20), miss=6) for n in range(4)},
    }
    shadow = scene_bootstrap(variant, base, draws=400)[1]
    assert shadow.low < 0 < shadow.high
    assert shadow.low < shadow.mean < shadow.high


def test_main_prints_the_scene_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = 'scene,truth,' + ','.join(ablation.CLASSES) + '\n'
    for row, seed, miss in [
        ('base', 0, 5),
        ('base', 1, 4),
        ('csia_all', 0, 2),
        ('csia_all', 1, 1),
    ]:
        lines = [
            f'x{n},{c},' + ','.join(map(str, r))
            for n in range(3)
            for c, r in zip(
                ablation.CLASSES, _scene((90, 10, 5, 20), miss).tolist(), strict=True
            )
        ]
        _write(
            tmp_path / f'metrics/{row}_s{seed}/val/scenes.csv',
            header + '\n'.join(lines) + '\n',
        )
    assert ablation.main([str(tmp_path), '--scenes', '--draws', '100']) == 0
    out = capsys.readouterr().out
    assert '### val, over scenes and seeds' in out and '### test' not in out
    (line,) = [x for x in out.splitlines() if x.startswith('| csia_all |')]
    assert line.startswith('| csia_all | 2 | 3 | ')
    assert collect_scenes(tmp_path)['csia_all', 1, 'val']['x2'][1, 0] == 1
    # with test scenes too, a third table pools each run's val and test scenes
    for row, seed in [('base', 0), ('base', 1), ('csia_all', 0)]:
        _write(
            tmp_path / f'metrics/{row}_s{seed}/test/scenes.csv',
            header + '\n'.join(lines).replace('x', 't') + '\n',
        )
    assert ablation.main([str(tmp_path), '--scenes', '--draws', '100']) == 0
    out = capsys.readouterr().out
    assert '### test, over scenes and seeds' in out
    pooled = out.split('### val + test, over scenes and seeds')[1]
    (line,) = [x for x in pooled.splitlines() if x.startswith('| csia_all |')]
    assert line.startswith('| csia_all | 1 | 6 | ')  # seed 1 lacks test
    scenes = collect_scenes(tmp_path)
    scenes['base', 0, 'test'] = scenes['base', 0, 'val']
    with pytest.raises(ValueError, match=r'base_s0: val and test share'):
        ablation.split_scenes(scenes, ablation.POOLED)
    (tmp_path / 'empty').mkdir()
    assert ablation.main([str(tmp_path / 'empty'), '--scenes']) == 1


# ---------------------------------------------------------------- the rows
def _rows() -> list[Path]:
    return sorted(p for p in ROWS.glob('*.yaml') if p.stem != 'curve')


def test_rows_are_the_issues() -> None:
    names = {p.stem for p in _rows()}
    assert names == set(ablation.ROWS)
    # the script's default ROWS, and the table's order, are every row
    default = re.search(r'^ROWS=\$\{ROWS:-([^}]*)\}', SCRIPT.read_text(), re.M)
    assert default and default.group(1).split() == ablation.row_order(names)


@pytest.mark.parametrize('path', _rows(), ids=lambda p: p.stem)
def test_each_row_overrides_only_the_augmentations(path: Path) -> None:
    text = path.read_text()
    config = yaml.safe_load(text)
    # the model only where the row adjusts the training logits
    model = config.pop('model', {'init_args': {'logit_adjustment': None}})
    assert list(model) == ['init_args']
    assert list(model['init_args']) == ['logit_adjustment']
    assert list(config) == ['data'] and list(config['data']) == ['init_args']
    assert list(config['data']['init_args']) == ['csia']
    # it says what it tests, then how to run it (the GPU and the laptop line)
    assert text.startswith(f'# Ablation row {path.stem}: ')
    line = (
        'torchgeo fit --config docs/configs/sparcs_base.yaml '
        f'--config docs/configs/ablation/{path.stem}.yaml'
    )
    assert f'#   {line}\n' in text
    assert f'#   {line} --trainer.accelerator cpu --trainer.precision 32' in text


def _modes(name: str) -> list[tuple[str, dict[str, object]]]:
    config = yaml.safe_load((ROWS / f'{name}.yaml').read_text())
    return [
        (m['class_path'].rsplit('.', 1)[1], m['init_args'])
        for m in config['data']['init_args']['csia']
    ]


def test_rows_hold_what_they_say() -> None:
    # the shipped recipe's CSIA part is the row chosen on val (csia_all_deep), and
    # the shipped recipe is the BASE one plus that row, nothing else
    shipped = yaml.safe_load((ROOT / 'docs/configs/sparcs_csia.yaml').read_text())
    assert yaml.safe_load((ROWS / 'csia_all_deep.yaml').read_text())['data'][
        'init_args'
    ] == {'csia': shipped['data']['init_args']['csia']}
    base = yaml.safe_load((ROOT / 'docs/configs/sparcs_base.yaml').read_text())
    base['data']['init_args']['csia'] = shipped['data']['init_args']['csia']
    assert base == shipped
    all_modes = _modes('csia_all')
    assert _modes('base') == []
    # csia_all's painting, labels only where it shows
    seen = [(m, {**a, 'min_change': 0.1}) for m, a in all_modes]
    assert _modes('csia_all_seen') == seen
    # csia_all's painting, its shadows as dark as real ones
    shadows = ('RandomCloudShadow', 'RandomShadowForClouds')
    deep = [
        (m, {**a, 'shadow_depth': 1.9} if m in shadows else a) for m, a in all_modes
    ]
    assert _modes('csia_all_deep') == deep
    # csia_all_deep's painting, the training logits adjusted for its prior shift
    adjusted = yaml.safe_load((ROWS / 'csia_all_deep_adjusted.yaml').read_text())
    assert _modes('csia_all_deep_adjusted') == deep
    assert len(adjusted['model']['init_args']['logit_adjustment']) == 4
    # csia_all_deep's painting, its clouds thicker per band and lumpy
    clouds = {'cloud_density': [1.0, 1.5, 1.5], 'cloud_texture': 1.0}
    assert _modes('csia_all_deep_clouds') == [
        (m, {**a, **clouds} if m == 'RandomCloudShadow' else a) for m, a in deep
    ]
    # csia_all_deep_clouds's painting, each band of its shadows darkened by its own
    # power
    banded = {'shadow_depth': [2.15, 2.33, 1.26]}
    assert _modes('csia_all_clouds_banded') == [
        (m, {**a, **banded} if m in shadows else a)
        for m, a in _modes('csia_all_deep_clouds')
    ]
    # the single modes: csia_all_clouds_banded's, one at a time
    for name, mode in [
        ('csia_cloud_shadow', 0),
        ('csia_shadow_for_clouds', 1),
        ('csia_snow', 2),
    ]:
        assert _modes(name) == [_modes('csia_all_clouds_banded')[mode]]
    reach = _modes('csia_authors_reach')
    assert [m for m, _ in reach] == [m for m, _ in all_modes]
    assert [a.get('min_free') for _, a in reach] == [1.0, None, 1.0]
    assert reach[1][1]['max_cloud'] == 0.5
    assert [(m, a['structure'], a['min_free']) for m, a in _modes('transplant')] == [
        ('RandomTransplant', 'cloud_shadow', 0.25),
        ('RandomTransplant', 'snow', 0.25),
    ]
    assert [a['cls'] for _, a in _modes('copy_paste')] == ['shadow', 'snow', 'cloud']
    assert _modes('photometric')[0][0] == 'ColorJiggle'
    assert _modes('plasma')[0][0] == 'RandomPlasmaShadow'
    for name in ('photometric', 'plasma', 'transplant', 'copy_paste'):
        assert all(a['p'] == 0.5 for _, a in _modes(name))


def test_curve_validates_along_one_epoch() -> None:
    curve = yaml.safe_load((ROWS / 'curve.yaml').read_text())
    steps, every = curve['trainer']['max_steps'], curve['trainer']['val_check_interval']
    assert steps // every >= 10 and steps % every == 0
    assert curve['data']['init_args']['length'] == steps * 32  # one epoch


# ---------------------------------------------------------------- the script
@pytest.mark.slow
def test_script_runs_rows_and_the_table_reads_them(tmp_path: Path) -> None:
    # the GPU script itself, shrunk to 20 CPU steps per run on the generated scenes
    env = {
        **os.environ,
        'PATH': f'{os.path.dirname(sys.executable)}{os.pathsep}{os.environ["PATH"]}',
        'OUT': str(tmp_path / 'out'),
        'RUNS': str(tmp_path / 'runs'),
        'DATA': os.path.join(DATA, 'usgs'),
        'ROWS': 'base transplant',
        'SEEDS': '0',
        'STEPS': '20',
        'BATCH': '2',
        'JOBS': '2',
        'VAL_EVERY': '10',  # validate (and log) on the val crops every 10 steps
        'PYTHONPATH': str(ROOT),
    }
    tiny = [
        '--trainer.accelerator',
        'cpu',
        '--trainer.precision',
        '32',
        '--data.init_args.num_workers',
        '0',
        '--data.init_args.patch_size',
        '64',
        '--model.init_args.tile_size',
        '64',
        '--model.init_args.tile_overlap',
        '0',
        '--model.init_args.pct_start',  # a warm-up of more than one step
        '0.25',
    ]

    def script(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ['bash', str(SCRIPT), *tiny],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=900,
        )

    out = tmp_path / 'out'
    # a first call out of time after 1 s: both runs stop short, untested (one
    # step takes more than 0.05 s on a CPU)
    done = script(MAX_TIME='00:00:00:01')
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    times = (out / 'times.txt').read_text()
    assert times.count('stopped short of step 20; not tested') == 2, times
    assert not collect(out)
    # the next call resumes each from its checkpoint and tests it
    done = script()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert 'failed' not in (out / 'times.txt').read_text()
    log = (out / 'fit_base_s0.log').read_text()
    assert 'Restoring states from the checkpoint' in log
    runs = collect(out)
    assert sorted(runs) == [
        (row, 0, split) for row in ('base', 'transplant') for split in ('test', 'val')
    ]
    for metrics in runs.values():
        assert 0 <= metrics['AverageJaccardIndex'] <= 1
    # each scene's confusion beside the metrics: pooled, the logged IoU
    scenes = collect_scenes(out)
    assert sorted(scenes) == sorted(runs)
    for key, by_scene in scenes.items():
        pooled = pooled_iou(sum(by_scene.values()))
        assert pooled[-1] == pytest.approx(runs[key]['AverageJaccardIndex'], abs=1e-6)
    # the printed tables say the same
    printed = parse_printed_table((out / 'test_base_s0_val.txt').read_text())
    assert printed['AverageJaccardIndex'] == pytest.approx(
        runs['base', 0, 'val']['AverageJaccardIndex']
    )
    # the fit's validation (at the stop and every 10 steps), one version folder
    # per call: a learning curve in two parts
    steps = []
    for version in (0, 1):
        fit = (out / f'metrics/base_s0/fit/version_{version}/metrics.csv').read_text()
        curve = parse_curve(fit)
        assert 'ClasswiseJaccardIndex_shadow' in next(iter(curve.values()))
        steps.append(sorted(curve))
    # logged steps count from 0; resumed, Lightning 2.6 validates one step early
    # (its batch index runs one ahead; the training is the same, as
    # tests/datamodules/test_sparcs.py checks)
    assert max(steps[0]) < 8 and steps[1][-1] in (18, 19)
    curves = ablation.curves(out)
    assert f'| base_s0 | {steps[1][-1]} |' in curves and '| transplant_s0 |' in curves


# ---------------------------------------------------------------- the records
@pytest.mark.parametrize(
    'record', sorted((ROOT / 'docs' / 'results').glob('ablation-*.md')), ids=str
)
def test_recorded_ablation_tables_match_their_metrics(record: Path) -> None:
    """Each ablation record quotes the table its command prints from the metrics."""
    text = record.read_text()
    # the record's own command: the folders it pairs (its own among them)
    command = re.search(
        r'^python -m torchgeo_csia\.experiments\.ablation (.+)$', text, re.M
    )
    assert command, f'{record}: no ablation command'
    dirs = list(
        itertools.takewhile(lambda a: not a.startswith('--'), command[1].split())
    )
    assert str(record.with_suffix('').relative_to(ROOT)) in dirs
    runs = collect(*(ROOT / d for d in dirs))
    assert runs, f'no metrics beside {record}'
    for split in ablation.SPLITS:
        table = ablation.format_table(ablation_table(runs, split), split)
        # the rows (the title lines differ: test's says it is reported once)
        body = [line for line in table.splitlines() if line.startswith('| ')]
        assert all(line in text for line in body), f'{record}: {split} rows differ'
