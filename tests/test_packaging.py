"""The house rules of the package: one version, no symlinks, data folders found from a checkout."""
from __future__ import annotations

import re

import tomllib

from graphreg_zoo import _data, _version

from .conftest import REPO


def test_the_version_has_one_source():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"] and "version" not in project["project"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "graphreg_zoo._version.__version__"}
    importers = [p for p in (REPO / "src").rglob("*.py")
                 if re.search(r"^\s*from \.+ import __version__", p.read_text(), re.MULTILINE)]
    assert not importers, f"import __version__ from _version, not from the package: {importers}"
    import graphreg_zoo

    assert graphreg_zoo.__version__ == _version.__version__


def test_the_package_has_no_symlinks_and_finds_its_data_folders():
    links = [p for p in (REPO / "src").rglob("*") if p.is_symlink()]
    assert not links, f"symlinks break Windows checkouts and wheels: {links}"
    assert (REPO / "src" / "graphreg_zoo" / "py.typed").is_file()
    for name, source in _data.DATA_DIRS.items():
        assert _data.data_dir(name).resolve() == (REPO / source).resolve()
    assert len(list(_data.data_dir("recipe_files").glob("*.yaml"))) >= 79


def test_packaged_cards_name_no_path_of_the_machine_that_trained_them():
    """A card ships in the wheel: its provenance and training command name the run's folder as OUT, not the
    absolute path it had on the training machine."""
    from graphreg_zoo.zoo.load import PACKAGED

    cards = list((REPO / "src" / "graphreg_zoo" / "_demo").glob("*/card.json"))
    assert sorted(c.parent for c in cards) == sorted(PACKAGED.values())
    for card in cards:
        absolute = re.findall(r'"(/[^"]*)"', card.read_text())
        assert not absolute, f"{card}: {absolute[:3]}"
