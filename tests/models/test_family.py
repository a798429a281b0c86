"""Every model class declares its family; foreign Keras models are described from their public names."""
from __future__ import annotations

import keras
import pytest

from graphreg_zoo.models import MODEL_CLASSES
from graphreg_zoo.models.family import Family, family_of


@pytest.mark.parametrize("name", sorted(MODEL_CLASSES))
def test_every_class_declares_a_family_that_matches_its_inputs_and_outputs(name):
    cls = MODEL_CLASSES[name]
    assert isinstance(cls.__dict__.get("family"), Family), f"{name} does not declare `family`"
    model = cls()
    declared = family_of(model)
    inputs = {t.name.split(":")[0] for t in model.inputs}
    assert declared.input in inputs
    assert declared.graph == ("adjacency" in inputs)
    assert declared.cage == ("cage" in model.output)
    assert declared.tracks == all(t in model.output for t in ("h3k4me3", "h3k27ac", "dnase"))


def test_a_foreign_model_is_described_from_its_names():
    x = keras.Input((8, 3), name="epigenome")
    a = keras.Input((8, 8), name="adjacency")
    y = keras.layers.Flatten()(keras.layers.Dense(1)(x))
    model = keras.Model({"epigenome": x, "adjacency": a}, {"cage": y})
    family = family_of(model)
    assert (family.input, family.graph, family.cage, family.is_base, family.window_kind) == (
        "epigenome", True, True, False, "epi")
    with pytest.raises(TypeError, match="no epigenome, sequence or bottleneck input"):
        other = keras.Input((3,), name="x")
        family_of(keras.Model(other, keras.layers.Dense(1)(other)))
