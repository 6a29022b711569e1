import pytest

from torchgeo_csia.experiments.bench_data import loader


def test_bench_data_loader(usgs_root: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows = loader(usgs_root, workers=(0, 1), batch_size=2, patch_size=64, batches=2)
    assert [(g, n) for g, n, _ in rows] == [
        ('dataset', 0),
        ('dataset', 1),
        ('native', 0),
        ('native', 1),
    ]
    assert all(rate > 0 for _, _, rate in rows)
    assert '| grid | workers | patches/s |' in capsys.readouterr().out
