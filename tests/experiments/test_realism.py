import math

import pytest
import torch
from torch import Tensor, nn

from torchgeo_csia.constants import CLASSES
from torchgeo_csia.experiments.networks import load_inpainters
from torchgeo_csia.experiments.realism import (
    realism,
    realism_figure,
    realism_table,
    scene_recall,
)
from torchgeo_csia.experiments.scenes import Scenes


class Oracle(nn.Module):
    """Labels every pixel as one class."""

    def __init__(self, cls: int) -> None:
        super().__init__()
        self.cls = cls

    def forward(self, x: Tensor) -> Tensor:
        out = torch.zeros(len(x), len(CLASSES), *x.shape[-2:])
        out[:, self.cls] = 1
        return out


def test_scene_recall_is_torchmetrics_over_whole_scenes(scenes: Scenes) -> None:
    recall = scene_recall(Oracle(3), scenes, [0, 1])
    assert recall == [0.0, 0.0, 0.0, 1.0]


def test_realism_shares_and_reference(scenes: Scenes, tmp_path) -> None:
    result, shots = realism(
        scenes,
        Oracle(3),  # takes everything for cloud
        load_inpainters('cpu'),
        scenes.split('train'),
        count=4,
        size=32,
        min_free=0.2,
    )
    assert result['cloud'] == 1.0 and result['shadow'] == 0.0
    assert sum(result[f'shadow_as_{c}'] for c in CLASSES) == pytest.approx(1.0)
    assert result['recall_cloud'] == 1.0 and result['ratio_cloud'] == 1.0
    # the reference: real structures of the training crops moved onto the crops
    assert result['pasted_cloud'] == 1.0
    assert result['ratio_pasted_cloud'] == pytest.approx(
        result['pasted_cloud'] / result['recall_cloud']
    )
    assert not math.isnan(result['ratio_snow'])
    assert shots['painted_cloud'].dtype == torch.uint8
    assert '| cloud | 1.000 |' in realism_table(result)
    realism_figure(shots, str(tmp_path / 'r.png'))
    assert (tmp_path / 'r.png').stat().st_size > 1000


def test_realism_needs_label_free_crops(scenes: Scenes) -> None:
    with pytest.raises(ValueError, match='crop holds class 0 within share'):
        realism(scenes, Oracle(0), load_inpainters('cpu'), [0], min_free=1.0)
