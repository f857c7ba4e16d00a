"""``python -m qmf_sim.cli``: the same as the ``qmf`` console script."""
import sys

from qmf_sim.cli import main

sys.exit(main())
