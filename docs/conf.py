"""Sphinx configuration (``bash .ci/run docs`` builds it)."""

project = 'torchgeo-csia'
extensions = ['sphinx.ext.autodoc', 'sphinx.ext.napoleon', 'sphinx.ext.doctest']
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = True
html_theme = 'alabaster'
exclude_patterns = ['_build', 'reproduce', 'configs']
