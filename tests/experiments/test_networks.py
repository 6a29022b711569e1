from pathlib import Path

import pytest
import torch

from torchgeo_csia.experiments.networks import (
    WeightsSpecError,
    export,
    load_inpainter,
    load_segmenter,
    registered,
)
from torchgeo_csia.models.segmenter import segmenter
from torchgeo_csia.models.weights import CSIASegmenter_Weights, verified_path
from torchgeo_csia.tasks import CSIASegmentation


@pytest.mark.parametrize(
    'spec', ['BASE_SPARCS_PHOTO', 'CSIASegmenter_Weights.BASE_SPARCS_PHOTO']
)
def test_weights_names_resolve(spec: str) -> None:
    member = registered(spec, 'CSIASegmenter_Weights', '--weights')
    assert member is CSIASegmenter_Weights.BASE_SPARCS_PHOTO
    with pytest.raises(WeightsSpecError, match='is neither a file nor one of'):
        registered(
            'CSIAInpainter_Weights.CLOUD_SPARCS_PHOTO',
            'CSIASegmenter_Weights',
            '--weights',
        )


def test_inpainter_from_an_export_is_the_shipped_architecture(tmp_path: Path) -> None:
    shipped = load_inpainter('SNOW_SPARCS_PHOTO', 'snow', 3, 'cpu')
    path = export_state(shipped.state_dict(), tmp_path)
    again = load_inpainter(str(path), 'snow', 3, 'cpu')
    assert again.structure == 'snow' and again.margin == shipped.margin
    with pytest.raises(WeightsSpecError, match='is for 3-band images'):
        load_inpainter(str(path), 'snow', 10, 'cpu')


def export_state(state: dict[str, torch.Tensor], folder: Path) -> Path:
    torch.save(state, folder / 'plain.pth')
    return export(str(folder / 'plain.pth'), str(folder / 'net'))


def test_segmenter_from_a_lightning_checkpoint(tmp_path: Path) -> None:
    # what torchgeo fit writes: the task's hyperparameters and its state dict
    task = CSIASegmentation(backbone='resnet18', decoder_channels=(16, 16, 16, 16, 16))
    ckpt = {'state_dict': task.state_dict(), 'hyper_parameters': dict(task.hparams)}
    torch.save(ckpt, tmp_path / 'seg.ckpt')
    model = load_segmenter(str(tmp_path / 'seg.ckpt'), 3, 'cpu')
    assert not model.training
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), task.model.eval()(x))
    path = export(str(tmp_path / 'seg.ckpt'), str(tmp_path / 'out' / 'seg'))
    assert verified_path(path) == path
    state = torch.load(path, weights_only=True)
    assert state.keys() == task.model.state_dict().keys()
    plain = segmenter(3, 4, 'resnet18')
    assert plain.state_dict().keys() == state.keys()
