#!/usr/bin/env bash
# Issue 18's GPU check as one command for the lent device machine (`run` tool; JAX, which that machine has,
# while it has no TensorFlow and no Keras). It prints the card, then benchmarks/gpu.py (windows/s of the
# Epi-GraphReg forward, train steps, the e2e bfloat16 step) and benchmarks/predict.py genome-wide on JAX.
#
# Here, first (the machine reaches no network; `.whl` stays out of git):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl keras==3.15.1 namex==0.1.0 optree==0.20.0
# then: run(command="bash benchmarks/gpu_check.sh", carry=[".whl"], timeout_s=540). Results land in $OUT.
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD/src" KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
OUT="${OUT:-/tmp/gpu_check}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/card.txt"
lscpu | grep "Model name" | tee -a "$OUT/card.txt"
timeout 300 python3 benchmarks/gpu.py epi_predict epi_train e2e_train 2>&1 | tee "$OUT/gpu.jsonl"
timeout 200 python3 benchmarks/predict.py --backend jax --batch-size 64 2>&1 | tee "$OUT/predict.txt"
