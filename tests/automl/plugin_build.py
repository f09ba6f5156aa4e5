"""Build the example mixer package (tests/automl/plugin_package) into a wheel and install it into
a folder, as a user's `pip install` would, without touching the test environment itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent / "plugin_package"


def install_plugin(work: Path) -> Path:
    """The folder the package is installed into (put it on sys.path or PYTHONPATH)."""
    wheels, site = work / "wheels", work / "site"
    # No build isolation: it would fetch setuptools from an index; the test environment has it.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(PACKAGE)], check=True, capture_output=True)
    (wheel,) = wheels.glob("augurdb_torch_ridge-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(site), str(wheel)], check=True, capture_output=True)
    return site
