"""Experiments: measures, figures and benchmarks over the library.

They stand on top of the library (TorchGeo keeps its ``experiments/`` apart from its
package the same way): each reads data through the SPARCS dataset and datamodules and
runs the shipped networks and transforms; nothing in the library imports them.

.. versionadded:: 0.1
"""
