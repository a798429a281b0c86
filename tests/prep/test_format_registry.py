"""One contact-format registry: the spec, the readers, the CLI and docs/contacts.md agree with it."""
from __future__ import annotations

import re
from pathlib import Path

from graphreg_zoo.cli.contacts import RawFormat
from graphreg_zoo.prep.contacts.calling import READERS
from graphreg_zoo.prep.contacts.formats import FORMATS, GRAPH_FORMATS, RAW_FORMATS
from graphreg_zoo.prep.contacts.matrices import MATRIX_READERS
from graphreg_zoo.prep.contacts.pairs import PAIRS_READERS
from graphreg_zoo.prep.spec import GraphSpec

DOCS = Path(__file__).resolve().parents[2] / "docs" / "contacts.md"


def test_every_format_but_npz_has_a_reader_and_whole_genome_ones_read_once():
    assert set(READERS) == set(FORMATS) - {"npz"}
    assert {n for n, f in FORMATS.items() if f.whole_genome and n != "npz"} == set(MATRIX_READERS) | set(PAIRS_READERS)


def test_the_spec_and_the_cli_take_their_choices_from_the_registry():
    assert [f.value for f in RawFormat] == list(RAW_FORMATS)
    for fmt in GRAPH_FORMATS:
        GraphSpec(format=fmt, path="x", call=fmt in RAW_FORMATS)  # accepted, with its own settings


def test_docs_contacts_table_lists_exactly_the_readable_formats():
    rows = [line for line in DOCS.read_text().splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])} - {"fmt"}
    assert documented == set(READERS)
