"""qmf_sim: simulations, training, experiments and the ``qmf`` command line.

``__version__`` is the one version string of the distribution (its home: :mod:`qmf_sym`).
"""
from qmf_sym import __version__

__all__ = ["__version__"]
