"""SupportPilotLayer as `sam build` makes it, for cold-start measurements that must not depend on the `.pyc` files
a work tree happens to hold."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_layer(artifacts: Path) -> Path:
    """SupportPilotLayer built by shared/Makefile into `artifacts`, compiled by this interpreter; its `python`
    directory (what Lambda puts on the path)."""
    subprocess.run(
        ["make", "--quiet", "-C", str(ROOT / "shared"), "build-SupportPilotLayer"],
        check=True,
        env=os.environ | {"ARTIFACTS_DIR": str(artifacts), "PYTHON_RUNTIME": sys.executable},
    )
    return artifacts / "python"
