"""Child process for a fault test: edit a trip on disk with no relay, report it, wait to be killed.

    python _offline_editor.py TRIP_FILE STOP_NAME
"""

import sys
import time
from pathlib import Path

from wayfarer.sync.local import LocalTrip
from wayfarer.trip import Person

path, name = Path(sys.argv[1]), sys.argv[2]
with LocalTrip.open(path) as local:
    local.trip.add_stop(name, 38.7139, -9.1335, cost=7.5, category="food")
    local.trip.post_user_message(f"I added {name}", Person("p-ben", "Ben"), ask_agent=False)
    print("saved", flush=True)  # reported only after the edit is on disk
    time.sleep(600)
