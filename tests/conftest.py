import os

import matplotlib
import pytest

matplotlib.use('Agg')

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, 'data', 'sparcs')
REAL = os.path.join(HERE, '..', '..', 'shared', 'data', 'sparcs')
REAL_OSU = os.path.join(HERE, '..', '..', 'shared', 'data', 'sparcs_osu_labels')


@pytest.fixture
def usgs_root() -> str:
    return os.path.join(DATA, 'usgs')


@pytest.fixture
def osu_root() -> str:
    return os.path.join(DATA, 'osu')


@pytest.fixture
def real_root() -> str:
    if not os.path.isdir(REAL):
        pytest.skip('real SPARCS data (../shared/data/sparcs) is absent')
    return REAL
