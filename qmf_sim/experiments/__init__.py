"""Each figure and table of the papers as a function a notebook can call (run, analyse, plot).

The registry of ``qmf reproduce`` parts will live here (issue 8); during the move the parts are
still collected from the ``qmf_sim.cli`` plugins.
"""
