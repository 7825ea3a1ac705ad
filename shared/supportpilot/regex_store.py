"""The package's regular expressions, compiled when the layer is built rather than on every cold start.

`re.compile` parses and compiles a pattern in pure Python before it hands the program to `_sre.compile`. The
package's patterns (names, sign-offs, quoted replies, emotional cues...) cost a cold start ~20 ms of Python 3.13
here. So modules ask `compiled` for their patterns, and `shared/Makefile` runs this module with the functions'
runtime over the built layer: it imports every module of the package and stores the program of each pattern asked
for in PROGRAMS_FILE. `compiled` gives a stored program straight to `_sre.compile`, which checks it.

A program is used only under the Python minor version and `_sre` program format that wrote it, as bytecode is.
Without the file (a source checkout), with another Python, or for a pattern not stored, `compiled` is `re.compile`.
"""

from __future__ import annotations

import _sre
import importlib
import marshal
import pkgutil
import re
import sys
from array import array
from functools import cache
from pathlib import Path
from re import _compiler, _parser  # type: ignore[attr-defined]  # what re.compile runs, program by program
from typing import Any

PROGRAMS_FILE = Path(__file__).with_name("regex_programs.marshal")
_FORMAT = (sys.implementation.cache_tag, _sre.MAGIC, _sre.CODESIZE, array("I").itemsize, sys.byteorder)
_CODE_TYPE = "I"  # SRE_CODE, unsigned, of CODESIZE bytes

# Every (pattern, flags) asked for in this process, in order: what the layer build stores.
requested: dict[tuple[str, int], None] = {}


def compiled(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """`re.compile(pattern, flags)`: from the program the layer build stored, when there is one for this Python."""
    key = (pattern, int(flags))
    requested[key] = None
    program = _stored_programs().get(key)
    if program is not None:
        flags_used, code, groups, group_index, index_group = program
        try:
            return _sre.compile(pattern, flags_used, array(_CODE_TYPE, code).tolist(), groups, group_index, index_group)
        except (RuntimeError, TypeError, ValueError):  # `_sre` refused the program: compile as usual
            pass
    return re.compile(pattern, flags)


@cache
def _stored_programs() -> dict[tuple[str, int], tuple[Any, ...]]:
    try:
        stored_format, programs = marshal.loads(PROGRAMS_FILE.read_bytes())  # noqa: S302 - written by the layer build
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    return programs if stored_format == _FORMAT else {}


def program(pattern: str, flags: int) -> tuple[Any, ...]:
    """The arguments after the pattern that `re.compile` passes to `_sre.compile` (re/_compiler.py `compile`), the
    code as bytes."""
    parsed = _parser.parse(pattern, flags)
    code = array(_CODE_TYPE, _compiler._code(parsed, flags)).tobytes()  # read without an int object per word
    group_index = parsed.state.groupdict
    index_group: list[str | None] = [None] * parsed.state.groups
    for name, index in group_index.items():
        index_group[index] = name
    return flags | parsed.state.flags, code, parsed.state.groups - 1, dict(group_index), tuple(index_group)


def store_programs(package: str = "supportpilot") -> tuple[int, dict[str, str]]:
    """Import every module of `package` and write the programs of the patterns they asked for: how many, and the
    modules not imported, each with the package it lacked."""
    root = importlib.import_module(package)
    skipped: dict[str, str] = {}
    for module in pkgutil.walk_packages(root.__path__, f"{package}."):
        try:
            importlib.import_module(module.name)
        except ModuleNotFoundError as error:
            # A module for a machine or another layer (training needs scikit-learn, the local runtime moto) that the
            # functions' runtime lacks here: its patterns compile at import, as without this file.
            if (error.name or "").partition(".")[0] == package:
                raise
            skipped[module.name] = str(error.name)
    programs = {key: program(*key) for key in requested}
    PROGRAMS_FILE.write_bytes(marshal.dumps((_FORMAT, programs)))
    return len(programs), skipped


if __name__ == "__main__":  # `python -m`: the modules record their patterns in the imported module, not in __main__
    from supportpilot import regex_store

    stored, skipped = regex_store.store_programs()
    lacking = sorted(set(skipped.values()))
    print(
        f"regex_store: {stored} programs in {regex_store.PROGRAMS_FILE}; {len(skipped)} modules not imported"
        + (f" (this Python lacks {', '.join(lacking)})" if lacking else "")
    )
