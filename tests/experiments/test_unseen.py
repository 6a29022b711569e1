"""The share of CSIA labels whose painting barely changed the image."""

import pytest

from torchgeo_csia.experiments import unseen
from torchgeo_csia.experiments.networks import load_inpainters
from torchgeo_csia.experiments.realism import csia_modes


def test_unseen_counts_on_generated_scenes(
    usgs_root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ['--root', usgs_root, '--batches', '1', '--batch-size', '4']
    args += ['--patch-size', '64', '--min-change', '0.1', '--shadow-depth', '1.9']
    assert unseen.main(args) == 0
    out = capsys.readouterr().out
    assert 'seed 0, shadow depth 1.9' in out
    assert '| mode | class | pixels labelled | changed by < 10% | share |' in out
    assert '| RandomSnow | snow |' in out
    counts = {'RandomSnow': {'snow': [10, 4]}, 'RandomShadowForClouds': {}}
    table = unseen.format_counts(counts, 0.25)
    assert '| RandomSnow | snow | 10 | 4 | 0.400 |' in table
    assert 'changed by < 25%' in table


def test_csia_modes_deepen_the_shadow_modes_only() -> None:
    modes = csia_modes(load_inpainters('cpu'), shadow_depth=1.9)
    assert [m.shadow_depth for m in modes] == [1.9, 1.9, 1.0]
