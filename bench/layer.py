"""SupportPilotLayer as `sam build` makes it, for cold-start measurements that must not depend on the `.pyc` files
a work tree happens to hold."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What cold starts and warm triage run under: `make bench` points this at .venv-lambda (the functions' runtime,
# python3.13, with the layers' packages) where that Python exists; else this interpreter.
_CONFIGURED_PYTHON = os.environ.get("SUPPORTPILOT_LAMBDA_PYTHON")
LAMBDA_PYTHON = _CONFIGURED_PYTHON or sys.executable


def lambda_python_description() -> str:
    version = subprocess.run(
        [LAMBDA_PYTHON, "-c", "import platform; print(platform.python_version())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not _CONFIGURED_PYTHON:
        return f"Python {version}, the bench's own (no .venv-lambda: `make bench` builds it where python3.13 runs)"
    return f"Python {version} with the layers' packages only (.venv-lambda), as Lambda runs the functions"


def build_layer(artifacts: Path) -> Path:
    """SupportPilotLayer built by shared/Makefile into `artifacts`, compiled by LAMBDA_PYTHON; its `python`
    directory (what Lambda puts on the path)."""
    subprocess.run(
        ["make", "--quiet", "-C", str(ROOT / "shared"), "build-SupportPilotLayer"],
        check=True,
        env=os.environ | {"ARTIFACTS_DIR": str(artifacts), "PYTHON_RUNTIME": LAMBDA_PYTHON},
    )
    return artifacts / "python"


def layer_environment(layer: Path) -> dict[str, str]:
    """A cold-start child's environment: the package from `layer` (its own .pyc), none written."""
    return os.environ | {"PYTHONPATH": str(layer), "PYTHONDONTWRITEBYTECODE": "1"}
