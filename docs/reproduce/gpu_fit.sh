#!/usr/bin/env bash
# BASE and CSIA segmenters through the users' path: torchgeo fit, then torchgeo test
# on the held-out scenes, with the shipped YAMLs, every run side by side on one GPU
# (one BASE and one CSIA run per seed in SEEDS). Needs the geo stack in /tmp/site and
# the SPARCS scenes in $DATA (stage them with docs/reproduce/stage_geo.sh). Writes
# each run's log, test table and wall time under $OUT, and the weights (fp16 CPU
# state dict of the model, as shipped) of the seeds in EXPORT.
#   SEEDS="0 1 2" EXPORT=0 bash docs/reproduce/gpu_fit.sh [extra torchgeo fit arguments]
set -uo pipefail
OUT=${OUT:-out}
DATA=${DATA:-/tmp/scenes}
SEEDS=${SEEDS:-${SEED:-0}}
EXPORT=${EXPORT:-}
SPLITS=${SPLITS:-[val,test]}
RUNS=${RUNS:-/tmp/fit}
export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
mkdir -p "$OUT"
for seed in $SEEDS; do
  for v in base csia; do
    (
      common=(--data.dict_kwargs.paths "$DATA" --seed_everything "$seed")
      start=$SECONDS
      dir=$RUNS/${v}_s$seed
      python3 -m torchgeo fit --config "docs/configs/sparcs_$v.yaml" "${common[@]}" \
        --trainer.default_root_dir "$dir" "$@" >"$OUT/fit_${v}_s$seed.log" 2>&1 || exit 1
      ckpt=$(find "$dir" -name '*.ckpt' | sort | tail -n 1)
      echo "$v seed $seed: fit $((SECONDS - start)) s, $ckpt" >>"$OUT/times.txt"
      python3 -m torchgeo test --config "docs/configs/sparcs_$v.yaml" "${common[@]}" \
        --data.init_args.test_splits "$SPLITS" --trainer.default_root_dir "$dir" \
        --ckpt_path "$ckpt" "$@" >"$OUT/test_${v}_s$seed.txt" 2>&1 || exit 1
      case " $EXPORT " in *" $seed "*)
        python3 - "$ckpt" "$OUT/csia_segmenter_${v}_photo_s$seed.pth" <<'PYTHON'
import sys
import torch
state = torch.load(sys.argv[1], map_location='cpu', weights_only=False)['state_dict']
model = {k.removeprefix('model.'): v.half() for k, v in state.items() if k.startswith('model.')}
torch.save(model, sys.argv[2])
PYTHON
      esac
    ) &
  done
done
wait
cat "$OUT/times.txt"
for f in "$OUT"/test_*.txt; do echo "$f"; grep -E 'Jaccard' "$f"; done
# the end of any run that failed
grep -l -E 'Traceback|Error' "$OUT"/*.log "$OUT"/*.txt | xargs -r tail -n 25
