import tomllib
from pathlib import Path

import pytest
import torch

from torchgeo_csia.models import segmenter
from torchgeo_csia.models.weights import save_weights

ROOT = Path(__file__).parents[2]


def load_pyproject() -> dict[str, object]:
    with open(ROOT / 'pyproject.toml', 'rb') as f:
        return tomllib.load(f)


def setuptools_config() -> dict[str, dict[str, list[str]]]:
    return load_pyproject()['tool']['setuptools']  # type: ignore[index,no-any-return]


def test_packages_listed() -> None:
    # the explicit list in pyproject.toml must hold every package of the tree
    in_tree = {
        '.'.join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / 'torchgeo_csia').rglob('__init__.py')
    }
    models = {
        f'torchgeo_csia._models.{p.name}'
        for p in (ROOT / 'models').iterdir()
        if p.is_dir()
    }
    assert set(setuptools_config()['packages']) == in_tree | models | {
        'torchgeo_csia._models'
    }


def test_models_go_into_the_wheel() -> None:
    config = setuptools_config()
    assert config['package-dir'] == {'torchgeo_csia._models': 'models'}
    data = config['package-data']
    for path in (ROOT / 'models').rglob('*'):
        if path.is_file():
            package = f'torchgeo_csia._models.{path.parent.name}'
            assert any(path.match(glob) for glob in data[package]), path


def test_export_saves_cpu_tensors(tmp_path: Path) -> None:
    model = segmenter(encoder='resnet18')
    path = save_weights(model.state_dict(), tmp_path / 'seg')
    locations: set[str] = set()
    torch.load(path, map_location=lambda s, loc: locations.add(loc) or s)
    assert locations == {'cpu'}


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_export_from_gpu_saves_cpu_tensors(tmp_path: Path) -> None:
    model = segmenter(encoder='resnet18').cuda()
    path = save_weights(model.state_dict(), tmp_path / 'seg')
    locations: set[str] = set()
    state = torch.load(path, map_location=lambda s, loc: locations.add(loc) or s)
    assert locations == {'cpu'}
    assert all(v.dtype != torch.float32 for v in state.values())  # fp16 as before
