"""One SGD step as a probe of a training step's gradients: with learning rate 1 every weight moves by
minus its gradient, so two formulations that should train alike can be compared weight by weight."""
from __future__ import annotations

import numpy as np


def sgd_step(trainee, x, y, *, weights_of=None, loss=None, learning_rate: float = 1.0):
    """Compile `trainee` with SGD(`learning_rate`) and `loss`, train one batch; returns (the loss value,
    the change of every weight of `weights_of`, default the trainee itself)."""
    import keras

    model = trainee if weights_of is None else weights_of
    start = [w.copy() for w in model.get_weights()]
    trainee.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=loss)
    value = float(trainee.train_on_batch(x, y))
    return value, [np.asarray(w) - w0 for w, w0 in zip(model.get_weights(), start)]
