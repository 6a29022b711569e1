"""Sphinx configuration (``bash .ci/run docs`` builds it)."""

import os

import matplotlib

matplotlib.use('Agg')  # the gallery draws on a machine without a display

project = 'torchgeo-csia'
extensions = [
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
    'sphinx.ext.doctest',
    'sphinx.ext.intersphinx',
    'sphinx.ext.viewcode',
    'sphinx_gallery.gen_gallery',
    'sphinxcontrib.bibtex',
]
# the references of :cite: roles (the CSIA paper and the others the code cites)
bibtex_bibfiles = ['references.bib']
bibtex_reference_style = 'author_year'
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = True
exclude_patterns = [
    '_build',
    'reproduce',
    'configs',
    'inventories',
    'gallery_auto/*.ipynb',
]

# -- theme: TorchGeo's look ----------------------------------------------------------
html_theme = 'pydata_sphinx_theme'
html_title = 'torchgeo-csia'
html_theme_options = {
    'navigation_with_keys': False,
    'show_toc_level': 2,
    'header_links_before_dropdown': 9,
    'navbar_align': 'left',
    'secondary_sidebar_items': ['page-toc'],
    'footer_start': ['copyright'],
    'footer_end': [],
}
html_sidebars = {'**': []}  # one column of text, the page's contents on the right
html_static_path = ['_static']
html_css_files = ['csia.css']

# -- intersphinx -------------------------------------------------------------------
# Each project's inventory is fetched from its site when it can be; where the build
# has no network (this project's CI) the small inventory committed in
# docs/inventories/ stands in, so the links resolve and the build warns either way
# about nothing (Sphinx logs a failed fetch with a working alternative as info).
_INVENTORIES = os.path.join(os.path.dirname(__file__), 'inventories')
_SITES = {
    'python': 'https://docs.python.org/3/',
    'torch': 'https://docs.pytorch.org/docs/stable/',
    'torchgeo': 'https://torchgeo.readthedocs.io/en/stable/',
    'kornia': 'https://kornia.readthedocs.io/en/stable/',
    'lightning': 'https://lightning.ai/docs/pytorch/stable/',
}
intersphinx_mapping = {
    name: (url, (None, os.path.join(_INVENTORIES, f'{name}.inv')))
    for name, url in _SITES.items()
}
intersphinx_timeout = 5  # seconds: an unreachable site costs little

# -- gallery: examples run on every build, on the CPU --------------------------------
sphinx_gallery_conf = {
    'examples_dirs': 'gallery',
    'gallery_dirs': 'gallery_auto',  # generated, ignored by git
    'filename_pattern': r'/plot_',  # every example runs
    'within_subsection_order': 'FileNameSortKey',
    'download_all_examples': False,
    'abort_on_example_error': True,
    'remove_config_comments': True,
    'show_memory': False,
    'show_api_usage': False,
    'reference_url': {'torchgeo_csia': None},
}
