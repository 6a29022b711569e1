"""CSIA (climate structures inpainting augmentations) for TorchGeo.

Submodules are imported on use, so that :mod:`torchgeo_csia.transforms` and
:mod:`torchgeo_csia.models` need only torch, kornia and segmentation-models-pytorch.
"""

__version__ = '0.1.0'


def _register() -> None:
    # TorchGeo's weights API learns our models on import, where torchgeo is installed
    # (the GPU training side runs without it)
    try:
        from .models._registry import register
    except ImportError:  # pragma: no cover
        return
    try:
        register()
    except ImportError:  # pragma: no cover
        pass


_register()
