import shutil
from pathlib import Path

import pytest
import torch
from torchgeo.models import get_model, get_model_weights, get_weight, list_models

import torchgeo_csia  # noqa: F401  (registers the weights with TorchGeo)
from torchgeo_csia.models import Inpainter
from torchgeo_csia.models.weights import (
    CSIAInpainter_Weights,
    CSIASegmenter_Weights,
    csia_inpainter,
    load_inpainter,
    models_dir,
    sparcs_bank,
)


def test_registered_with_torchgeo() -> None:
    assert {'csia_inpainter', 'csia_segmenter'} <= set(list_models())
    assert get_model_weights('csia_inpainter') is CSIAInpainter_Weights
    assert get_model_weights(csia_inpainter) is CSIAInpainter_Weights
    w = get_weight('CSIAInpainter_Weights.CLOUD_SPARCS_PHOTO')
    assert w is CSIAInpainter_Weights.CLOUD_SPARCS_PHOTO
    assert w.meta['class'] == 'cloud' and len(w.meta['training_scenes']) == 40


@pytest.mark.parametrize('member', list(CSIAInpainter_Weights))
def test_inpainters_load_offline_and_fill(member: CSIAInpainter_Weights) -> None:
    model = get_model('csia_inpainter', weights=member)
    assert isinstance(model, Inpainter) and not model.training
    # the augmentations hole as far beyond a structure as the training did
    assert model.margin == member.meta['margin'] == 4
    image = torch.rand(2, 3, 64, 64)
    hole = torch.zeros(2, 64, 64, dtype=torch.bool)
    hole[:, 16:40, 16:40] = True
    with torch.inference_mode():
        out = model(image, hole)
    assert out.shape == image.shape and torch.isfinite(out).all()


@pytest.mark.parametrize('member', list(CSIASegmenter_Weights))
def test_segmenters_load(member: CSIASegmenter_Weights) -> None:
    model = get_model('csia_segmenter', weights=get_weight(str(member)))
    with torch.inference_mode():
        logits = model(torch.rand(1, 3, 64, 64))
    assert logits.shape == (1, 4, 64, 64)


def test_untrained_builder() -> None:
    model = get_model('csia_inpainter', bands=10, encoder='resnet18')
    assert model.bands == 10


def test_files_within_budget() -> None:
    files = [p for p in models_dir().rglob('*') if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 32 * 2**20
    assert all(p.stat().st_size <= 10 * 2**20 for p in files)


def test_bank_ships() -> None:
    bank = sparcs_bank()
    assert bank.meta['split'] == 'train' and len(bank.pairs) > 0


def test_hash_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a copy of models/ with one file replaced by other bytes under the same name
    shutil.copytree(models_dir(), tmp_path / 'models')
    name = Path(CSIAInpainter_Weights.SNOW_SPARCS_PHOTO.url).name
    (tmp_path / 'models' / 'inpainting_models' / name).write_bytes(b'not weights')
    monkeypatch.setenv('TORCHGEO_CSIA_MODELS', str(tmp_path / 'models'))
    import importlib

    from torchgeo_csia.models import weights

    reloaded = importlib.reload(weights)
    try:
        with pytest.raises(ValueError, match='does not match'):
            reloaded.load_inpainter('SNOW_SPARCS_PHOTO')
    finally:
        monkeypatch.delenv('TORCHGEO_CSIA_MODELS')
        importlib.reload(weights)


def test_unknown_weights_name() -> None:
    with pytest.raises(ValueError, match='unknown inpainter weights'):
        load_inpainter('FOG_SPARCS_PHOTO')
