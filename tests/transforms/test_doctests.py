"""The docstring examples of the transforms (and of the constants they use) run."""

import doctest
from pathlib import Path
from types import ModuleType

import pytest

from torchgeo_csia import constants
from torchgeo_csia.transforms import csia, sources, structures

CSIA_CLASSES = (
    'RandomCloudShadow',
    'RandomSnow',
    'RandomShadowForClouds',
    'RandomCopyPaste',
    'RandomTransplant',
)


@pytest.mark.parametrize(
    'module', (csia, sources, structures, constants), ids=lambda m: m.__name__
)
def test_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0


def test_every_csia_class_has_an_example() -> None:
    tests = doctest.DocTestFinder().find(csia)
    with_examples = {t.name.rsplit('.', 1)[-1] for t in tests if t.examples}
    assert set(CSIA_CLASSES) <= with_examples


def test_every_csia_class_cites_the_paper() -> None:
    # the :cite: role of sphinxcontrib-bibtex, whose entry the docs' bibliography holds
    bib = (Path(__file__).parents[2] / 'docs/references.bib').read_text()
    assert '@article{Belyakov2025,' in bib and '10.1016/j.asr.2025.01.049' in bib
    assert ':cite:`Belyakov2025`' in (csia.__doc__ or '')
    for name in CSIA_CLASSES:
        doc = getattr(csia, name).__doc__
        assert ':cite:`Belyakov2025`' in doc and '\n        1. ' in doc, name
