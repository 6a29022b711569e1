import os
from collections.abc import Callable
from typing import Any

import pytest

from torchgeo_csia.datamodules.sparcs import SceneCropSampler
from torchgeo_csia.datasets import SPARCS
from torchgeo_csia.samplers import Resumable, SceneRandomSampler

from ..conftest import DATA


def crop_sampler() -> Resumable:
    return SceneCropSampler([(40, 40), (100, 60)], (32, 32), 20, 0)


def random_sampler() -> Resumable:
    ds = SPARCS(os.path.join(DATA, 'usgs'))
    return SceneRandomSampler(ds, size=32, length=20, generator=0)


@pytest.mark.parametrize('make', [crop_sampler, random_sampler])
class TestResumable:
    def test_takes_up_an_epoch(self, make: Callable[[], Any]) -> None:
        whole = make()
        epochs = [list(whole), list(whole)]
        assert epochs[0] != epochs[1]  # each epoch draws anew
        cut = make()
        first = iter(cut)
        seen = [next(first) for _ in range(7)]
        assert seen == epochs[0][:7]
        state = cut.state_dict(7)
        resumed = make()
        list(resumed)  # a fresh sampler, elsewhere in its stream
        resumed.load_state_dict(state)
        # the rest of the interrupted epoch, then the epoch after it
        assert list(resumed) == epochs[0][7:]
        assert len(resumed) == 20  # Lightning counts from the epoch's start
        assert list(resumed) == epochs[1]

    def test_epoch_end_and_before(self, make: Callable[[], Any]) -> None:
        whole = make()
        epochs = [list(whole), list(whole)]
        done = make()
        before = done.state_dict()  # no epoch begun: the first one
        list(done)
        after = done.state_dict(20)  # a whole epoch done: the next one
        for state, expected in ((before, epochs[0]), (after, epochs[1])):
            resumed = make()
            resumed.load_state_dict(state)
            assert list(resumed) == expected

    def test_bad_state(self, make: Callable[[], Any]) -> None:
        sampler = make()
        with pytest.raises(ValueError, match=r"state lacks \['skip'\]"):
            sampler.load_state_dict({'generator': None})
        state = sampler.state_dict()
        with pytest.raises(ValueError, match=r"state\['skip'\] must be >= 0"):
            sampler.load_state_dict({**state, 'skip': -1})
