"""Bad contact inputs fail with InvalidInputError saying what, where and how to fix it."""
from __future__ import annotations

import gzip

import pytest

from graphreg_zoo.errors import InvalidInputError
from graphreg_zoo.prep.contacts.calling import build_graphs, call_table

SIZES = {"chr1": 1_000_000, "chr2": 500_000}
HEADER = "chrI\tstartI\tendI\tchrJ\tstartJ\tendJ\tD\tcounts\tpvalue\tqvalue\tmu\tsdev\n"


def row(i: int, j: int, q: float, chrom: str = "chr1") -> str:
    s1, s2 = i * 5000, j * 5000
    return f"{chrom}\t{s1}\t{s1 + 5000}\t{chrom}\t{s2}\t{s2 + 5000}\t{s2 - s1}\t5\t0.001\t{q}\t1.0\t1.0\n"


def write(path, text: str):
    path.write_text(text)
    return path


def test_all_pairs_above_fdr_is_an_empty_graph_error(tmp_path):
    path = write(tmp_path / "t.tsv", HEADER + row(1, 5, 0.5) + row(2, 9, 0.3))
    message = r"chr1.*graph is empty.*2 pairs read, 0 with q <= 0.1.*smallest q-value read is 0.3"
    with pytest.raises(InvalidInputError, match=message):
        build_graphs(path, "hicdcplus", SIZES, ["chr1"])


def test_only_diagonal_or_far_pairs_is_an_empty_graph_error(tmp_path):
    path = write(tmp_path / "t.tsv", HEADER + row(3, 3, 0.01) + row(0, 199, 0.01))
    with pytest.raises(InvalidInputError, match="graph is empty"):
        build_graphs(path, "hicdcplus", SIZES, ["chr1"], max_distance=500_000)


def test_headered_table_read_as_juicer_dump_names_the_header(tmp_path):
    path = write(tmp_path / "t.tsv", HEADER + row(1, 5, 0.01))
    with pytest.raises(InvalidInputError, match=r"not a juicer dump line.*header.*hicdcplus"):
        build_graphs(path, "juicer_dump", SIZES, ["chr1"], call=True)


def test_header_without_qvalue_column(tmp_path):
    no_q = "chrI\tstartI\tendI\tchrJ\tstartJ\tendJ\tD\tcounts\n"
    path = write(tmp_path / "t.tsv", no_q + "chr1\t0\t5000\tchr1\t5000\t10000\t5000\t3\n")
    with pytest.raises(InvalidInputError, match=r"header line lacks qvalue.*gi_list_write"):
        build_graphs(path, "hicdcplus", SIZES, ["chr1"])


def test_headerless_table_with_12_columns_asks_for_the_header(tmp_path):
    path = write(tmp_path / "t.tsv", row(1, 5, 0.01))
    with pytest.raises(InvalidInputError, match=r"headerless.*5 columns.*has 12.*add the header line"):
        build_graphs(path, "hicdcplus", SIZES, ["chr1"])


def test_absent_chromosome_is_named(tmp_path):
    path = write(tmp_path / "t.tsv", HEADER + row(1, 5, 0.01))
    with pytest.raises(InvalidInputError, match=r"chr2.*absent"):
        build_graphs(path, "hicdcplus", SIZES, ["chr1", "chr2"])


def test_chromosome_missing_from_chrom_sizes(tmp_path):
    path = write(tmp_path / "t.tsv", HEADER + row(1, 5, 0.01))
    with pytest.raises(InvalidInputError, match="chrom_sizes lacks chr7"):
        build_graphs(path, "hicdcplus", SIZES, ["chr7"])


def test_pairs_beyond_the_chromosome_mean_another_assembly(tmp_path):
    path = write(tmp_path / "t.tsv", HEADER + row(150, 160, 0.01))
    want = r"chr1 has contacts at 800,000 bp, past its end in the spec \(500,000 bp\).*different genome builds"
    with pytest.raises(InvalidInputError, match=want):
        build_graphs(path, "hicdcplus", {"chr1": 500_000}, ["chr1"])


def test_coarser_text_table_is_refused(tmp_path):
    rows = (f"chr1\t{i * 10_000}\t{(i + 1) * 10_000}\tchr1\t{(i + 2) * 10_000}\t{(i + 3) * 10_000}\t20000\t5\t0.001"
            "\t0.01\t1\t1\n" for i in range(40))
    path = write(tmp_path / "t.tsv", HEADER + "".join(rows))
    with pytest.raises(InvalidInputError, match=r"bins are 10,000 bp, coarser than the 5,000 bp graph"):
        build_graphs(path, "hicdcplus", SIZES, ["chr1"])


def test_juicer_dump_coarser_is_refused(tmp_path):
    path = tmp_path / "dump.txt.gz"
    with gzip.open(path, "wt") as fh:
        fh.writelines(f"{i * 25_000}\t{(i + 1) * 25_000}\t3\n" for i in range(30))
    with pytest.raises(InvalidInputError, match="25,000 bp, coarser"):
        build_graphs(path, "juicer_dump", SIZES, ["chr1"], call=True)


@pytest.mark.parametrize(
    ("lines", "fmt", "message"),
    [
        (HEADER + row(1, 5, 0.01) + "chr1\t10000\t15000\tchr1\tabc\t20000\t5000\t5\t0.1\t0.01\t1\t1\n",
         "hicdcplus", r"line 3: field 5 'abc' is not an integer"),
        (HEADER + row(1, 5, 0.01) + "# a comment\n" + "chr1\t10000\t15000\n",
         "hicdcplus", r"line 4: 3 fields, expected 12"),
        ("100\t200\t3\n5000\t10000\n", "juicer_dump", r"line 2: 2 fields, expected 3"),
        ("chr1\t0\t5000\tchr1\t10000\t15000\nchr1\t0\tx\tchr1\t1\t2\n", "bedpe", r"line 2: field 3 'x' is not an integer"),
    ],
)
def test_malformed_lines_are_reported_with_their_number(tmp_path, lines, fmt, message):
    path = write(tmp_path / "bad.txt", lines)
    with pytest.raises(InvalidInputError, match=message):
        build_graphs(path, fmt, SIZES, ["chr1"], call=fmt == "juicer_dump")


def test_raw_counts_need_a_threshold_rule(tmp_path):
    path = write(tmp_path / "dump.txt", "0\t10000\t3\n5000\t10000\t2\n")
    with pytest.raises(InvalidInputError, match=r"raw counts.*call=True.*min_count"):
        build_graphs(path, "juicer_dump", SIZES, ["chr1"])
    graph = build_graphs(path, "juicer_dump", SIZES, ["chr1"], min_count=3)["chr1"]
    assert graph.nnz == 2 and graph[0, 2] == 1.0


def test_one_juicer_dump_for_two_chromosomes_asks_for_a_template(tmp_path):
    path = write(tmp_path / "dump.txt", "0\t10000\t3\n")
    with pytest.raises(InvalidInputError, match=r"one chromosome.*\{chrom\}"):
        build_graphs(path, "juicer_dump", SIZES, ["chr1", "chr2"], min_count=1)


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(InvalidInputError, match="unknown contact format 'xlsx'"):
        build_graphs(tmp_path / "x", "xlsx", SIZES, ["chr1"])
    with pytest.raises(InvalidInputError, match="does not exist"):
        build_graphs(tmp_path / "missing.tsv", "hicdcplus", SIZES, ["chr1"])


def test_call_table_refuses_called_formats(tmp_path):
    with pytest.raises(InvalidInputError, match="needs raw counts"):
        call_table(tmp_path / "t.tsv", "hicdcplus", ["chr1"])


def test_cool_from_another_build_is_refused(realdata):
    cool = realdata / "hg38_K562_chr22" / "hic" / "K562_chr22_5kb_raw.DERIVED.cool"
    with pytest.raises(InvalidInputError, match=r"chr22 has length 50,818,468 but chr22 .* is 51,304,566.*hg38"):
        build_graphs(cool, "cool", {"chr22": 51_304_566}, ["chr22"], call=True)  # hg19 length


@pytest.mark.parametrize("one_based", [False, True])
def test_a_coarse_hicdcplus_table_with_few_starts_is_refused(tmp_path, one_based):
    """Three 50 kb pairs are too few starts for a gcd: the table's own start/end columns say 50 kb."""
    b = int(one_based)
    rows = [(0, 100_000), (100_000, 300_000), (200_000, 250_000)]
    text = HEADER + "".join(f"chr1\t{s1 + b}\t{s1 + 50_000}\tchr1\t{s2 + b}\t{s2 + 50_000}\t{s2 - s1}\t9\t0.001\t0.01\t1\t1\n"
                            for s1, s2 in rows)
    with pytest.raises(InvalidInputError, match=r"bins are 50,000 bp, coarser than the 5,000 bp graph"):
        build_graphs(write(tmp_path / "t.tsv", text), "hicdcplus", SIZES, ["chr1"])


def test_a_fine_hicdcplus_table_keeps_its_pairs(tmp_path):
    text = HEADER + "chr1\t5001\t10000\tchr1\t15001\t20000\t10000\t9\t0.001\t0.01\t1\t1\n"
    graph = build_graphs(write(tmp_path / "t.tsv", text), "hicdcplus", SIZES, ["chr1"])["chr1"]
    assert set(zip(*graph.nonzero())) == {(1, 3), (3, 1)}
