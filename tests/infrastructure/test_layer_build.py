"""SupportPilotLayer as `sam build` makes it (template.yaml: BuildMethod makefile, shared/Makefile): the package
with its data files and bytecode that Lambda's read-only file system can use as it is."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.infrastructure.test_template import GLOBALS, RESOURCES

LAYER = RESOURCES["SupportPilotLayer"]


@pytest.fixture(scope="module")
def built_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    artifacts = tmp_path_factory.mktemp("SupportPilotLayer")
    subprocess.run(
        ["make", "--quiet", "-C", str(PROJECT_ROOT / LAYER["Properties"]["ContentUri"]), "build-SupportPilotLayer"],
        check=True,
        env=os.environ | {"ARTIFACTS_DIR": str(artifacts), "PYTHON_RUNTIME": sys.executable},
    )
    return artifacts / "python"


def test_the_layer_is_built_by_the_makefile_with_the_functions_runtime():
    assert LAYER["Metadata"]["BuildMethod"] == "makefile"
    makefile = (PROJECT_ROOT / LAYER["Properties"]["ContentUri"] / "Makefile").read_text()
    assert f"PYTHON_RUNTIME ?= {GLOBALS['Runtime']}" in makefile  # bytecode is only read by the Python that made it


def test_the_layer_holds_every_module_compiled_and_the_default_model(built_layer):
    sources = sorted((PROJECT_ROOT / "shared").glob("supportpilot/**/*.py"))
    assert sources
    for source in sources:
        shipped = built_layer / source.relative_to(PROJECT_ROOT / "shared")
        compiled = shipped.parent / "__pycache__" / f"{shipped.stem}.{sys.implementation.cache_tag}.pyc"
        assert shipped.read_bytes() == source.read_bytes()
        assert compiled.is_file(), compiled
    model = PROJECT_ROOT / "shared/supportpilot/triage/models/default"
    for file in model.iterdir():
        assert (built_layer / file.relative_to(PROJECT_ROOT / "shared")).read_bytes() == file.read_bytes()


SERVE_THE_DEFAULT_MODEL = """
from supportpilot.triage import interface, linear_model
triager = interface.load_triager(interface.DEFAULT_MODEL_DIR)
print(linear_model.__file__, triager.name)
"""


def test_functions_import_the_layer_from_its_bytecode_without_compiling(built_layer, tmp_path):
    # Unchecked-hash bytecode is used as it is: a source changed after the build (here: broken) is not read.
    layer = shutil.copytree(built_layer, tmp_path / "python")
    source = layer / "supportpilot" / "triage" / "linear_model.py"
    source.write_text(source.read_text() + "\nthis is no longer python\n")
    assert _run_in(layer, SERVE_THE_DEFAULT_MODEL).split() == [str(source), "supportpilot-default"]


IMPORT_SERVED_MODULES = """
import json, re
from supportpilot import regex_store
from supportpilot.triage import interface
interface.load_triager(interface.DEFAULT_MODEL_DIR)
import supportpilot.connectors, supportpilot.learning.masking, supportpilot.mail.text, supportpilot.webhooks.social
stored = regex_store._stored_programs()
as_usual = {key: re.compile(*key) for key in stored}
print(json.dumps({
    "requested": len(regex_store.requested),
    "not stored": [pattern for pattern, flags in regex_store.requested if (pattern, flags) not in stored],
    "differ": [key[0] for key, usual in as_usual.items() if regex_store.compiled(*key) != usual],
}))
"""


def test_the_layer_stores_the_compiled_regular_expressions_of_its_modules(built_layer):
    served = json.loads(_run_in(built_layer, IMPORT_SERVED_MODULES))
    assert served["requested"] > 50
    assert served["not stored"] == []
    assert served["differ"] == []  # `_sre` compares flags and programs


def _run_in(layer: Path, code: str) -> str:
    """What `code` prints, run as a function would: the layer on the path, no bytecode written."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=os.environ | {"PYTHONPATH": str(layer), "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=layer,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
