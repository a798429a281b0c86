"""Write the input contract of the packaged demo presets (src/graphreg_zoo/_demo/model, model_cnn).

They were trained before presets recorded one, so `predict --model demo` could check nothing. This
re-makes their training cell from their card (`simulation.demo.training_cell`: same seed and preset,
every source file checked against the card's sha256) and writes `contract.recorded_contract` of it
into each preset's config.json (data_spec), as `train` does. The weights are not touched.
Usage: python scripts/record_demo_contract.py
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from graphreg_zoo._atomic import atomic_path
from graphreg_zoo.contract import recorded_contract
from graphreg_zoo.simulation.demo import training_cell
from graphreg_zoo.zoo.load import PACKAGED
from graphreg_zoo.zoo.presets import CONFIG

NOTE = " (re-made from the card's simulation seed and preset; every source file matches its recorded sha256)"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        contracts = {name: recorded_contract(training_cell(directory, Path(tmp) / name))
                     for name, directory in PACKAGED.items()}
    for name, directory in PACKAGED.items():
        contract = {field: {**entry, "source": entry["source"] + NOTE} for field, entry in contracts[name].items()}
        path = directory / CONFIG
        config = json.loads(path.read_text())
        config["config"]["data_spec"]["contract"] = contract
        with atomic_path(path) as tmp_path:
            tmp_path.write_text(json.dumps(config, indent=2) + "\n")
        print(f"wrote the input contract of {name} into {path}")


if __name__ == "__main__":
    main()
