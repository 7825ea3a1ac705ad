"""Stored regular expression programs (supportpilot/regex_store.py): the same patterns as `re.compile`'s, and
`re.compile` itself whenever a stored program cannot be used."""

import marshal
import re

import pytest

from supportpilot import regex_store

PATTERNS = [
    (r"(?P<greeting>beste|dear)\s+(\w+)", re.IGNORECASE),
    (r"[^\W\d_]+(?:'[^\W_]+)*", 0),
    (r"(?m)^>.*$", 0),
]


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A programs file of PATTERNS in a temporary place, read afresh by `compiled`."""
    programs_file = tmp_path / "regex_programs.marshal"
    monkeypatch.setattr(regex_store, "PROGRAMS_FILE", programs_file)
    regex_store._stored_programs.cache_clear()

    def write(stored_format=regex_store._FORMAT, programs=None):
        if programs is None:
            programs = {(pattern, int(flags)): regex_store.program(pattern, int(flags)) for pattern, flags in PATTERNS}
        programs_file.write_bytes(marshal.dumps((stored_format, programs)))
        regex_store._stored_programs.cache_clear()

    yield write
    regex_store._stored_programs.cache_clear()


def test_a_stored_program_gives_the_pattern_re_compile_gives(store):
    store()
    for pattern, flags in PATTERNS:
        assert regex_store._stored_programs()[(pattern, int(flags))]
        stored = regex_store.compiled(pattern, flags)
        assert stored == re.compile(pattern, flags)  # same pattern, flags and program, compared by `_sre`
        assert stored.groupindex == re.compile(pattern, flags).groupindex
    match = regex_store.compiled(*PATTERNS[0]).search("Hallo. Beste Anna, waar blijft mijn pakket?")
    assert match and match.group("greeting", 2) == ("Beste", "Anna")


@pytest.mark.parametrize(
    "written",
    [
        pytest.param(lambda path: path.write_bytes(b"not marshal at all"), id="unreadable file"),
        pytest.param(lambda path: path.write_bytes(marshal.dumps(["no", "pair"])), id="not a pair"),
    ],
)
def test_an_unreadable_file_compiles_as_usual(store, written):
    written(regex_store.PROGRAMS_FILE)
    pattern, flags = PATTERNS[0]
    assert regex_store._stored_programs() == {}
    assert regex_store.compiled(pattern, flags) == re.compile(pattern, flags)


def test_programs_of_another_python_are_not_used(store, monkeypatch):
    store(stored_format=("cpython-99", 0, 4, 4, "little"))
    assert regex_store._stored_programs() == {}
    pattern, flags = PATTERNS[1]
    assert regex_store.compiled(pattern, flags).findall("it's één test") == ["it's", "één", "test"]


def test_a_program_sre_refuses_compiles_as_usual(store):
    pattern, flags = PATTERNS[2]
    flags_used, _, groups, group_index, index_group = regex_store.program(pattern, flags)
    store(programs={(pattern, flags): (flags_used, b"\xff\xff\xff\xff" * 3, groups, group_index, index_group)})
    assert regex_store.compiled(pattern, flags).findall("> quoted\nnew\n> again") == ["> quoted", "> again"]


def test_without_a_file_every_pattern_compiles_as_usual(store):
    assert not regex_store.PROGRAMS_FILE.exists()
    for pattern, flags in PATTERNS:
        assert regex_store.compiled(pattern, flags) == re.compile(pattern, flags)


def test_the_build_stores_what_the_modules_ask_for_and_names_what_it_could_not_import(store, tmp_path, monkeypatch):
    package = tmp_path / "fakedesk"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "greetings.py").write_text(
        "from supportpilot.regex_store import compiled\nGREETING = compiled(r'(?i)\\b(?:beste|dear)\\b')\n"
    )
    (package / "training.py").write_text("import sklearn_not_installed_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(regex_store, "requested", {})

    stored, skipped = regex_store.store_programs("fakedesk")

    assert (stored, skipped) == (1, {"fakedesk.training": "sklearn_not_installed_here"})
    regex_store._stored_programs.cache_clear()
    assert regex_store.compiled(r"(?i)\b(?:beste|dear)\b") == re.compile(r"(?i)\b(?:beste|dear)\b")
    assert list(regex_store._stored_programs()) == [(r"(?i)\b(?:beste|dear)\b", 0)]

    (package / "broken.py").write_text("import fakedesk.missing_module\n")
    with pytest.raises(ModuleNotFoundError, match=r"fakedesk\.missing_module"):
        regex_store.store_programs("fakedesk")
