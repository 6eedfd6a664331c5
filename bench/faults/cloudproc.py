"""The Google Cloud stand-in in a process of its own for the load benchmark (the clouds are
not on the bot's machine; in the benchmark's process they would hold its GIL).

    python -m bench.faults.cloudproc PROJECTS DELAY
prints one JSON line (endpoints and a service-account key that can read projects
``load-0`` … ``load-<PROJECTS-1>``), then serves until terminated; every Compute call is
answered after DELAY seconds, so scans overlap.
"""

from __future__ import annotations

import json
import sys
import time

from bot.playground.gcp import GcpStandIn


def main() -> None:
    """Serve until terminated."""
    projects, delay = int(sys.argv[1]), float(sys.argv[2])
    google = GcpStandIn(key_size=1024)
    google.start()
    key = google.add_service_account("load-0")
    for i in range(1, projects):
        google.grant_project(key["client_email"], f"load-{i}")
    google.hang(delay, path_prefix="/compute/")
    print(
        json.dumps(
            {
                "key": key,
                "CSPM_GCP_TOKEN_URI": google.token_uri,
                "CSPM_GCP_API_BASE": google.api_base,
                "CSPM_GCP_COMPUTE_BASE": google.compute_base,
                "CSPM_GCP_STORAGE_BASE": google.storage_base,
            }
        ),
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
