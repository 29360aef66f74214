#!/usr/bin/env bash
# Every GPU figure the README gives, in one run on a machine with an NVIDIA GPU: pre-training
# throughput and peak memory (mg3d-swin-b at batch 4 in float32, bf16 mixed precision and bf16 with
# activation checkpointing; at batch 8 checkpointed; mg3d-tiny at the learning bench's batch 8) and
# what TF32 and bf16 do to one step's losses and gradient (bench/precision.py).
# Needs torch, lightning, transformers and numpy (no SimpleITK, MONAI or text weights: random
# volumes, synthetic reports, a randomly initialised text encoder).
# Usage: bash bench/gpu.sh [TOKENIZER_FOLDER] [LOG_FOLDER]   (a folder with a BERT vocab.txt)
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
tok=${1:+--tokenizer $1}
log=${2:-.}
py=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$log/gpu.txt"
$py -c "import torch, lightning, transformers; print('torch', torch.__version__, 'lightning', lightning.__version__, 'transformers', transformers.__version__)" 2>&1 | tee -a "$log/gpu.txt"
run() { echo "== $*" | tee -a "$log/gpu.txt"; local t=$SECONDS; $py "$@" 2>"$log/last_err.txt" | tee -a "$log/gpu.txt"; tail -5 "$log/last_err.txt" | tee -a "$log/gpu.txt"; echo "($((SECONDS - t)) s)" | tee -a "$log/gpu.txt"; }
run bench/throughput.py --model mg3d-swin-b --batch 4 --steps 20 --warmup 5 $tok
run bench/precision.py --model mg3d-swin-b --batch 2 $tok
run bench/throughput.py --model mg3d-tiny --batch 8 --steps 30 --warmup 5 --variants 32-true bf16-mixed $tok
run bench/precision.py --model mg3d-tiny --batch 8 $tok
run bench/throughput.py --model mg3d-swin-b --batch 8 --steps 10 --warmup 3 --variants bf16-mixed+ckpt $tok
