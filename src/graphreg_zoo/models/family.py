"""What kind of GraphReg model a model is: its family, declared once per model class.

Prediction, training and interpretation ask `family_of(model)` instead of sniffing a model's
inputs and outputs: the seven classes say what they are (`GraphRegModel.family`); a foreign Keras
model (a user's own, a test's stand-in) is described from its public input and output names.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..geometry import EPI_TRACKS


@dataclass(frozen=True)
class Family:
    """A model family.

    Args:
        name: the paper's name ("Epi-GraphReg", "Seq-CNN base", ...).
        input: which window array the model reads: "epigenome", "sequence", or "bottleneck" (the
            frozen Seq-CNN base's features of the sequence).
        graph: it reads the contact graph (`adjacency`).
        cage: it predicts CAGE.
        tracks: it predicts the three epigenomic tracks (the Seq-CNN base and the e2e models).
        bfloat16_inference: its bfloat16 forward was checked to agree with float32 (R >= 0.999 on the demo
            cell and the converted fixtures), so prediction offers it.
    """

    name: str
    input: str
    graph: bool
    cage: bool = True
    tracks: bool = False
    bfloat16_inference: bool = False

    @property
    def window_kind(self) -> str:
        """'epi' or 'seq': the window arrays prediction builds (a bottleneck is made from sequence)."""
        return "epi" if self.input == "epigenome" else "seq"

    @property
    def is_base(self) -> bool:
        """A Seq-CNN base: tracks and no CAGE."""
        return self.tracks and not self.cage

    @property
    def is_multitask(self) -> bool:
        """An e2e model: CAGE and the three tracks, trained together."""
        return self.tracks and self.cage


EPI_GRAPHREG = Family("Epi-GraphReg", "epigenome", graph=True, bfloat16_inference=True)
EPI_CNN = Family("Epi-CNN", "epigenome", graph=False, bfloat16_inference=True)
SEQ_CNN_BASE = Family("Seq-CNN base", "sequence", graph=False, cage=False, tracks=True)
SEQ_GRAPHREG = Family("Seq-GraphReg", "bottleneck", graph=True)
SEQ_CNN = Family("Seq-CNN", "bottleneck", graph=False)
SEQ_GRAPHREG_E2E = Family("Seq-GraphReg e2e", "sequence", graph=True, tracks=True)
SEQ_CNN_E2E = Family("Seq-CNN e2e", "sequence", graph=False, tracks=True)
FAMILIES = (EPI_GRAPHREG, EPI_CNN, SEQ_CNN_BASE, SEQ_GRAPHREG, SEQ_CNN, SEQ_GRAPHREG_E2E, SEQ_CNN_E2E)


def family_of(model) -> Family:
    """The family of a GraphReg model, of a fold ensemble's members, or of a foreign Keras model."""
    declared = getattr(type(model), "family", None)
    if isinstance(declared, Family):
        return declared
    members = getattr(model, "models", None)
    if isinstance(members, dict) and members:
        return family_of(next(iter(members.values())))
    return _described(model)


def _described(model) -> Family:
    """A foreign Keras model's family from its public input and output names."""
    inputs = {t.name.split(":")[0] for t in (getattr(model, "inputs", None) or [])}
    output = getattr(model, "output", None)
    outputs = set(output) if isinstance(output, dict) else set()
    kind = next((k for k in ("epigenome", "bottleneck", "sequence") if k in inputs), None)
    if kind is None:
        raise TypeError(f"{getattr(model, 'name', model)!r} has no epigenome, sequence or bottleneck input")
    tracks = all(t in outputs for t in EPI_TRACKS)
    return Family(getattr(model, "name", "model"), kind, graph="adjacency" in inputs, cage="cage" in outputs,
                  tracks=tracks)
