"""Development sessions. Run them through ``bash .ci/run SESSION``, which prepares
the Python 3.12 environment they share (nox --no-venv).

``bash .ci/run`` with no session runs what CI runs: :data:`CI`, in that order (all of
them even when one fails; the run fails if any did).
"""

import importlib.util
import os

import nox

nox.options.default_venv_backend = 'none'
#: The sessions CI runs (``bash .ci/run`` with no argument).
CI = ['lint', 'typecheck', 'docs', 'tests', 'wheel']
nox.options.sessions = CI

#: What ruff checks and formats.
SOURCES = ('torchgeo_csia', 'tests', 'noxfile.py', 'docs/conf.py', 'docs/gallery')


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff check and format check."""
    session.run('ruff', 'check', *SOURCES)
    session.run('ruff', 'format', '--check', *SOURCES)


@nox.session(python=False)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.run('mypy', '--strict', 'torchgeo_csia')


def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except ModuleNotFoundError:  # a dotted name whose parent package is missing
        return True


@nox.session(python=False)
def docs(session: nox.Session) -> None:
    """The doctests of the docs and the HTML build, warnings as errors.

    The gallery (docs/gallery) runs during the first build, on the CPU, into the
    ignored docs/gallery_auto. Installs the ``docs`` extra (Sphinx, the theme,
    sphinx-gallery, sphinxcontrib-bibtex) first where any of it is missing.
    """
    needed = ('sphinx', 'pydata_sphinx_theme', 'sphinx_gallery', 'sphinxcontrib.bibtex')
    if any(_missing(name) for name in needed):
        session.run('python', '-m', 'pip', 'install', '-q', '-e', '.[docs]')
    for builder in ('doctest', 'html'):
        session.run(
            'python',
            '-m',
            'sphinx',
            '-W',
            '--keep-going',
            '-b',
            builder,
            'docs',
            f'docs/_build/{builder}',
        )


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """The test suite (real-data tests skip where ../shared/data is absent)."""
    session.run('python', '-m', 'pytest', '-q', *session.posargs)


@nox.session(python=False)
def wheel(session: nox.Session) -> None:
    """The built wheel, installed elsewhere, loads every weight (.ci/check_wheel.sh)."""
    script = os.path.join('.ci', 'check_wheel.sh')
    if not os.path.exists(script):
        session.skip(f'{script} is absent')
    session.run('bash', script, *session.posargs)


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
