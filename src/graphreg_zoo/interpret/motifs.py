"""TF motifs: read PFMs, build log-odds PWMs, exact p-values, and a fast two-strand scanner.

Motifs come from a JASPAR-format file (`>ID NAME` + four `A [ ... ]` rows), a MEME-format
file (`letter-probability matrix`, counts = probabilities x nsites), or the optional `pyjaspar`
package. A `Motif` keeps the count matrix (L, 4) in A, C, G, T order.

Scoring (FIMO-like): probabilities p = (counts + c * bg) / (n + c) with a total pseudocount c
spread by the background bg, log-odds in bits log2(p / bg), discretised to 1/SCALE bit. The
p-value of a score s is P(S >= s) for a background i.i.d. sequence; it is exact for the
discretised PWM: the score distribution is built column by column by dynamic programming.

Scanning (both strands; the minus strand scores the reverse-complement matrix on the plus
strand, reported in plus-strand coordinates like FIMO): every position's 8-mer is read as an
integer, and a 65,536-entry table per motif says whether 8 of its columns can still reach the
p-value threshold (its most selective 8-column window scores at least the threshold minus the
best possible rest). 64 oriented motifs share one uint64 table, so one gather filters 64 of them
at once; the surviving positions are scored exactly, four columns per lookup, most informative
first, dropping a position as soon as it cannot reach the threshold. Windows containing N never
hit. Scan times of the full JASPAR vertebrate set: docs/performance.md (benchmarks/motifs.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from ..errors import InvalidInputError, NotAvailableError

if TYPE_CHECKING:
    import pandas as pd

SCALE = 100  # integer score units per bit (p-value resolution 0.01 bit)
PSEUDOCOUNT = 0.8  # total pseudocount per column, spread by the background
UNIFORM = (0.25, 0.25, 0.25, 0.25)
HIT_COLUMNS = ["chrom", "start", "end", "motif", "score", "pvalue", "strand", "matrix_id"]
_K = 8  # k-mer width of the prefilter tables
_BLOCK = 1 << 22  # positions scanned per block
_CODES = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _CODES[ord(_b)] = _CODES[ord(_b.lower())] = _i


@dataclass(frozen=True, eq=False)
class Motif:
    """A position frequency matrix: `pfm` is (L, 4) counts (or probabilities) for A, C, G, T."""

    name: str
    matrix_id: str
    pfm: np.ndarray

    def __post_init__(self) -> None:
        pfm = np.asarray(self.pfm, dtype=np.float64)
        if pfm.ndim != 2 or pfm.shape[1] != 4 or len(pfm) == 0 or (pfm < 0).any() or (pfm.sum(1) <= 0).any():
            raise InvalidInputError(
                f"motif {self.matrix_id} {self.name}: the PFM must be (L, 4) non-negative counts with "
                f"positive row sums, got shape {pfm.shape}"
            )
        object.__setattr__(self, "pfm", pfm)

    @property
    def length(self) -> int:
        return len(self.pfm)

    def probabilities(self, pseudocount: float = PSEUDOCOUNT, background: Sequence[float] = UNIFORM) -> np.ndarray:
        """Per-column letter probabilities with `pseudocount` spread by `background`."""
        bg = _background(background)
        return (self.pfm + pseudocount * bg) / (self.pfm.sum(1, keepdims=True) + pseudocount)

    def log_odds(self, pseudocount: float = PSEUDOCOUNT, background: Sequence[float] = UNIFORM) -> np.ndarray:
        """The PWM: log2(probability / background), shape (L, 4)."""
        return np.log2(self.probabilities(pseudocount, background) / _background(background))

    def reverse_complement(self) -> "Motif":
        """The same motif read on the minus strand."""
        return Motif(self.name, self.matrix_id, self.pfm[::-1, ::-1].copy())


def _background(background: Sequence[float]) -> np.ndarray:
    bg = np.asarray(background, dtype=np.float64)
    if bg.shape != (4,) or (bg <= 0).any():
        raise InvalidInputError(f"background must be 4 positive A, C, G, T frequencies, got {background!r}")
    return bg / bg.sum()


# ----------------------------------------------------------------------------------- reading


def read_motifs(path: str | Path, format: str | None = None) -> list[Motif]:
    """Read every motif of a JASPAR (`.jaspar`) or MEME (`.meme`) file; `format` is sniffed if None."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"motif file {path} does not exist")
    text = path.read_text()
    fmt = format or ("meme" if text.lstrip().startswith("MEME version") else "jaspar")
    if fmt not in ("meme", "jaspar"):
        raise InvalidInputError(f"unknown motif format {format!r}; use 'jaspar' or 'meme'")
    motifs = _parse_meme(text) if fmt == "meme" else _parse_jaspar(text)
    if not motifs:
        raise InvalidInputError(f"{path}: no {fmt.upper()} motifs found; is this a motif file?")
    return motifs


def _parse_jaspar(text: str) -> list[Motif]:
    motifs = []
    for block in re.split(r"^>", text, flags=re.M)[1:]:
        lines = [ln for ln in block.splitlines() if ln.strip()]
        header = lines[0].split(None, 1)
        rows = {}
        for k, line in enumerate(lines[1:5]):
            letter = line.strip()[0].upper()
            named = letter in "ACGT"
            rows[letter if named else "ACGT"[k]] = [float(x) for x in re.findall(r"[-+\d.eE]+", line[int(named) :])]
        if sorted(rows) != list("ACGT") or len({len(r) for r in rows.values()}) != 1:
            raise InvalidInputError(f"JASPAR motif {header[0]}: expected four equal-length A/C/G/T rows")
        name = header[1].strip() if len(header) > 1 else header[0]
        motifs.append(Motif(name, header[0], np.array([rows[b] for b in "ACGT"]).T))
    return motifs


def _parse_meme(text: str) -> list[Motif]:
    motifs = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("MOTIF"):
            continue
        words = line.split()
        j = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("letter-probability")), None)
        if j is None:
            raise InvalidInputError(f"MEME motif {words[1:2]}: no `letter-probability matrix` line follows it")
        info = dict(re.findall(r"(\w+)=\s*(\S+)", lines[j]))
        width, nsites = int(info["w"]), float(info.get("nsites", 20))
        probs = np.array([[float(x) for x in row.split()] for row in lines[j + 1 : j + 1 + width]])
        name = words[2] if len(words) > 2 else words[1]
        motifs.append(Motif(name, words[1], probs * nsites))
    return motifs


def from_pyjaspar(
    release: str = "JASPAR2024", collection: str = "CORE", tax_group: str = "vertebrates"
) -> list[Motif]:
    """Latest-version motifs of a JASPAR release through the optional `pyjaspar` package."""
    try:
        from pyjaspar import jaspardb
    except ImportError as exc:
        raise NotAvailableError(
            "pyjaspar is not installed: `pip install pyjaspar`, or pass a JASPAR/MEME motif file"
        ) from exc
    found = jaspardb(release=release).fetch_motifs(collection=collection, tax_group=[tax_group], all_versions=False)
    return [Motif(m.name, m.matrix_id, np.column_stack([m.counts[b] for b in "ACGT"])) for m in found]


def write_jaspar(motifs: Iterable[Motif], path: str | Path) -> None:
    """Write motifs as a JASPAR-format file (counts, two decimals)."""
    out = []
    for m in motifs:
        out.append(f">{m.matrix_id} {m.name}")
        out += [f"{b} [ " + " ".join(f"{v:7.2f}" for v in m.pfm[:, k]) + " ]" for k, b in enumerate("ACGT")]
    Path(path).write_text("\n".join(out) + "\n")


# ----------------------------------------------------------------------------------- p-values


@dataclass(frozen=True, eq=False)
class ScoreModel:
    """One oriented motif, discretised: integer PWM, score tail P(S >= s) and the hit threshold."""

    motif: Motif
    strand: str
    pwm: np.ndarray  # (L, 4) int64, 1/SCALE bits
    min_score: int
    tail: np.ndarray  # tail[s - min_score] = P(S >= s)
    threshold: int  # smallest score with P(S >= s) <= pvalue (max_score + 1 if none)

    def pvalue(self, scores: np.ndarray) -> np.ndarray:
        """Exact p-values of integer scores."""
        idx = np.clip(np.asarray(scores) - self.min_score, 0, len(self.tail) - 1)
        return self.tail[idx]


def score_model(
    motif: Motif,
    pvalue: float = 1e-4,
    *,
    strand: str = "+",
    pseudocount: float = PSEUDOCOUNT,
    background: Sequence[float] = UNIFORM,
) -> ScoreModel:
    """Discretise `motif` (reverse-complemented for strand '-') and its exact score distribution."""
    bg = _background(background)
    oriented = motif.reverse_complement() if strand == "-" else motif
    pwm = np.rint(oriented.log_odds(pseudocount, bg) * SCALE).astype(np.int64)
    min_score, pmf = score_distribution(pwm, bg)
    tail = np.cumsum(pmf[::-1])[::-1]
    ok = np.flatnonzero(tail <= pvalue)
    threshold = min_score + (int(ok[0]) if len(ok) else len(tail))
    return ScoreModel(motif, strand, pwm, min_score, tail, threshold)


def score_distribution(pwm: np.ndarray, background: Sequence[float] = UNIFORM) -> tuple[int, np.ndarray]:
    """(min score, pmf) of the integer PWM's total score under an i.i.d. background."""
    bg = _background(background)
    mins = pwm.min(1)
    shifted = pwm - mins[:, None]
    pmf = np.ones(1)
    for row in shifted:
        new = np.zeros(len(pmf) + row.max())
        for b in range(4):
            new[row[b] : row[b] + len(pmf)] += bg[b] * pmf
        pmf = new
    return int(mins.sum()), pmf


# ----------------------------------------------------------------------------------- scanning


@dataclass(frozen=True, eq=False)
class _Filter:
    model: ScoreModel
    offset: int  # first motif column covered by the 8-mer
    table: np.ndarray  # bool (4**_K,): this 8-mer may start a hit at position - offset
    chunk_starts: np.ndarray  # 4-column chunks, most informative first
    chunk_tables: list[np.ndarray]  # int64 (256,): score of each chunk's 4-mer
    slack: np.ndarray  # after chunk k, a hit needs partial score >= slack[k]


_DIGITS4 = (np.arange(256)[:, None] >> (2 * np.arange(3, -1, -1))) & 3  # the 4 bases of each 4-mer


def _table4(cols: np.ndarray) -> np.ndarray:
    """Score of the first len(cols) <= 4 columns for every 4-mer (later bases ignored)."""
    return sum((cols[j][_DIGITS4[:, j]] for j in range(len(cols))), np.zeros(256, dtype=np.int64))


def _prefilter(model: ScoreModel) -> _Filter:
    """Choose the 8-column window that lets the fewest background 8-mers through."""
    pwm, bg = model.pwm, np.full(4, 0.25)  # the choice only affects speed, never the hits
    length = len(pwm)
    best = None
    for off in range(max(1, length - _K + 1)):
        cols = pwm[off : off + _K]
        rest = pwm.max(1).sum() - cols.max(1).sum()
        low, pmf = score_distribution(cols, bg)
        need = model.threshold - rest - low
        passing = pmf[max(need, 0) :].sum() if need < len(pmf) else 0.0
        if best is None or passing < best[0]:
            best = (passing, off, model.threshold - rest)
    _, off, need = best
    chunk = _table4(pwm[off : off + 4])[:, None] + _table4(pwm[off + 4 : off + _K])[None, :]
    starts = np.arange(0, length, 4)
    tables = [_table4(pwm[c : c + 4]) for c in starts]
    order = np.argsort([-(t.max() - t.mean()) for t in tables], kind="stable")
    best_next = np.array([tables[k].max() for k in order])
    rest = np.concatenate([np.cumsum(best_next[::-1])[::-1][1:], [0]])
    slack = model.threshold - rest
    return _Filter(model, off, chunk.ravel() >= need, starts[order], [tables[k] for k in order], slack)


def _encode(sequence: str | bytes | np.ndarray) -> np.ndarray:
    """uint8 codes A=0 C=1 G=2 T=3, N/other=4, from text or an (n, 4) one-hot array."""
    if isinstance(sequence, str):
        sequence = sequence.encode()
    if isinstance(sequence, (bytes, bytearray)):
        return _CODES[np.frombuffer(sequence, dtype=np.uint8)]
    arr = np.asarray(sequence)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise InvalidInputError(f"sequence must be text or a (length, 4) one-hot array, got shape {arr.shape}")
    codes = arr.argmax(1).astype(np.uint8)
    codes[(arr == 1).sum(1) != 1] = 4
    return codes


class Scanner:
    """Scan sequences for a fixed motif set at a fixed p-value (reuse one scanner: building its tables costs
    time per motif)."""

    def __init__(
        self,
        motifs: Sequence[Motif],
        pvalue: float = 1e-4,
        *,
        both_strands: bool = True,
        pseudocount: float = PSEUDOCOUNT,
        background: Sequence[float] = UNIFORM,
    ) -> None:
        if not 0 < pvalue < 1:
            raise InvalidInputError(f"pvalue must be in (0, 1), got {pvalue}")
        strands = ("+", "-") if both_strands else ("+",)
        filters = [
            _prefilter(score_model(m, pvalue, strand=s, pseudocount=pseudocount, background=background))
            for m in motifs
            for s in strands
        ]
        filters.sort(key=lambda f: f.table.mean())
        self.groups = []
        for g in range(0, len(filters), 64):
            members = filters[g : g + 64]
            table = np.zeros(4**_K, dtype=np.uint64)
            for bit, f in enumerate(members):
                table |= f.table.astype(np.uint64) << np.uint64(bit)
            self.groups.append((table, members))
        self.max_length = max((m.length for m in motifs), default=1)

    def scan(self, sequence: str | bytes | np.ndarray, chrom: str = "seq", start: int = 0) -> "pd.DataFrame":
        """Hits in `sequence` (which starts at `start` on `chrom`), sorted by position."""
        import pandas as pd

        codes = _encode(sequence)
        overlap = self.max_length + _K
        parts = [
            pd.DataFrame(self._scan_block(codes[b : b + _BLOCK + overlap], b, min(_BLOCK, len(codes) - b)))
            for b in range(0, len(codes), _BLOCK)
        ]
        parts = [p for p in parts if len(p)]
        if not parts:
            dtypes = [object, np.int64, np.int64, object, float, float, object, object]
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(HIT_COLUMNS, dtypes)})
        hits = pd.concat(parts, ignore_index=True)
        hits["start"] += start
        hits["end"] += start
        hits.insert(0, "chrom", chrom)
        order = ["start", "motif", "matrix_id", "strand"]
        return hits.sort_values(order, kind="stable", ignore_index=True)[HIT_COLUMNS]

    def _scan_block(self, codes: np.ndarray, origin: int, owned: int) -> dict[str, list]:
        n = len(codes)
        padded = np.concatenate([codes, np.full(_K, 4, dtype=np.uint8)])
        two_bit = (padded & 3).astype(np.int32)
        kmers = np.zeros(n, dtype=np.int32)
        for j in range(_K):
            kmers = (kmers << 2) | two_bit[j : j + n]
        n_count = np.concatenate([[0], np.cumsum(codes == 4, dtype=np.int32)])
        out: dict[str, list] = {k: [] for k in ("start", "end", "motif", "score", "pvalue", "strand", "matrix_id")}
        for table, members in self.groups:
            words = table[kmers]
            where = np.flatnonzero(words)
            if not len(where):
                continue
            found = words[where]
            for bit, f in enumerate(members):
                cand = where[(found & np.uint64(1 << bit)) != 0] - f.offset
                length = len(f.model.pwm)
                cand = cand[(cand >= 0) & (cand < owned) & (cand + length <= n)]
                if not len(cand):
                    continue
                cand, scores = _score_candidates(f, kmers, n_count, cand)
                out["start"].append(cand + origin)
                out["end"].append(cand + origin + length)
                out["score"].append(scores / SCALE)
                out["pvalue"].append(f.model.pvalue(scores))
                labels = {"motif": f.model.motif.name, "strand": f.model.strand, "matrix_id": f.model.motif.matrix_id}
                for key, value in labels.items():
                    out[key].append(np.full(len(cand), value, dtype=object))
        return {k: np.concatenate(v) if v else np.array([]) for k, v in out.items()}


def _score_candidates(
    f: _Filter, kmers: np.ndarray, n_count: np.ndarray, cand: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact scores of candidate starts, 4 columns per lookup, dropping hopeless ones early."""
    scores = np.zeros(len(cand), dtype=np.int64)
    for col, table, slack in zip(f.chunk_starts, f.chunk_tables, f.slack):
        scores += table[kmers[cand + col] >> (2 * (_K - 4))]
        keep = scores >= slack
        cand, scores = cand[keep], scores[keep]
    clean = n_count[cand + len(f.model.pwm)] == n_count[cand]
    return cand[clean], scores[clean]


def scan(
    sequence: str | bytes | np.ndarray,
    motifs: Sequence[Motif],
    *,
    chrom: str = "seq",
    start: int = 0,
    pvalue: float = 1e-4,
    both_strands: bool = True,
    pseudocount: float = PSEUDOCOUNT,
    background: Sequence[float] = UNIFORM,
) -> "pd.DataFrame":
    """Motif hits with p-value <= `pvalue`: columns chrom, start, end, motif, score, pvalue, strand, matrix_id."""
    scanner = Scanner(motifs, pvalue, both_strands=both_strands, pseudocount=pseudocount, background=background)
    return scanner.scan(sequence, chrom=chrom, start=start)


# ----------------------------------------------------------------------------------- hit tables


def read_hits(path: str | Path, *, bed_score: str = "score") -> "pd.DataFrame":
    """Read precomputed hits: FIMO TSV (new or old header) or a BED with the TF name in column 4.

    BED column 5 is a motif score, or -log10(p) with `bed_score="neglog10p"` (GraphReg's
    `TF_positions_unique.bed`). Coordinates come back 0-based half-open.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"hit table {path} does not exist")
    if bed_score not in ("score", "neglog10p"):
        raise InvalidInputError(f"bed_score must be 'score' or 'neglog10p', got {bed_score!r}")
    try:
        raw = pd.read_csv(path, sep="\t", header=None, dtype=str, skip_blank_lines=True)
        raw = raw[~raw[0].str.startswith("#") | raw[0].str.contains("pattern name")]
        first = raw.iloc[0].str.lstrip("#").str.strip().tolist() if len(raw) else []
        if "motif_id" in first or "pattern name" in first:
            return _from_fimo(raw.iloc[1:].set_axis(first, axis=1), path)
        return _from_bed(raw, path, bed_score)
    except InvalidInputError:
        raise
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        raise InvalidInputError(
            f"{path}: not a FIMO TSV (motif_id/sequence_name/start/stop/strand/score/p-value header) "
            f"or a BED hit table (chrom, start, end, TF name[, score, strand]): {exc}"
        ) from None


def _from_fimo(table: "pd.DataFrame", path: Path) -> "pd.DataFrame":
    import pandas as pd

    table = table.rename(columns={"pattern name": "motif_id", "sequence name": "sequence_name", "p-value": "pvalue"})
    seq = table["sequence_name"].str.extract(r"^(?P<chrom>.+?)(?::(?P<offset>\d+)-\d+)?$")
    offset = pd.to_numeric(seq["offset"]).fillna(0).astype(np.int64)
    alt = table["motif_alt_id"] if "motif_alt_id" in table else table["motif_id"]
    hits = pd.DataFrame(
        {
            "chrom": seq["chrom"],
            "start": offset + table["start"].astype(np.int64) - 1,
            "end": offset + table["stop"].astype(np.int64),
            "motif": alt.fillna(table["motif_id"]),
            "score": table["score"].astype(float),
            "pvalue": table["pvalue"].astype(float),
            "strand": table["strand"],
            "matrix_id": table["motif_id"],
        }
    )
    return _checked(hits, path)


def _from_bed(raw: "pd.DataFrame", path: Path, bed_score: str) -> "pd.DataFrame":
    import pandas as pd

    raw = raw[~raw[0].str.match(r"^(track|browser)\b")]
    if len(raw) and not str(raw.iloc[0, 1]).isdigit():
        raw = raw.iloc[1:]  # a column-name header line
    if raw.shape[1] < 4:
        raise InvalidInputError(f"{path}: a BED hit table needs at least chrom, start, end, TF name columns")
    value = raw[4].astype(float) if raw.shape[1] > 4 else pd.Series(np.nan, index=raw.index)
    hits = pd.DataFrame(
        {
            "chrom": raw[0],
            "start": raw[1].astype(np.int64),
            "end": raw[2].astype(np.int64),
            "motif": raw[3],
            "score": np.nan if bed_score == "neglog10p" else value,
            "pvalue": 10.0 ** -value if bed_score == "neglog10p" else np.nan,
            "strand": raw[5] if raw.shape[1] > 5 else ".",
            "matrix_id": raw[3],
        }
    )
    return _checked(hits, path)


def _checked(hits: "pd.DataFrame", path: Path) -> "pd.DataFrame":
    if (hits["end"] <= hits["start"]).any() or (hits["start"] < 0).any():
        raise InvalidInputError(f"{path}: some hits have start < 0 or end <= start")
    return hits.reset_index(drop=True)[HIT_COLUMNS]
