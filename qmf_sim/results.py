"""Transitional: the writers moved to :mod:`qmf_sim.io` (removed once every caller uses it)."""
from qmf_sim.io import clean as _clean, save_figure, write_json  # noqa: F401
