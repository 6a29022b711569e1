from pathlib import Path

from torchgeo_csia.cli import main


def test_demo(tmp_path: Path) -> None:
    out = tmp_path / 'demo.png'
    main(['demo', '--batch-size', '2', '--patch-size', '64', '--out', str(out)])
    assert out.stat().st_size > 1000


def test_bench_data_small(capsys) -> None:
    main(['bench-data', '--scenes', '2', '--size', '600', '--patches', '5'])
    table = capsys.readouterr().out
    assert '| native UTM | L8Biome (torchgeo) |' in table
    assert 'SPARCS usgs (_mask.png)' in table
