"""Development sessions. Run them through ``bash .ci/run SESSION``, which prepares
the Python 3.12 environment they share (nox --no-venv)."""

import nox

nox.options.default_venv_backend = 'none'
nox.options.sessions = ['tests']


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """The test suite (real-data tests skip where ../shared/data is absent)."""
    session.run('python', '-m', 'pytest', '-q', *session.posargs)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff check and format check."""
    session.run('ruff', 'check', 'torchgeo_csia', 'tests', 'noxfile.py')
    session.run('ruff', 'format', '--check', 'torchgeo_csia', 'tests', 'noxfile.py')


@nox.session(python=False)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.run('mypy', '--strict', 'torchgeo_csia')


@nox.session(python=False)
def demo(session: nox.Session) -> None:
    """The main job: a SPARCS batch (generated sample unless --root) to demo.png."""
    session.run('torchgeo-csia', 'demo', *session.posargs)


@nox.session(name='bench-data', python=False)
def bench_data(session: nox.Session) -> None:
    """Patches/s of SPARCS against TorchGeo's L8Biome on equivalent files."""
    session.run('torchgeo-csia', 'bench-data', *session.posargs)


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """CSIA img/s per mode against the authors' per-sample pattern (GPU)."""
    session.run('torchgeo-csia', 'bench', *session.posargs)


@nox.session(python=False)
def docs(session: nox.Session) -> None:
    """Sphinx HTML and the doctests of the docs."""
    session.run('python', '-m', 'pip', 'install', '-q', '-e', '.[docs]')
    session.run('sphinx-build', '-b', 'doctest', 'docs', 'docs/_build/doctest')
    session.run('sphinx-build', '-W', '-b', 'html', 'docs', 'docs/_build/html')
