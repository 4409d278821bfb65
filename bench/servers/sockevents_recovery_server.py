"""The flask_sockevents benchmark server with connection state recovery on.

``sockevents_server.py`` with ``connection_state_recovery=True``: every
broadcast is also kept in the recovery log (the in-memory store) and
carries its offset.
"""

import os
import runpy
from pathlib import Path

os.environ["BENCH_CONNECTION_STATE_RECOVERY"] = "1"
runpy.run_path(str(Path(__file__).with_name("sockevents_server.py")), run_name="__main__")
