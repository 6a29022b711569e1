import os

import pytest
import torch
from torch import Tensor, nn

from torchgeo_csia.experiments.scenes import Scenes, load_scenes

from ..conftest import DATA


@pytest.fixture(scope='session')
def scenes() -> Scenes:
    # the four generated 64 px scenes: 2 train, 1 val, 1 test
    return load_scenes(os.path.join(DATA, 'usgs'))


class Fixed(nn.Module):
    """The same logits at every pixel."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.logits = torch.tensor(logits)

    def forward(self, x: Tensor) -> Tensor:
        return self.logits.view(1, -1, 1, 1).expand(len(x), -1, *x.shape[-2:])
