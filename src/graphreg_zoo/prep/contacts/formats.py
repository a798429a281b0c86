"""The contact formats graphreg_zoo reads: one registry.

The cell spec's `graph.format` choices, `call-contacts --format` and the table in docs/contacts.md (checked
by a test) all derive from `FORMATS`, so a format is added in one place.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContactFormat:
    """One contact format.

    Attributes:
        name: the `format:` value.
        raw: it holds raw contact counts, which the built-in caller (`call: true`) or `min_count` turns into
            edges; otherwise it holds called contacts (or, for npz, the graph itself).
        whole_genome: one file holds every chromosome (read once); otherwise a table per chromosome
            (a path template with `{chrom}`) or one table for a single chromosome.
        description: what the file is, for the docs and the CLI help.
    """

    name: str
    raw: bool
    whole_genome: bool
    description: str


FORMATS: dict[str, ContactFormat] = {f.name: f for f in (
    ContactFormat("hicdcplus", False, False, "HiCDCPlus significant pairs (headered, or the legacy 5 columns)"),
    ContactFormat("bedpe", False, False, "loops, with an optional count column that `min_count` filters"),
    ContactFormat("juicer_dump", True, False, "raw counts of one chromosome from juicer `dump observed NONE`"),
    ContactFormat("cool", True, True, "a cooler file of raw counts"),
    ContactFormat("mcool", True, True, "a multi-resolution cooler (`file.mcool::/resolutions/5000`)"),
    ContactFormat("hic", True, True, "a Juicer .hic file of raw counts (needs the `hic` extra)"),
    ContactFormat("pairs", True, True, "a 4DN .pairs file of contact reads (gz or not)"),
    ContactFormat("hicpro", True, True, "a HiC-Pro allValidPairs file of contact reads (gz or not)"),
    ContactFormat("npz", False, True, "precomputed edges: one (E, 2) array of 5 kb node pairs per chromosome"),
)}
#: the `format:` values a cell spec accepts
GRAPH_FORMATS = tuple(FORMATS)
#: the formats of raw counts (the built-in caller's input)
RAW_FORMATS = tuple(name for name, f in FORMATS.items() if f.raw)
