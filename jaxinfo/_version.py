"""The package version, the single source read by ``pyproject.toml`` and ``jaxinfo.__version__``."""

__version__ = "0.1.0"
