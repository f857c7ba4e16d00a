import sys

from qmf_sim.cli import main

sys.exit(main())
