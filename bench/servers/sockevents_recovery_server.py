"""The flask_sockevents benchmark server with connection state recovery on.

``sockevents_server.py`` with ``connection_state_recovery=True``: every
broadcast is also kept in the recovery log and carries its offset. Until
flask_sockevents has the option, this server exits at start, saying so, and
the benchmark skips it with that reason.
"""

import os
import runpy
from pathlib import Path

os.environ["BENCH_CONNECTION_STATE_RECOVERY"] = "1"
runpy.run_path(str(Path(__file__).with_name("sockevents_server.py")), run_name="__main__")
