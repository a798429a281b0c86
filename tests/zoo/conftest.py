"""Zoo test fixtures: a real HTTP server on loopback, and a test-only card directory."""
from __future__ import annotations

import functools
import hashlib
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from graphreg_zoo._atomic import sha256_file
from graphreg_zoo.settings import CARDS_ENV
from graphreg_zoo.zoo import cards

FIXTURE_FAMILY = "test_epi_K562_hichip_fdr01"


@dataclass
class Served:
    """A directory served over HTTP on 127.0.0.1, counting GET requests."""

    root: Path
    url: str
    requests: list[str] = field(default_factory=list)
    delay_s: float = 0.0

    def put(self, rel: str, data: bytes) -> Path:
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return target


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.server.served.requests.append(self.path)
        time.sleep(self.server.served.delay_s)
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def served(tmp_path) -> Served:
    root = tmp_path / "served"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    server.served = Served(root, f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.served
    server.shutdown()
    server.server_close()


@pytest.fixture
def dead_url() -> str:
    """An http URL on loopback where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class FixtureCard:
    name: str
    path: str  # the fold-1 card path, pinned to the fixture checkpoint
    checkpoint: Path
    sha256: str


@pytest.fixture
def fixture_card(tmp_path, monkeypatch, upstream_fixtures, zoo_home) -> FixtureCard:
    """A copy of the epi_K562_hichip_fdr01 card whose fold 1 is pinned to the fixture checkpoint."""
    checkpoint = upstream_fixtures / "epi_graphreg.h5"
    card = cards.parse_card(cards.BUILTIN_CARDS / "epi_K562_hichip_fdr01.md")
    prose = card.pop("description")
    card.pop("card_path")
    card.update(name=FIXTURE_FAMILY, aliases=["test_epi_K562_hichip"])
    fold1 = card["folds"]["members"][0]
    fold1.update(sha256=sha256_file(checkpoint), size=checkpoint.stat().st_size)
    directory = tmp_path / "cards"
    directory.mkdir()
    text = "---\n" + yaml.safe_dump(card, sort_keys=False) + "---\n" + prose + "\n"
    (directory / f"{FIXTURE_FAMILY}.md").write_text(text)
    monkeypatch.setenv(CARDS_ENV, str(directory))
    return FixtureCard(FIXTURE_FAMILY, fold1["path"], checkpoint, fold1["sha256"])



@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """Lay out a Hugging Face cache by hand (models--org--repo/{blobs,refs,snapshots/<sha>}), offline."""
    root = tmp_path / "hf_hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def make(repo: str, commit: str, files: dict[str, bytes], refs: bool = True) -> Path:
        base = root / ("models--" + repo.replace("/", "--"))
        for name, data in files.items():
            blob = base / "blobs" / hashlib.sha256(data).hexdigest()
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(data)
            link = base / "snapshots" / commit / name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(blob, link.parent))
        if refs:
            (base / "refs").mkdir(exist_ok=True)
            (base / "refs" / "main").write_text(commit)  # no trailing newline (huggingface_hub#4133)
        return base / "snapshots" / commit

    return make
