"""qmf_sim: simulations, training, experiments and the ``qmf`` command line.

``__version__`` is the one version string of the distribution (its home: :mod:`qmf_sym`).
"""


def __getattr__(name):  # PEP 562: lazily, like qmf_sym.__version__
    if name == "__version__":
        import qmf_sym

        return qmf_sym.__version__
    raise AttributeError(f"module 'qmf_sim' has no attribute {name!r}")
