"""Common base of the seven GraphReg model classes (`MODEL_CLASSES`): a functional keras.Model whose
config is exactly its constructor arguments (keras-hub style)."""
from __future__ import annotations

from typing import ClassVar

import keras

from .family import Family
from .spec import default_data_spec


class GraphRegModel(keras.Model):
    """Base class: stores constructor arguments and serialises them.

    Subclasses build their functional graph in `__init__`, call
    `super().__init__(inputs=..., outputs=..., ...)` and then `_remember(locals())`.
    `from_config(get_config())` rebuilds the same architecture from code, so no
    Lambda layer or pickled function ever enters a saved file.
    """

    family: ClassVar[Family]  # what the model reads and predicts (models/family.py)
    _config_keys: tuple[str, ...] = ()

    @classmethod
    def resolve_data_spec(cls, data_spec: dict | None) -> dict:
        return default_data_spec(cls.family.input, data_spec)

    def _remember(self, arguments: dict) -> None:
        for key in self._config_keys:
            setattr(self, key, arguments[key])

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable}
        config.update({key: getattr(self, key) for key in self._config_keys})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)
