#!/usr/bin/env bash
# On the GPU machine: the realism measure of the shipped inpainters (or of
# INPAINTERS="CLOUD SHADOW SNOW": shipped names, torchgeo fit checkpoints of
# docs/configs/inpainter_*.yaml or files from torchgeo-csia export) against the shipped
# BASE segmenter on the held-out (val + test) scenes, then their hole reconstruction.
# Needs the geo stack in /tmp/site and SPARCS scenes, held-out ones among them, in
# $DATA (stage them with docs/reproduce/stage_geo.sh).
#   INPAINTERS="a.ckpt b.ckpt c.ckpt" bash docs/reproduce/gpu_realism.sh
set -uo pipefail
OUT=${OUT:-out}
DATA=${DATA:-/tmp/scenes}
export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
CLI="python3 -m torchgeo_csia.cli"
mkdir -p "$OUT"
nvidia-smi -L
read -r -a nets <<<"${INPAINTERS:-CLOUD_SPARCS_PHOTO SHADOW_SPARCS_PHOTO SNOW_SPARCS_PHOTO}"
$CLI realism --root "$DATA" --weights BASE_SPARCS_PHOTO --inpainters "${nets[@]}" \
  --out "$OUT/realism.json" --figure "$OUT/realism.png"
i=0
for c in cloud shadow snow; do
  $CLI evaluate-inpainters --root "$DATA" --class $c --weights "${nets[$i]}" \
    --json "$OUT/eval.jsonl" --figure "$OUT/inpainted_$c.png"
  i=$((i + 1))
done
