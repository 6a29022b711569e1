import doctest
import glob
import os

import pytest

from .conftest import HERE

DOCS = os.path.join(HERE, '..', 'docs')
WITH_EXAMPLES = [
    p for p in sorted(glob.glob(os.path.join(DOCS, '*.rst'))) if '>>>' in open(p).read()
]


def test_usage_has_examples() -> None:
    assert os.path.join(DOCS, 'usage.rst') in WITH_EXAMPLES


@pytest.mark.parametrize('path', WITH_EXAMPLES, ids=os.path.basename)
def test_doc_examples_run(path: str) -> None:
    result = doctest.testfile(path, module_relative=False)
    assert result.attempted > 0 and result.failed == 0
