"""The paired many-seed ablation table (issue 17, item 3).

``docs/reproduce/gpu_ablation.sh`` trains every row of the ablation
(``docs/configs/ablation/ROW.yaml`` on top of ``docs/configs/sparcs_base.yaml``) with
the same seeds, so within a seed every row starts from the same initialisation and
sees the same crops, and scores each run with ``torchgeo test`` on the val scenes and,
apart, on the test scenes. This module reads what it wrote and prints the table:

1. per row, split and class, the mean and sample standard deviation of the IoU over
   seeds;
2. per row and class, the paired difference to the reference row (``base``) over the
   seeds both have, with a 95 % Student t-interval (the seeds are the pairs, so the
   seed-to-seed spread that both rows share drops out);
3. val first (rows are chosen there), then test, reported once beside it.

The statistics are pure functions of lists of numbers (:func:`mean_sd`,
:func:`paired_difference`, :func:`t_quantile`); reading files is at the edge
(:func:`collect`). Runs are found under a folder by name:

* ``metrics/ROW_sSEED/SPLIT/metrics.csv``: Lightning's CSVLogger (as the script
  writes them), preferred;
* ``test_ROW_sSEED_SPLIT.txt``: the table ``torchgeo test`` prints, otherwise.

``python -m torchgeo_csia.experiments.ablation DIR [DIR ...]`` prints the Markdown
tables of the runs in those folders, paired across them (``--metric precision`` or
``recall``: the same tables of that score, per class only, a class left out of a run
where it is absent from the truth, as IoU leaves it); ``--curve`` prints the
validation IoU by step of each run's ``metrics/ROW_sSEED/fit/metrics.csv`` (a learning
curve; a fit resumed over calls has one ``fit/version_N/metrics.csv`` per call) instead.

The t-interval above counts the seeds only: it says how sure the difference is on
*these* scenes, not on scenes like them. ``--scenes`` prints, from the per-scene
confusions that :class:`~torchgeo_csia.tasks.CSIASegmentation`'s test writes beside
the metrics (``metrics/ROW_sSEED/SPLIT/scenes.csv``), the same paired differences
with a bootstrap interval over scenes and seeds
(:func:`scene_bootstrap`): each draw takes the split's scenes and the pairs' seeds
with replacement, pools each seed's confusions over the drawn scenes as ``torchgeo
test`` does, and averages the difference of the pooled IoU over the drawn seeds.
A third table pools each run's val and test scenes (:func:`split_scenes`), where the
shadow target (CSIA >= BASE + 0.03) is stated; test is reported there, never used
to choose.

.. versionadded:: 0.1
"""

from __future__ import annotations

import argparse
import csv
import math
import re
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..constants import CLASSES

#: the scores the table can show: (name in the legend, the per-class metric's
#: prefix); ``torchgeo test`` logs each (the task's torchmetrics)
METRICS: dict[str, tuple[str, str]] = {
    'iou': ('IoU', 'ClasswiseJaccardIndex'),
    'precision': ('precision', 'ClasswisePrecision'),
    'recall': ('recall', 'ClasswiseRecall'),
}


def metric_columns(metric: str = 'iou') -> dict[str, str]:
    """The metric of each column of a table of *metric*.

    Args:
        metric: a key of :data:`METRICS`.

    Returns:
        column name -> metric name: per class; for IoU also their mean over the
        classes present (torchmetrics' macro precision and recall count an absent
        class as 0 in some runs and not in others, so they get no mean column).
    """
    per_class = {c: f'{METRICS[metric][1]}_{c}' for c in CLASSES}
    return (
        {**per_class, 'mIoU': 'AverageJaccardIndex'} if metric == 'iou' else per_class
    )


def present_only(
    runs: Mapping[Key, Mapping[str, float]], metric: str
) -> dict[Key, dict[str, float]]:
    """*runs* with *metric*'s per-class values NaN where the class's IoU is.

    A class absent from a split's truth has no IoU, but torchmetrics gives it a
    precision and recall of 0: those are left out, as IoU leaves them.
    """
    prefix = METRICS[metric][1]
    out = {}
    for key, m in runs.items():
        m = dict(m)
        for c in CLASSES:
            if not math.isfinite(m.get(f'ClasswiseJaccardIndex_{c}', math.nan)):
                m[f'{prefix}_{c}'] = math.nan
        out[key] = m
    return out


#: the metric of each column: per-class IoU and their mean over present classes
COLUMNS: dict[str, str] = metric_columns('iou')
#: the splits scored, in the order shown (rows are chosen on val)
SPLITS = ('val', 'test')
# val and test scenes pooled, where the shadow target (CSIA >= BASE + 0.03) is
# stated; test is reported there, never used to choose
POOLED = 'val + test'
#: a run: (row, seed, split)
Key = tuple[str, int, str]

_RUN = r'(?P<row>\w+?)_s(?P<seed>\d+)/(?P<split>val|test)/'
_CSV = re.compile(_RUN + r'metrics\.csv$')
_SCENES = re.compile(_RUN + r'scenes\.csv$')
_TXT = re.compile(r'test_(?P<row>\w+?)_s(?P<seed>\d+)_(?P<split>val|test)\.txt$')
# a row of the printed table: rich's (with bars) or plain text
_CELL = re.compile(r'^[\s│|]*(?P<name>test_\w+)[\s│|]+(?P<value>[-+.\w]+)[\s│|]*$')


# ---------------------------------------------------------------- statistics

#: the ablation's rows (issue 17), in table order: each an override file
#: ``docs/configs/ablation/ROW.yaml`` of the BASE recipe, as ``gpu_ablation.sh`` runs
#: them
ROWS: tuple[str, ...] = (
    'base',
    'photometric',
    'transplant',
    'copy_paste',
    'csia_cloud_shadow',
    'csia_shadow_for_clouds',
    'csia_snow',
    'csia_all',
    'csia_all_seen',
    'csia_all_deep',
    'csia_all_deep_adjusted',
    'csia_all_deep_clouds',
    'csia_all_clouds_banded',
    'plasma',
    'csia_authors_reach',
)


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``n - 1``) of the finite values.

    Args:
        values: the numbers (NaN, e.g. a class absent from the truth, is left out).

    Returns:
        ``(mean, sd)``; NaN where there are too few values (none; fewer than 2).
    """
    xs = [float(v) for v in values if math.isfinite(v)]
    if not xs:
        return math.nan, math.nan
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, math.nan
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (Lentz's method)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function ``I_x(a, b)``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b)
        - math.lgamma(a)
        - math.lgamma(b)
        + a * math.log(x)
        + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """The cumulative distribution function of Student's t with *df* degrees."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(q: float, df: float) -> float:
    """The *q* quantile of Student's t with *df* degrees of freedom.

    By bisection on :func:`t_cdf` (to 1e-10), so no SciPy is needed.

    Args:
        q: the probability, in (0, 1).
        df: degrees of freedom, > 0.

    Raises:
        ValueError: If *q* or *df* is out of its range.
    """
    if not 0.0 < q < 1.0 or not df > 0:
        raise ValueError(f'need 0 < q < 1 and df > 0, got q={q}, df={df}')
    if q < 0.5:
        return -t_quantile(1.0 - q, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < q:
        high *= 2.0
    while high - low > 1e-10 * max(1.0, high):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if t_cdf(mid, df) < q else (low, mid)
    return 0.5 * (low + high)


@dataclass(frozen=True)
class Difference:
    """A paired difference: its mean and the ends of its confidence interval.

    Attributes:
        mean: mean of the per-seed differences.
        low: lower end of the interval (NaN with fewer than 2 pairs).
        high: upper end.
        n: number of pairs.
    """

    mean: float
    low: float
    high: float
    n: int


def paired_difference(
    variant: Mapping[int, float], reference: Mapping[int, float], level: float = 0.95
) -> Difference:
    """Mean paired difference ``variant - reference`` with a t-interval.

    Only seeds where both values are finite are paired: with differences ``d_i``,
    ``mean(d) +- t_{(1 + level) / 2, n - 1} * sd(d) / sqrt(n)``.

    Args:
        variant: value by seed.
        reference: value by seed (the same seed: the same initialisation and crops).
        level: coverage of the interval.

    Returns:
        The :class:`Difference` (all NaN without a pair).
    """
    seeds = sorted(
        s
        for s in set(variant) & set(reference)
        if math.isfinite(variant[s]) and math.isfinite(reference[s])
    )
    diffs = [variant[s] - reference[s] for s in seeds]
    m, sd = mean_sd(diffs)
    if len(diffs) < 2:
        return Difference(m, math.nan, math.nan, len(diffs))
    half = t_quantile(0.5 + level / 2.0, len(diffs) - 1) * sd / math.sqrt(len(diffs))
    return Difference(m, m - half, m + half, len(diffs))


@dataclass(frozen=True)
class Cell:
    """One row's numbers for one class and split.

    Attributes:
        mean: mean over seeds.
        sd: sample standard deviation over seeds.
        n: seeds with a value.
        diff: the paired difference to the reference row (``None`` for itself).
    """

    mean: float
    sd: float
    n: int
    diff: Difference | None


def ablation_table(
    runs: Mapping[Key, Mapping[str, float]],
    split: str,
    reference: str = 'base',
    columns: Mapping[str, str] = COLUMNS,
    level: float = 0.95,
) -> dict[str, dict[str, Cell]]:
    """Per row and column of *split*: mean +- sd over seeds, paired to *reference*.

    Args:
        runs: metrics (names without the ``test_`` prefix, as :func:`collect` gives
            them) by ``(row, seed, split)``.
        split: ``'val'`` or ``'test'``.
        reference: the row the others are paired with.
        columns: column name -> metric name.
        level: coverage of the intervals.

    Returns:
        ``{row: {column: Cell}}``, rows in the order of :func:`row_order`.
    """
    rows = row_order({r for r, _, s in runs if s == split}, reference)
    out: dict[str, dict[str, Cell]] = {}
    for row in rows:
        out[row] = {}
        for column, metric in columns.items():
            by_seed = _by_seed(runs, row, split, metric)
            ref = _by_seed(runs, reference, split, metric)
            m, sd = mean_sd(list(by_seed.values()))
            n = sum(math.isfinite(v) for v in by_seed.values())
            diff = (
                None
                if row == reference or not ref
                else paired_difference(by_seed, ref, level)
            )
            out[row][column] = Cell(m, sd, n, diff)
    return out


def row_order(rows: Iterable[str], reference: str = 'base') -> list[str]:
    """The reference first, then the rows in :data:`ROWS` order."""
    known = ROWS
    rank = {r: i for i, r in enumerate(known)}
    return sorted(set(rows), key=lambda r: (r != reference, rank.get(r, len(known)), r))


def _by_seed(
    runs: Mapping[Key, Mapping[str, float]], row: str, split: str, metric: str
) -> dict[int, float]:
    return {
        seed: float(m.get(metric, math.nan))
        for (r, seed, s), m in runs.items()
        if r == row and s == split
    }


# ---------------------------------------------------------------- formatting
def _num(x: float, signed: bool = False) -> str:
    if not math.isfinite(x):
        return 'n/a'
    return f'{x:+.3f}' if signed else f'{x:.3f}'


def _diff(d: Difference | None) -> str:
    if d is None:
        return ''
    if d.n == 0:
        return 'n/a'
    return f'{_num(d.mean, True)} [{_num(d.low, True)}, {_num(d.high, True)}]'


def _head(title: str, legend: str, columns: Sequence[str]) -> list[str]:
    """A Markdown table's heading, legend and header lines."""
    return [
        f'### {title}',
        '',
        legend,
        '',
        '| ' + ' | '.join(columns) + ' |',
        '|' + '---|' * len(columns),
    ]


def format_table(
    table: Mapping[str, Mapping[str, Cell]],
    title: str,
    reference: str = 'base',
    level: float = 0.95,
    name: str = 'IoU',
) -> str:
    """A Markdown table: per row and column ``mean +- sd`` and the paired difference.

    Args:
        table: from :func:`ablation_table`.
        title: the heading line.
        reference: the reference row's name (for the legend).
        level: the intervals' coverage (for the legend).
        name: the score's name (for the legend).

    Returns:
        The table, with a heading and a legend.
    """
    columns = list(next(iter(table.values()), {}))
    pct = f'{100 * level:g} %'
    lines = _head(
        title,
        f'{name} mean +- sd over seeds (n); below it, the paired difference to '
        f'{reference} (same seeds) with its {pct} t-interval.',
        ['row', 'n', *columns],
    )
    for row, cells in table.items():
        n = max((c.n for c in cells.values()), default=0)
        stats = [f'{_num(c.mean)} +- {_num(c.sd)}' for c in cells.values()]
        lines.append(f'| {row} | {n} | ' + ' | '.join(stats) + ' |')
        diffs = [c.diff for c in cells.values()]
        if any(d is not None for d in diffs):
            parts = [_diff(d) for d in diffs]
            pairs = max((d.n for d in diffs if d is not None), default=0)
            head = f'| - {reference} | {pairs} pairs | '
            lines.append(head + ' | '.join(parts) + ' |')
    return '\n'.join(lines) + '\n'


# ---------------------------------------------------------------- reading runs
def parse_printed_table(text: str) -> dict[str, float]:
    """The metrics of the table ``torchgeo test`` (Lightning) prints.

    Args:
        text: the output (the log around the table is skipped).

    Returns:
        ``{metric: value}``, names without their ``test_`` prefix.
    """
    out: dict[str, float] = {}
    for line in text.splitlines():
        match = _CELL.match(line)
        if match:
            try:
                out[match['name'].removeprefix('test_')] = float(match['value'])
            except ValueError:
                continue
    return out


def parse_metrics_csv(text: str) -> dict[str, float]:
    """The test metrics of a CSVLogger ``metrics.csv`` (the last value of each).

    Args:
        text: the file's text.

    Returns:
        ``{metric: value}``, names without their ``test_`` prefix.
    """
    out: dict[str, float] = {}
    for record in csv.DictReader(text.splitlines()):
        for name, value in record.items():
            if name and name.startswith('test_') and value not in (None, ''):
                out[name.removeprefix('test_')] = float(value)
    return out


def parse_curve(text: str, prefix: str = 'val_') -> dict[int, dict[str, float]]:
    """The validation metrics by step of a fit's CSVLogger ``metrics.csv``.

    Args:
        text: the file's text.
        prefix: the metrics' prefix.

    Returns:
        ``{step: {metric: value}}``, names without *prefix*.
    """
    out: dict[int, dict[str, float]] = {}
    for record in csv.DictReader(text.splitlines()):
        values = {
            k.removeprefix(prefix): float(v)
            for k, v in record.items()
            if k and k.startswith(prefix) and v not in (None, '')
        }
        if values and record.get('step') not in (None, ''):
            out.setdefault(int(float(record['step'])), {}).update(values)
    return out


def _run_files(
    root: Path, pattern: str, regex: re.Pattern[str]
) -> Iterator[tuple[Key, Path]]:
    """The files under *root* matching *pattern* whose path names a run, with its key.

    Raises:
        ValueError: If *root* is not a folder.
    """
    if not root.is_dir():
        raise ValueError(f'no folder {root}')
    for path in sorted(root.glob(pattern)):
        match = regex.search(path.relative_to(root).as_posix())
        if match:
            yield (match['row'], int(match['seed']), match['split']), path


def collect(*roots: str | Path) -> dict[Key, dict[str, float]]:
    """Every run's test metrics under *roots*, by ``(row, seed, split)``.

    CSVLogger files (``metrics/ROW_sSEED/SPLIT/metrics.csv``) win over printed
    tables (``test_ROW_sSEED_SPLIT.txt``) of the same run in one folder; the same run
    in two folders is an error (the ablation's calls each write their own).

    Args:
        roots: the folders ``gpu_ablation.sh`` wrote (its ``$OUT``), one per call or
            per record.

    Returns:
        The metrics (runs without any are left out).

    Raises:
        ValueError: If a folder does not exist or two folders hold the same run.
    """
    runs: dict[Key, dict[str, float]] = {}
    where: dict[Key, Path] = {}
    for root in map(Path, roots):
        found: dict[Key, dict[str, float]] = {}
        for pattern, regex, parse in (
            ('**/metrics.csv', _CSV, parse_metrics_csv),
            ('**/test_*.txt', _TXT, parse_printed_table),
        ):
            for key, path in _run_files(root, pattern, regex):
                metrics = parse(path.read_text(errors='replace'))
                if metrics and key not in found:
                    found[key] = metrics
        for key in found:
            if key in where:
                raise ValueError(
                    f'run {key[0]}_s{key[1]} ({key[2]}) is in both {where[key]} '
                    f'and {root}'
                )
            where[key] = root
        runs |= found
    return runs


# ---------------------------------------------------------------- scenes
def parse_scenes_csv(
    text: str, classes: Sequence[str] = CLASSES
) -> dict[str, np.ndarray]:
    """Each scene's confusion from a ``scenes.csv`` that ``torchgeo test`` wrote.

    Args:
        text: the file's text: ``scene``, ``truth`` and one column per class.
        classes: the classes, in the order of the rows and columns returned.

    Returns:
        ``{scene: K x K}`` int64 counts, rows the labels, columns the prediction.

    Raises:
        ValueError: If a class's column or row is missing.
    """
    out: dict[str, np.ndarray] = {}
    rows = list(csv.DictReader(text.splitlines()))
    for record in rows:
        missing = [c for c in classes if c not in record]
        if missing:
            raise ValueError(f'scenes.csv has no column {missing[0]!r}')
        scene = out.setdefault(
            record['scene'], np.full((len(classes),) * 2, -1, dtype=np.int64)
        )
        if record['truth'] in classes:
            row = classes.index(record['truth'])
            scene[row] = [int(record[c]) for c in classes]
    for name, confmat in out.items():
        if (confmat < 0).any():
            raise ValueError(f'scenes.csv: scene {name} lacks a truth row')
    return out


def collect_scenes(*roots: str | Path) -> dict[Key, dict[str, np.ndarray]]:
    """Every run's per-scene confusions under *roots*, by ``(row, seed, split)``.

    Args:
        roots: the folders ``gpu_ablation.sh`` wrote.

    Returns:
        ``{key: {scene: K x K}}`` of the runs whose test wrote ``scenes.csv``.

    Raises:
        ValueError: If a folder does not exist or two folders hold the same run.
    """
    out: dict[Key, dict[str, np.ndarray]] = {}
    for root in map(Path, roots):
        for key, path in _run_files(root, '**/scenes.csv', _SCENES):
            if key in out:
                raise ValueError(f'run {key[0]}_s{key[1]} ({key[2]}) twice: {path}')
            out[key] = parse_scenes_csv(path.read_text())
    return out


def pooled_iou(confmat: np.ndarray) -> np.ndarray:
    """Per-class IoU of ``... x K x K`` confusions, NaN where the labels lack the class.

    The score ``torchgeo test`` gives (the task's ``PresentClassJaccardIndex``), with
    the mean over the present classes appended as a last column.

    Args:
        confmat: counts, rows the labels, columns the prediction.

    Returns:
        ``... x (K + 1)``: each class's IoU, then their mean.
    """
    c = confmat.astype(np.float64)
    tp = np.diagonal(c, axis1=-2, axis2=-1)
    truth = c.sum(-1)
    union = truth + c.sum(-2) - tp
    iou = np.where(truth > 0, tp / np.maximum(union, 1), np.nan)
    present = truth > 0
    mean = np.where(
        present.any(-1),
        np.where(present, iou, 0).sum(-1) / np.maximum(present.sum(-1), 1),
        np.nan,
    )
    return np.concatenate([iou, mean[..., None]], axis=-1)


def _pairs(
    variant: Mapping[int, Mapping[str, np.ndarray]],
    reference: Mapping[int, Mapping[str, np.ndarray]],
) -> tuple[list[int], list[str]]:
    """The seeds both rows have, and the scenes every run of those seeds holds."""
    seeds = sorted(set(variant) & set(reference))
    runs = [set(m[s]) for s in seeds for m in (variant, reference)]
    return seeds, sorted(set.intersection(*runs)) if runs else []


def scene_bootstrap(
    variant: Mapping[int, Mapping[str, np.ndarray]],
    reference: Mapping[int, Mapping[str, np.ndarray]],
    draws: int = 4000,
    level: float = 0.95,
    seed: int = 0,
) -> list[Difference]:
    """The paired difference of pooled IoU, with an interval over scenes and seeds.

    1. Pair the seeds both have and the scenes every one of their runs holds.
    2. The estimate: per seed, the IoU of the confusions pooled over the scenes,
       ``variant - reference``, averaged over the seeds (what
       :func:`paired_difference` gives from the logged metrics).
    3. *draws* times: draw the scenes and the seeds with replacement, pool each drawn
       seed's confusions over the drawn scenes (a scene drawn twice counts twice),
       and average its difference over the drawn seeds; a class the drawn scenes
       lack is left out of that draw.
    4. The interval: the ``(1 -+ level) / 2`` quantiles of the draws.

    Args:
        variant: by seed, each scene's ``K x K`` confusion.
        reference: the same for the reference row (the same seeds: the same
            initialisation and crops).
        draws: bootstrap draws.
        level: the interval's coverage.
        seed: the draws' random seed.

    Returns:
        One :class:`Difference` per class and, last, the mean IoU (``n``: the pairs;
        all NaN without one).
    """
    seeds, scenes = _pairs(variant, reference)
    if not scenes:
        k = next((len(c) for m in variant.values() for c in m.values()), len(CLASSES))
        return [Difference(math.nan, math.nan, math.nan, 0)] * (k + 1)
    a = np.stack([[variant[s][n] for n in scenes] for s in seeds])
    b = np.stack([[reference[s][n] for n in scenes] for s in seeds])
    with np.errstate(invalid='ignore'), warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)  # a class no seed scores
        estimate = np.nanmean(pooled_iou(a.sum(1)) - pooled_iou(b.sum(1)), axis=0)
    rng = np.random.default_rng(seed)
    n_seeds, n_scenes = len(seeds), len(scenes)
    w = rng.multinomial(n_scenes, [1 / n_scenes] * n_scenes, size=draws)
    v = rng.multinomial(n_seeds, [1 / n_seeds] * n_seeds, size=draws)
    d = pooled_iou(np.einsum('rn,snkl->rskl', w, a)) - pooled_iou(
        np.einsum('rn,snkl->rskl', w, b)
    )
    # a seed the draw leaves out must not bring its NaN (0 x NaN is NaN)
    per_draw = np.einsum('rs,rsk->rk', v, np.where(v[..., None] > 0, d, 0)) / n_seeds
    q = [50 * (1 - level), 50 * (1 + level)]
    out = []
    for k in range(per_draw.shape[1]):
        finite = per_draw[:, k][np.isfinite(per_draw[:, k])]
        low, high = np.percentile(finite, q) if len(finite) else (math.nan,) * 2
        out.append(Difference(float(estimate[k]), float(low), float(high), n_seeds))
    return out


def split_scenes(
    scenes: Mapping[Key, Mapping[str, np.ndarray]], split: str
) -> dict[tuple[str, int], Mapping[str, np.ndarray]]:
    """Each run's scenes of *split*, by ``(row, seed)``.

    ``POOLED`` joins a run's val and test scenes (runs tested on both only):
    the scenes the shadow target (CSIA >= BASE + 0.03) is stated on.

    Args:
        scenes: by ``(row, seed, split)``, each scene's ``K x K`` confusion.
        split: ``'val'``, ``'test'`` or ``POOLED``.

    Returns:
        ``{(row, seed): {scene: K x K}}``.

    Raises:
        ValueError: If a run's val and test share a scene.
    """
    if split != POOLED:
        return {(r, seed): m for (r, seed, s), m in scenes.items() if s == split}
    out: dict[tuple[str, int], Mapping[str, np.ndarray]] = {}
    for (r, seed, s), val in scenes.items():
        test = scenes.get((r, seed, 'test'))
        if s != 'val' or test is None:
            continue
        if shared := sorted(set(val) & set(test)):
            raise ValueError(f'run {r}_s{seed}: val and test share scenes {shared}')
        out[r, seed] = {**val, **test}
    return out


def scene_report(
    scenes: Mapping[Key, Mapping[str, np.ndarray]],
    reference: str = 'base',
    level: float = 0.95,
    draws: int = 4000,
) -> str:
    """Per split and val + test, each row's paired difference with its interval."""
    columns = [*CLASSES, 'mIoU']
    pct = f'{100 * level:g} %'
    parts = []
    for split in (*SPLITS, POOLED):
        runs = split_scenes(scenes, split)
        rows = row_order({r for r, _ in runs}, reference)
        if reference not in rows or len(rows) < 2:
            continue
        by_seed = {
            row: {seed: m for (r, seed), m in runs.items() if r == row} for row in rows
        }
        lines = _head(
            f'{split}, over scenes and seeds',
            f'The paired difference to {reference} of the IoU pooled over the scenes, '
            f'with its {pct} bootstrap interval over scenes and seeds ({draws} draws).',
            ['row', 'pairs', 'scenes', *columns],
        )
        for row in rows[1:]:
            diffs = scene_bootstrap(by_seed[row], by_seed[reference], draws, level)
            seeds, names = _pairs(by_seed[row], by_seed[reference])
            cells = ' | '.join(_diff(d) for d in diffs)
            lines.append(f'| {row} | {len(seeds)} | {len(names)} | {cells} |')
        parts.append('\n'.join(lines) + '\n')
    return '\n'.join(parts) if parts else 'no paired per-scene runs found\n'


def report(
    runs: Mapping[Key, Mapping[str, float]],
    reference: str = 'base',
    level: float = 0.95,
    metric: str = 'iou',
) -> str:
    """The ablation tables of *metric* (:data:`METRICS`), val first, then test."""
    parts = []
    columns, name = metric_columns(metric), METRICS[metric][0]
    if metric != 'iou':
        runs = present_only(runs, metric)
    for split in SPLITS:
        if not any(s == split for *_, s in runs):
            continue
        note = '' if split == 'val' else ' (reported once; rows are chosen on val)'
        table = ablation_table(runs, split, reference, columns, level)
        parts.append(format_table(table, f'{split}{note}', reference, level, name))
    return '\n'.join(parts) if parts else 'no runs found\n'


def curves(root: str | Path, columns: Mapping[str, str] = COLUMNS) -> str:
    """Validation IoU by step of every fit under *root* (learning curves), Markdown."""
    root = Path(root)
    lines = ['| run | step | ' + ' | '.join(columns) + ' |']
    lines.append('|---|---|' + '---|' * len(columns))
    runs: dict[str, dict[int, dict[str, float]]] = {}
    # RUN/fit/metrics.csv, or one RUN/fit/version_N/metrics.csv per call of a
    # fit resumed over calls
    for path in sorted(root.glob('**/fit/**/metrics.csv')):
        name = next(p for p in path.parents if p.name == 'fit').parent.name
        runs.setdefault(name, {}).update(parse_curve(path.read_text()))
    for name, curve in runs.items():
        for step, metrics in sorted(curve.items()):
            cells = [_num(metrics.get(m, math.nan)) for m in columns.values()]
            lines.append(f'| {name} | {step} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the ablation table of ``gpu_ablation.sh`` output folders.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status (1 when no run is found).
    """
    p = argparse.ArgumentParser(
        prog='python -m torchgeo_csia.experiments.ablation',
        description='The paired many-seed ablation table of gpu_ablation.sh runs.',
    )
    p.add_argument(
        'dirs', nargs='+', help='the folders gpu_ablation.sh wrote (its $OUT)'
    )
    p.add_argument('--reference', default='base', help='the row others pair with')
    p.add_argument('--level', type=float, default=0.95, help='interval coverage')
    p.add_argument(
        '--curve', action='store_true', help='print the val IoU by step instead'
    )
    p.add_argument(
        '--scenes',
        action='store_true',
        help='print the paired differences with intervals over scenes and seeds '
        '(from the scenes.csv files) instead',
    )
    p.add_argument('--draws', type=int, default=4000, help='bootstrap draws (--scenes)')
    p.add_argument(
        '--metric',
        choices=sorted(METRICS),
        default='iou',
        help='the score of the table: per-class IoU (default), precision or recall',
    )
    args = p.parse_args(argv)
    if args.metric != 'iou' and (args.curve or args.scenes):
        p.error('--metric applies to the ablation tables, not to --curve or --scenes')
    if args.curve:
        sys.stdout.write(''.join(curves(d) for d in args.dirs))
        return 0
    if args.scenes:
        try:
            scenes = collect_scenes(*args.dirs)
        except ValueError as e:
            p.error(str(e))
        sys.stdout.write(scene_report(scenes, args.reference, args.level, args.draws))
        return 0 if scenes else 1
    try:
        runs = collect(*args.dirs)
    except ValueError as e:
        p.error(str(e))
    sys.stdout.write(report(runs, args.reference, args.level, args.metric))
    return 0 if runs else 1


if __name__ == '__main__':
    raise SystemExit(main())
