from pathlib import Path

import pytest
import torch

from torchgeo_csia.experiments.inpainters import (
    diffusion_fill,
    evaluate,
    evaluation_table,
    figure,
    heldout_crops,
)
from torchgeo_csia.experiments.networks import load_inpainter
from torchgeo_csia.experiments.scenes import Scenes


def test_diffusion_fill_keeps_the_context_and_smooths_the_hole() -> None:
    image = torch.ones(1, 3, 32, 32)
    image[..., :, 16:] = 0
    hole = torch.zeros(1, 32, 32, dtype=torch.bool)
    hole[:, 8:24, 12:20] = True
    out = diffusion_fill(image, hole)
    assert torch.equal(out[:, :, ~hole[0]], image[:, :, ~hole[0]])
    inside = out[:, :, hole[0]]
    assert 0 < inside.min() and inside.max() < 1


def test_heldout_crops_hole_the_whole_structure(scenes: Scenes) -> None:
    img, hole = heldout_crops(scenes, 3, 32, 4, (0.05, 0.9), 2, seed=0)
    assert img.shape[1:] == (3, 32, 32) and hole.shape == (len(img), 32, 32)
    with pytest.raises(ValueError, match='holds class 3'):
        heldout_crops(scenes, 3, 32, 4, (0.95, 1.0), 2, seed=0)


def test_evaluate_scores_models_against_baselines(
    scenes: Scenes, tmp_path: Path
) -> None:
    net = load_inpainter('SHADOW_SPARCS_PHOTO', 'shadow', 3, 'cpu')
    rows = evaluate(scenes, {'shipped': net}, 'shadow', size=32, count=4)
    assert [r['method'] for r in rows] == ['class mean', 'diffusion', 'shipped']
    for r in rows:
        assert r['l1'] >= 0 and r['psnr'] > 0 and r['texture'] >= 0
        assert r['crops'] == rows[0]['crops'] > 0
    assert '| shadow | shipped |' in evaluation_table(rows)
    figure(scenes, [('shadow', 'shipped', net)], str(tmp_path / 'f.png'), 2, 32)
    assert (tmp_path / 'f.png').stat().st_size > 1000
