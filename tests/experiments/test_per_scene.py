import json
import math
import os

import pytest
import torch
from torch import Tensor, nn

from torchgeo_csia.constants import CLASSES, IGNORE_INDEX, NUM_CLASSES, SHADOW
from torchgeo_csia.experiments import per_scene, prior
from torchgeo_csia.experiments.scenes import Scenes

from ..conftest import DATA
from .conftest import Fixed


def conf(truth: list[int], pred: list[int]) -> Tensor:
    return per_scene.confusion(torch.tensor([pred]), torch.tensor([truth]))


def test_confusion_counts_rows_truth_columns_prediction() -> None:
    c = per_scene.confusion(
        torch.tensor([[0, 1, 1, 3, 2]]), torch.tensor([[0, 1, 3, 3, IGNORE_INDEX]])
    )
    expected = torch.zeros(NUM_CLASSES, NUM_CLASSES, dtype=torch.int64)
    expected[0, 0] = expected[1, 1] = expected[3, 1] = expected[3, 3] = 1
    assert torch.equal(c, expected)  # the ignored pixel counts nowhere


def test_a_perfect_predictor_scores_1_and_differs_by_0(scenes: Scenes) -> None:
    ids = list(range(len(scenes.ids)))
    confs = []
    for s in ids:
        labels = scenes.labels[s].long()[None]
        logits = nn.functional.one_hot(labels, NUM_CLASSES).permute(0, 3, 1, 2)
        confs.append(per_scene.confusion(logits.float(), labels))
        iou = per_scene.scene_iou(confs[-1])
        present = prior.label_counts(scenes.labels[s]) > 0
        assert iou[present].tolist() == [1.0] * int(present.sum())
        assert bool(iou[~present].isnan().all())
    result = per_scene.compare(scenes.ids, confs, confs, ('a', 'b'))
    for row in result['scenes']:
        assert all(v == 0 or math.isnan(v) for v in row['diff'].values())
        assert all(v == 0 for v in row['influence'].values())
        counts = prior.label_counts(scenes.labels[scenes.ids.index(row['scene'])])
        assert row['pixels'] == dict(zip(CLASSES, counts.tolist(), strict=True))
    assert result['pooled']['a'] == result['pooled']['b']
    assert result['pooled']['a']['shadow'] == 1.0
    assert all(v == 0 for v in result['pooled_diff'].values())
    assert all(v == [0, 0] for v in result['interval'].values())


def test_scene_iou_is_0_for_a_false_alarm_pooled_leaves_it_out() -> None:
    # no snow in the labels, one pixel called snow
    c = conf([0, 0, 1, 1], [0, 2, 1, 1])
    iou = per_scene.scene_iou(c)
    assert iou[2] == 0.0 and math.isnan(float(iou[3]))
    assert iou[0] == 0.5 and iou[1] == 1.0
    pooled = per_scene.pooled_iou([c])
    assert math.isnan(float(pooled[2])) and math.isnan(float(pooled[3]))


def test_pooled_iou_is_one_confusion_by_hand() -> None:
    a = conf([1, 1, 0, 0], [1, 0, 0, 0])  # shadow: tp 1, union 2
    b = conf([1, 3, 3, 0], [1, 1, 3, 0])  # shadow: tp 1, union 2 (one false alarm)
    pooled = per_scene.pooled_iou([a, b])
    # shadow: tp 2; truth 3, prediction 3 -> union 3 + 3 - 2 = 4
    assert float(pooled[SHADOW]) == pytest.approx(2 / 4)
    # background: tp 3; truth 3, prediction 4 -> 3 / 4; cloud: tp 1, truth 2, pred 1
    assert float(pooled[0]) == pytest.approx(3 / 4)
    assert float(pooled[3]) == pytest.approx(1 / 2)
    assert math.isnan(float(pooled[2]))
    # per scene the means differ from the pooled one
    assert float(per_scene.scene_iou(a)[SHADOW]) == 0.5


def test_pooled_iou_is_the_tasks_metric_over_scenes(scenes: Scenes) -> None:
    model = Fixed([0.0, 1.0, 0.0, 0.9])
    ids = [0, 1, 2]
    confs = per_scene.scene_confusions(model, scenes, ids)
    truth = prior.label_counts(scenes.labels[0])
    assert confs[0][:, 1].tolist() == truth.tolist()  # every pixel called shadow
    (metric,) = prior.offset_scores(model, scenes, ids, [torch.zeros(NUM_CLASSES)])
    expected = metric.compute().double()
    assert torch.allclose(per_scene.pooled_iou(confs), expected, equal_nan=True)


def test_leave_one_out_removes_the_largest_contributor() -> None:
    same = [conf([1, 1, 0, 0, 3, 3], [1, 0, 0, 0, 3, 0])] * 2
    first_2 = conf([1, 1, 1, 1, 0, 3], [0, 0, 0, 1, 0, 3])
    second_2 = conf([1, 1, 1, 1, 0, 3], [1, 1, 1, 1, 0, 3])
    first, second = [*same, first_2], [*same, second_2]
    influence = per_scene.leave_one_out(first, second)
    assert influence.shape == (3, NUM_CLASSES)
    assert per_scene.most_influential(influence)[SHADOW] == 2
    result = per_scene.compare(['x', 'y', 'z'], first, second, ('a', 'b'))
    loo = result['leave_one_out']['shadow']
    assert loo['scene'] == 'z'
    assert loo['without'] == pytest.approx(0.0)  # the other two are the same
    assert result['pooled_diff']['shadow'] == pytest.approx(loo['influence'])
    assert result['pooled_diff']['shadow'] > 0
    # sorted by the shadow difference: z, the only one that moves, last
    assert [r['scene'] for r in result['scenes']][-1] == 'z'
    with pytest.raises(ValueError, match='same scenes'):
        per_scene.leave_one_out(first, second[:2])


def test_main_prints_tables_and_writes_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    models = {'A': Fixed([1.0, 0.0, 0.0, 0.0]), 'B': Fixed([0.0, 1.0, 0.0, 0.0])}
    monkeypatch.setattr(per_scene, 'load_segmenter', lambda spec, *_: models[spec])
    out_json = tmp_path / 'p.json'
    root = os.path.join(DATA, 'usgs')
    args = ['--root', root, '--weights', 'A', 'B', '--splits', 'train', 'test']
    assert per_scene.main([*args, '--json', str(out_json)]) == 0
    out = capsys.readouterr().out
    assert '### train (2 scenes): B - A' in out and '### test (1 scenes)' in out
    assert '### val' not in out
    assert 'leave one scene out' in out
    record = json.loads(out_json.read_text())
    train = record['splits']['train']
    # A calls all background, B all shadow: B's shadow IoU is the shadow share
    for row in train['scenes']:
        px = row['pixels']
        share = px['shadow'] / sum(px.values())
        assert row['iou']['B']['shadow'] == pytest.approx(share)
        assert row['diff']['shadow'] == pytest.approx(share)
        assert row['iou']['A']['snow'] == 0.0  # labelled, never predicted
    diffs = [r['diff']['shadow'] for r in train['scenes']]
    assert diffs == sorted(diffs)
    assert train['pooled']['A']['shadow'] == 0.0
    # B is better on shadow in every scene: the interval over scenes is above 0,
    # and holds the pooled difference
    low, high = train['interval']['shadow']
    assert 0 < low <= train['pooled_diff']['shadow'] <= high
    assert '| 95 % over scenes |' in out
    assert f'| {train["scenes"][0]["scene"]} |' in out
