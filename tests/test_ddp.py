import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DATA, HERE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return int(s.getsockname()[1])


def run(out: Path, workers: int) -> list[list[dict[str, object]]]:
    out.mkdir()
    script = os.path.join(HERE, 'ddp', 'train_ddp.py')
    cmd = [
        sys.executable,
        '-m',
        'torch.distributed.run',
        '--nproc_per_node=2',
        f'--master_port={free_port()}',
        script,
        os.path.join(DATA, 'usgs'),
        str(out),
        str(workers),
    ]
    # a deadlock fails the test by its timeout instead of hanging CI
    subprocess.run(
        cmd, check=True, timeout=300, env={**os.environ, 'OMP_NUM_THREADS': '1'}
    )
    return [json.loads((out / f'rank{r}.json').read_text()) for r in (0, 1)]


@pytest.mark.slow
def test_ddp_two_cpu_ranks_with_csia(tmp_path: Path) -> None:
    ranks = run(tmp_path / 'w0', workers=0)
    for seen in ranks:
        assert len(seen) == 2
    # each rank draws its own patches, and CSIA changed samples on both
    assert ranks[0][0]['bounds'] != ranks[1][0]['bounds']
    assert all(step['augmented'] for seen in ranks for step in seen)
    # and its own random draws: which samples CSIA picks differ between the ranks
    assert [s['drawn'] for s in ranks[0]] != [s['drawn'] for s in ranks[1]]
    # loading workers do not change what is drawn or painted
    assert run(tmp_path / 'w1', workers=1) == ranks
