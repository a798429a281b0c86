"""The package version, defined once: pyproject.toml reads it (setuptools dynamic version), the code imports it."""
__version__ = "0.1.0"
