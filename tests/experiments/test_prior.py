import math
import os

import kornia.augmentation as K
import pytest
import torch

from torchgeo_csia.constants import IGNORE_INDEX, NUM_CLASSES
from torchgeo_csia.datamodules import SPARCSDataModule
from torchgeo_csia.experiments import prior
from torchgeo_csia.experiments.networks import load_inpainters
from torchgeo_csia.experiments.realism import csia_modes
from torchgeo_csia.experiments.scenes import Scenes

from ..conftest import DATA
from .conftest import Fixed


def test_label_counts_leave_the_ignore_index_out() -> None:
    mask = torch.tensor([[0, 0, 1, 3], [IGNORE_INDEX, 2, 2, 2]])
    assert prior.label_counts(mask).tolist() == [2, 1, 3, 1]


def test_prior_offset_is_the_log_ratio() -> None:
    before = torch.tensor([0.5, 0.25, 0.25])
    after = torch.tensor([0.25, 0.25, 0.5])
    offset = prior.prior_offset(before, after)
    assert offset.tolist() == pytest.approx([math.log(2), 0.0, -math.log(2)])
    with pytest.raises(ValueError, match='positive shares'):
        prior.prior_offset(torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.5]))


def test_offset_scores_move_the_prediction(scenes: Scenes) -> None:
    # shadow wins by 0.5 as trained; an offset of -1 on shadow hands it to cloud
    model = Fixed([0.0, 1.0, 0.0, 0.5])
    zero, moved = prior.offset_scores(
        model, scenes, [0], [torch.zeros(4), torch.tensor([0.0, -1.0, 0.0, 0.0])]
    )
    truth = prior.label_counts(scenes.labels[0])
    # the metrics' confusions: rows the truth, columns the prediction
    assert zero.confmat[:, 1].tolist() == truth.tolist()  # every pixel called shadow
    assert moved.confmat[:, 3].tolist() == truth.tolist()  # every pixel called cloud


def test_class_shares_grow_what_csia_paints() -> None:
    torch.manual_seed(0)
    dm = SPARCSDataModule(
        batch_size=4,
        patch_size=64,
        length=8,
        grid='native',
        paths=os.path.join(DATA, 'usgs'),
        image='photo',
        classes='csia',
    )
    dm.setup('fit')
    batches = list(dm.train_dataloader())
    normalize = K.Normalize(mean=dm.mean, std=dm.std)
    before, after = prior.class_shares([], batches, normalize)
    assert torch.equal(before, after)
    assert float(before.sum()) == pytest.approx(1.0)
    modes = csia_modes(load_inpainters('cpu'), p=1.0, min_free=0.0)
    before2, after2 = prior.class_shares(modes, batches, normalize)
    assert torch.equal(before, before2)
    # painting takes background away and gives it to the painted classes
    assert float(after2[0]) < float(before2[0])
    assert float(after2[1:].sum()) > float(before2[1:].sum())
    assert len(after2) == NUM_CLASSES


def test_main_prints_shares_and_scores(capsys: pytest.CaptureFixture[str]) -> None:
    root = os.path.join(DATA, 'usgs')
    args = ['--root', root, '--batches', '1', '--batch-size', '2', '--patch-size', '32']
    assert (
        prior.main([*args, '--weights', 'BASE_SPARCS_PHOTO', '--scales', '0', '1']) == 0
    )
    out = capsys.readouterr().out
    assert '| before CSIA |' in out and '| log(before / after) |' in out
    assert out.count('| BASE_SPARCS_PHOTO |') == 2
    assert 'IoU on the 1 val scenes' in out
