import pytest

from torchgeo_csia.experiments.bench_data import loader


def test_bench_data_loader(usgs_root: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows = loader(usgs_root, workers=(0, 1), batch_size=2, patch_size=64, batches=2)
    assert [n for n, _ in rows] == [0, 1] and all(rate > 0 for _, rate in rows)
    assert '| workers | patches/s |' in capsys.readouterr().out
