"""CSIA (climate structures inpainting augmentations) for TorchGeo.

Submodules are imported on use, so that :mod:`torchgeo_csia.transforms` and
:mod:`torchgeo_csia.models` need only torch, kornia and segmentation-models-pytorch,
and ``import torchgeo_csia`` (and so ``torchgeo-csia --help``) stays fast.

Our models and weights join TorchGeo's weights API (``get_weight``, ``get_model``,
``list_models``) as soon as both this package and :mod:`torchgeo.models` are
imported, in either order: at once when :mod:`torchgeo.models` is already loaded,
otherwise right after it finishes loading.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

__version__ = '0.1.0'

#: The module whose import triggers the registration.
_TARGET = 'torchgeo.models'


def _register() -> None:
    """Add our builders and weights to TorchGeo's registry (idempotent)."""
    try:
        from .models._registry import register

        register()
    except ImportError:  # pragma: no cover - the GPU side may run without torchgeo
        pass


class _RegisterAfterImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: registers our weights once ``torchgeo.models`` loaded.

    On the first import of :data:`_TARGET` it leaves :data:`sys.meta_path`, asks
    the remaining finders for the module's spec and wraps that spec's loader so that
    :func:`_register` runs right after the module has executed.
    """

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TARGET:
            return None
        _uninstall()
        spec = importlib.util.find_spec(fullname)
        loader = None if spec is None else spec.loader
        if spec is None or loader is None or not hasattr(loader, 'exec_module'):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module: ModuleType) -> None:
            exec_module(module)
            _register()

        # the loader instance serves this one module only
        setattr(loader, 'exec_module', exec_then_register)  # noqa: B010
        return spec


def _uninstall() -> None:
    # by name, so that finders of an earlier (reloaded) copy of this module go too
    for finder in list(sys.meta_path):
        if type(finder).__qualname__ == _RegisterAfterImport.__qualname__:
            sys.meta_path.remove(finder)


if _TARGET in sys.modules:
    _register()
else:
    _uninstall()  # a reload must not stack finders
    sys.meta_path.insert(0, _RegisterAfterImport())
