"""The in-repo parity goldens: the original code's checkpoints, inputs and outputs, packed small.

`pack(fixtures, goldens)` reduces ../shared/fixtures/upstream (README there) to tests/goldens/
(scripts/make_goldens.py runs it); `materialise(goldens, out)` unpacks them into the layout of the
shared folder (`<name>.h5`, `tf20style/<name>.h5`, `<name>_io.npz`), so the parity tests read the same
paths whichever they get. Nothing in a golden is computed by graphreg_zoo:
- checkpoints: the original `.h5` bytes, xz-compressed; each `tf20style/` file is stored with its
  weight datasets zeroed (its weights equal the main encoding's, checked when packing) and refilled
  from the main file on unpacking. Every rebuilt file must hash to the original's sha256;
- inputs: exact. One-hot sequence as 2-bit codes, the 0/1 adjacency as its upper-triangle edges,
  the epigenome (shared by the three Epi fixtures) as float32;
- outputs: the original's own values, whole or a subset of one axis (`idx_<key>`, `axis_<key>` of
  the full `shape_<key>`), e.g. every 10th attention row. Seq-GraphReg's 15 MB bottleneck input (`x_in_gat`, itself the
  original Seq-CNN base's output on `seq`) is kept as such a subset (`base_h`): its parity test
  computes the bottleneck from `seq` with the converted base and checks it against that subset.
"""
from __future__ import annotations

import hashlib
import io as _io
import json
import lzma
import zipfile
from pathlib import Path

import numpy as np

NAMES = ("epi_graphreg", "epi_cnn", "seq_cnn_base", "seq_graphreg", "seq_graphreg_e2e")
GOLDENS = Path(__file__).resolve().parent / "goldens"
MANIFEST = "MANIFEST.json"
ARRAYS = "io.npz"
# output key (a trailing "_" makes it a prefix) -> (axis, step) of the subset kept; others are kept whole
SUBSETS = {"out_att_": (1, 10), "out_h": (1, 10), "base_h": (1, 100)}
E2E_SUBSETS = {"out_h": (1, 100), "out_h3k4me3": (1, 4), "out_h3k27ac": (1, 4), "out_dnase": (1, 4)}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- inputs ------------------------------------------------------------------------------------------
def pack_sequence(onehot: np.ndarray) -> np.ndarray:
    """(n, L, 4) exact one-hot -> uint8, four 2-bit base codes per byte."""
    if not (np.isin(onehot, (0.0, 1.0)).all() and (onehot.sum(-1) == 1).all()):
        raise ValueError("sequence is not an exact one-hot encoding")
    codes = onehot.argmax(-1).astype(np.uint8).reshape(-1, 4)
    return codes[:, 0] << 6 | codes[:, 1] << 4 | codes[:, 2] << 2 | codes[:, 3]


def unpack_sequence(packed: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    codes = np.stack([(packed >> shift) & 3 for shift in (6, 4, 2, 0)], axis=1).reshape(shape[:-1])
    return np.eye(4, dtype=np.float32)[codes]


def pack_adjacency(adj: np.ndarray) -> np.ndarray:
    """(1, N, N) symmetric 0/1 with zero diagonal -> (E, 2) int16 upper-triangle edges."""
    a = adj[0]
    if not (np.isin(a, (0.0, 1.0)).all() and (a == a.T).all() and not a.diagonal().any()):
        raise ValueError("adjacency is not symmetric 0/1 with a zero diagonal")
    return np.argwhere(np.triu(a, 1)).astype(np.int16)


def unpack_adjacency(edges: np.ndarray, n: int) -> np.ndarray:
    a = np.zeros((n, n), np.float32)
    a[edges[:, 0], edges[:, 1]] = 1
    a[edges[:, 1], edges[:, 0]] = 1
    return a[None]


# -- outputs -----------------------------------------------------------------------------------------
def _subset(name: str, key: str) -> tuple[int, int] | None:
    table = {**SUBSETS, **E2E_SUBSETS} if name == "seq_graphreg_e2e" else SUBSETS
    return next((rule for rule_key, rule in table.items()
                 if key == rule_key or (rule_key.endswith("_") and key.startswith(rule_key))), None)


def reduce_output(name: str, key: str, value: np.ndarray) -> dict[str, np.ndarray]:
    """The original's array `value`, whole or every `step`-th slice of one axis (with its indices)."""
    rule = _subset(name, key)
    if rule is None:
        return {key: value}
    axis, step = rule
    idx = np.arange(0, value.shape[axis], step, dtype=np.int32)
    return {key: np.take(value, idx, axis=axis), f"idx_{key}": idx, f"axis_{key}": np.int32(axis),
            f"shape_{key}": np.asarray(value.shape, np.int32)}


# -- checkpoints -------------------------------------------------------------------------------------
def _datasets(path: Path) -> dict:
    import h5py

    found = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda key, obj: found.__setitem__(key, (obj.id.get_offset(), obj[()]))
                     if isinstance(obj, h5py.Dataset) else None)
    return found


def skeleton(tf20: Path, main: Path) -> tuple[bytes, list[list]]:
    """`tf20`'s bytes with every weight dataset zeroed, and where to put each back from `main`."""
    data = bytearray(tf20.read_bytes())
    main_sets = _datasets(main)
    fills = []
    for key, (offset, value) in sorted(_datasets(tf20).items()):
        if value.dtype != np.dtype("<f4") or not np.array_equal(value, main_sets[key][1]):
            raise ValueError(f"{tf20}: {key} differs from the main encoding's")
        if offset is None or value.size == 0:
            continue
        raw = value.tobytes()
        assert bytes(data[offset:offset + len(raw)]) == raw, (tf20, key)
        data[offset:offset + len(raw)] = bytes(len(raw))
        fills.append([offset, key])
    return bytes(data), fills


def refill(skeleton_bytes: bytes, fills: list[list], main: Path) -> bytes:
    data = bytearray(skeleton_bytes)
    main_sets = _datasets(main)
    for offset, key in fills:
        raw = main_sets[key][1].astype("<f4").tobytes()
        data[offset:offset + len(raw)] = raw
    return bytes(data)


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed .npz with fixed entry dates, so that the same arrays give the same bytes (sha256)."""
    buffer = _io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key, value in arrays.items():
            member = _io.BytesIO()
            np.lib.format.write_array(member, np.asarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, member.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def _xz(data: bytes) -> bytes:
    return lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)


# -- pack / materialise -------------------------------------------------------------------------------
def pack(fixtures: Path, goldens: Path = GOLDENS) -> dict:
    """Write tests/goldens/ from the shared fixtures; returns the manifest (also written)."""
    upstream = json.loads((fixtures / "fixtures_manifest.json").read_text())
    goldens.mkdir(parents=True, exist_ok=True)
    (goldens / "tf20style").mkdir(exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    checkpoints, fills = {}, {}
    ios = {name: np.load(fixtures / f"{name}_io.npz") for name in NAMES}
    shared = {"X_epi": ios["epi_graphreg"]["X_epi"], "adj": ios["epi_graphreg"]["adj"],
              "seq": ios["seq_graphreg_e2e"]["seq"]}
    arrays["X_epi"] = shared["X_epi"]
    arrays["adj_edges"] = pack_adjacency(shared["adj"])
    arrays["seq"] = pack_sequence(shared["seq"])
    arrays["seq_cnn_base__seq"] = pack_sequence(ios["seq_cnn_base"]["seq"])
    for name in NAMES:
        main = fixtures / f"{name}.h5"
        (goldens / f"{name}.h5.xz").write_bytes(_xz(main.read_bytes()))
        bones, fills[name] = skeleton(fixtures / "tf20style" / f"{name}.h5", main)
        (goldens / "tf20style" / f"{name}.h5.skeleton.xz").write_bytes(_xz(bones))
        checkpoints[name] = {"sha256": upstream[name]["checkpoint_sha256"],
                             "tf20style_sha256": upstream[name]["tf20style_sha256"]}
        assert sha256(main.read_bytes()) == checkpoints[name]["sha256"], main
        io = ios[name]
        for key in io.files:
            if key in shared and name != "seq_cnn_base":
                if not np.array_equal(io[key], shared[key]):
                    raise ValueError(f"{name}: {key} differs from the shared input")
                continue
            if key == "seq":  # seq_cnn_base's own two chunks, packed above
                continue
            source = "base_h" if key == "x_in_gat" else key
            for k, v in reduce_output(name, source, io[key]).items():
                arrays[f"{name}__{k}"] = v
    diag = np.load(fixtures / "epi_graphreg_io_diag1.npz")
    if not (np.array_equal(diag["X_epi"], shared["X_epi"])
            and np.array_equal(diag["adj"][0], shared["adj"][0] + np.eye(shared["adj"].shape[1]))):
        raise ValueError("epi_graphreg_io_diag1: not the shared input with A[i,i] = 1")
    for key in diag.files:
        if key.startswith("out_"):
            for k, v in reduce_output("epi_graphreg_diag1", key, diag[key]).items():
                arrays[f"epi_graphreg_diag1__{k}"] = v
    (goldens / ARRAYS).write_bytes(_npz(arrays))
    (goldens / "tf20style" / "fills.json").write_text(json.dumps(fills, indent=0, sort_keys=True) + "\n")
    files = sorted(p for p in goldens.rglob("*") if p.is_file() and p.name not in (MANIFEST, "README.md"))
    manifest = {"checkpoints": checkpoints,
                "files": {str(p.relative_to(goldens)): sha256(p.read_bytes()) for p in files}}
    (goldens / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def _check(path: Path, expected: str) -> bytes:
    data = path.read_bytes()
    if sha256(data) != expected:
        raise ValueError(f"{path}: sha256 differs from {MANIFEST}: regenerate with scripts/make_goldens.py")
    return data


def _io_arrays(arrays, name: str) -> dict[str, np.ndarray]:
    prefix = f"{name}__"
    return {k[len(prefix):]: arrays[k] for k in arrays.files if k.startswith(prefix)}


def materialise(out: Path, goldens: Path = GOLDENS) -> Path:
    """Unpack the goldens into `out` in the shared fixtures' layout; every checkpoint sha256-checked."""
    manifest = json.loads((goldens / MANIFEST).read_text())
    for rel, digest in manifest["files"].items():
        _check(goldens / rel, digest)
    fills = json.loads((goldens / "tf20style" / "fills.json").read_text())
    (out / "tf20style").mkdir(parents=True, exist_ok=True)
    for name, digests in manifest["checkpoints"].items():
        main = out / f"{name}.h5"
        main.write_bytes(lzma.decompress((goldens / f"{name}.h5.xz").read_bytes()))
        bones = lzma.decompress((goldens / "tf20style" / f"{name}.h5.skeleton.xz").read_bytes())
        (out / "tf20style" / f"{name}.h5").write_bytes(refill(bones, fills[name], main))
        for path, digest in ((main, digests["sha256"]), (out / "tf20style" / f"{name}.h5", digests["tf20style_sha256"])):
            if sha256(path.read_bytes()) != digest:
                raise ValueError(f"{path}: rebuilt checkpoint is not the original's (sha256)")
    arrays = np.load(goldens / ARRAYS)
    x_epi = arrays["X_epi"]
    adj = unpack_adjacency(arrays["adj_edges"], 1200)
    seq = unpack_sequence(arrays["seq"], (60, 100000, 4))
    inputs = {
        "epi_graphreg": {"X_epi": x_epi, "adj": adj},
        "epi_cnn": {"X_epi": x_epi},
        "seq_cnn_base": {"seq": unpack_sequence(arrays["seq_cnn_base__seq"], (2, 100000, 4))},
        "seq_graphreg": {"seq": seq, "adj": adj},
        "seq_graphreg_e2e": {"seq": seq, "adj": adj},
    }
    for name, given in inputs.items():
        own = {k: v for k, v in _io_arrays(arrays, name).items() if k != "seq"}
        np.savez(out / f"{name}_io.npz", **given, **own)
    diag = adj + np.eye(1200, dtype=np.float32)[None]
    np.savez(out / "epi_graphreg_io_diag1.npz", X_epi=x_epi, adj=diag, **_io_arrays(arrays, "epi_graphreg_diag1"))
    return out
