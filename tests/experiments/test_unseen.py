"""The share of CSIA labels whose painting barely changed the image."""

import pytest

from torchgeo_csia.experiments import unseen


def test_unseen_counts_on_generated_scenes(
    usgs_root: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ['--root', usgs_root, '--batches', '1', '--batch-size', '4']
    assert unseen.main([*args, '--patch-size', '64', '--min-change', '0.1']) == 0
    out = capsys.readouterr().out
    assert '| mode | class | pixels labelled | changed by < 10% | share |' in out
    assert '| RandomSnow | snow |' in out
    counts = {'RandomSnow': {'snow': [10, 4]}, 'RandomShadowForClouds': {}}
    table = unseen.format_counts(counts, 0.25)
    assert '| RandomSnow | snow | 10 | 4 | 0.400 |' in table
    assert 'changed by < 25%' in table
