import os

import pytest

from torchgeo_csia.experiments.scenes import Scenes, load_scenes

from ..conftest import DATA


@pytest.fixture(scope='session')
def scenes() -> Scenes:
    # the four generated 64 px scenes: 2 train, 1 val, 1 test
    return load_scenes(os.path.join(DATA, 'usgs'))
