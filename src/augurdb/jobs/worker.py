"""`python -m augurdb.jobs.worker DATA_DIR MODEL_ID`: train one model version, then exit."""

from __future__ import annotations

import logging
import sys

from augurdb.jobs.training import run_worker

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    run_worker(sys.argv[1], int(sys.argv[2]))
