#!/usr/bin/env bash
# BASE and CSIA segmenters through the users' path: torchgeo fit, then torchgeo test
# on the held-out scenes, with the shipped YAMLs, the two runs side by side on one GPU.
# Needs the geo stack in /tmp/site and the SPARCS scenes in $DATA (stage them with
# docs/reproduce/stage_geo.sh). Writes each run's test table, its wall time and its
# weights (fp16 CPU state dict of the model, as shipped) under $OUT.
#   SEED=0 bash docs/reproduce/gpu_fit.sh [extra torchgeo fit arguments]
set -uo pipefail
OUT=${OUT:-out}
DATA=${DATA:-/tmp/scenes}
SEED=${SEED:-0}
SPLITS=${SPLITS:-[val,test]}
RUNS=${RUNS:-/tmp/fit}
export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
mkdir -p "$OUT"
common=(--data.dict_kwargs.paths "$DATA" --seed_everything "$SEED")
for v in base csia; do
  (
    start=$SECONDS
    dir=$RUNS/${v}_s$SEED
    python3 -m torchgeo fit --config "docs/configs/sparcs_$v.yaml" "${common[@]}" \
      --trainer.default_root_dir "$dir" "$@" >"$OUT/fit_${v}_s$SEED.log" 2>&1 || exit 1
    ckpt=$(find "$dir" -name '*.ckpt' | sort | tail -n 1)
    echo "$v seed $SEED: fit $((SECONDS - start)) s, $ckpt" >>"$OUT/times.txt"
    python3 -m torchgeo test --config "docs/configs/sparcs_$v.yaml" "${common[@]}" \
      --data.init_args.test_splits "$SPLITS" --trainer.default_root_dir "$dir" \
      --ckpt_path "$ckpt" "$@" >"$OUT/test_${v}_s$SEED.txt" 2>&1 || exit 1
    python3 - "$ckpt" "$OUT/csia_segmenter_${v}_photo_s$SEED.pth" <<'PYTHON'
import sys
import torch
state = torch.load(sys.argv[1], map_location='cpu', weights_only=False)['state_dict']
model = {k.removeprefix('model.'): v.half() for k, v in state.items() if k.startswith('model.')}
torch.save(model, sys.argv[2])
PYTHON
  ) &
done
wait
cat "$OUT/times.txt"
grep -h -A 30 'Test metric' "$OUT"/test_*_s"$SEED".txt | grep -E 'Jaccard|Test metric' || tail -n 20 "$OUT"/*.log
