import doctest
import os

from .conftest import HERE


def test_usage_examples_run() -> None:
    path = os.path.join(HERE, '..', 'docs', 'usage.rst')
    result = doctest.testfile(path, module_relative=False)
    assert result.attempted > 0 and result.failed == 0
