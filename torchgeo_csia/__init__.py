"""CSIA (climate structures inpainting augmentations) for TorchGeo.

Submodules are imported on use, so that :mod:`torchgeo_csia.transforms` and
:mod:`torchgeo_csia.models` need only torch, kornia and segmentation-models-pytorch.
"""

__version__ = '0.1.0'
