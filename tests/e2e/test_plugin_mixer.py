"""A user's own mixer through the server: an installed package's entry point, named in Lightwood's
model.args with its args, trained by the worker, served by the server, and again after a restart."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.automl.plugin_build import install_plugin
from tests.conftest import start_server
from tests.e2e.helpers import assert_complete, query, upload, wait_for_model

USING = ('model.args = \'{"submodels": [{"module": "TorchRidge", "args": {"l2": 0.01}}, {"module": "LightGBM"}]}\', '
         "time_budget = 20")  # TorchRidge has a tenth of it: 12 s left it too little on a busy machine
ROW = "sqft = 900 AND number_of_rooms = 2 AND number_of_bathrooms = 1 AND location = 'good' " \
      "AND days_on_market = 10 AND initial_price = 3000 AND neighborhood = 'downtown'"


def test_an_installed_mixer_trains_and_serves_through_the_server(tmp_path: Path, shared_data: Path) -> None:
    site = install_plugin(tmp_path / "plugin")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    server = start_server(tmp_path / "data", env=env)
    try:
        upload(server, "rentals", shared_data / "home_rentals" / "home_rentals.csv")
        query(server, f"CREATE MODEL mindsdb.ridge_rent FROM files (SELECT * FROM rentals) PREDICT rental_price "
                      f"USING {USING}")
        assert_complete(wait_for_model(server, "ridge_rent"))
        mixers = {row["name"]: row for row in query(server, "DESCRIBE mindsdb.ridge_rent.model")}
        assert set(mixers) == {"TorchRidge", "LightGBM"}
        assert mixers["TorchRidge"]["status"] == "trained" and mixers["TorchRidge"]["performance"] > 0.9
        assert json.loads(mixers["TorchRidge"]["settings"])["l2"] == 0.01
        before = query(server, f"SELECT rental_price FROM mindsdb.ridge_rent WHERE {ROW}")[0]["rental_price"]
        assert 1000 < before < 6000
    finally:
        server.stop()
    restarted = start_server(tmp_path / "data", env=env)
    try:
        after = query(restarted, f"SELECT rental_price FROM mindsdb.ridge_rent WHERE {ROW}")[0]["rental_price"]
        assert after == before
    finally:
        restarted.stop()
