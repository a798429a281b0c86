"""Docs that state facts about the code: the pages the code cites exist, the README counts the model classes."""
from __future__ import annotations

import re

from graphreg_zoo.models import MODEL_CLASSES

from .conftest import REPO

NUMBER_WORDS = {7: "seven", 8: "eight", 9: "nine"}


def test_every_docs_page_cited_in_the_code_and_readmes_exists():
    sources = [*(REPO / "src").rglob("*.py"), REPO / "README.md", REPO / "training" / "README.md"]
    cited = {(src.relative_to(REPO), page) for src in sources
             for page in re.findall(r"docs/[\w.-]+\.md", src.read_text(encoding="utf-8"))}
    missing = sorted(f"{src} cites {page}" for src, page in cited if not (REPO / page).is_file())
    assert not missing, missing


def test_the_readme_and_the_base_class_count_the_model_classes():
    word = NUMBER_WORDS[len(MODEL_CLASSES)]
    assert f"the {word} GraphReg models" in (REPO / "README.md").read_text(encoding="utf-8")
    assert f"of the {word} GraphReg model classes" in (REPO / "src/graphreg_zoo/models/base.py").read_text()
    for name in ("Epi-GraphReg", "Epi-CNN", "Seq-CNN base", "Seq-GraphReg", "Seq-CNN", "Seq-GraphReg e2e",
                 "Seq-CNN e2e"):
        assert name in (REPO / "README.md").read_text(encoding="utf-8").replace("\n", " ")
