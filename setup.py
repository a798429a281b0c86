"""Build hook: ship the top-level zoo_cards/ and training/recipes/ inside the wheel (see graphreg_zoo/_data.py)."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# folder inside the package -> (source folder, file patterns); the same mapping as _data.DATA_DIRS
DATA = {"zoo_cards": ("zoo_cards", ("*.md", "cells/*.md")), "recipe_files": ("training/recipes", ("*.yaml",))}


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the source folders directly
            return
        for target, (source, patterns) in DATA.items():
            for pattern in patterns:
                for path in sorted((HERE / source).glob(pattern)):
                    dest = Path(self.build_lib) / "graphreg_zoo" / target / path.relative_to(HERE / source)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, dest)


setup(cmdclass={"build_py": BuildPyWithData})
