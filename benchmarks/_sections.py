"""Write one `## ` section of a Markdown file, keeping every other section as it is."""
from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, heading: str, text: str, title: str = "# Performance") -> None:
    """Replace the section that starts with `heading` (up to the next `## `), or append it."""
    old = path.read_text() if path.exists() else f"{title}\n"
    head, found, rest = old.partition(heading + "\n")
    tail = rest[rest.find("\n## ") + 1 :] if found and "\n## " in rest else ""
    body = head.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body + ("\n" + tail if tail else ""))
