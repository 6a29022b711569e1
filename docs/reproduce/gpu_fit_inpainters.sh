#!/usr/bin/env bash
# The CSIA inpainters through the users' path: torchgeo fit with the shipped recipes
# (docs/configs/inpainter_*.yaml), one chain of stages per class, the chains side by
# side on one GPU. Each stage starts from the last checkpoint of the one before
# (output/inpainter_*/last.ckpt, under the working folder), so a later call may go on
# with the later stages while the machine keeps its files. Needs the geo stack in
# /tmp/site and the SPARCS scenes in $DATA (docs/reproduce/stage_geo.sh). Writes each
# stage's log and its weights under $OUT (torchgeo-csia export: $OUT/CONFIG-<sha256
# prefix>.pth, the inpainter's state dict, floats in fp16, on the CPU, as shipped; its
# moving average where the stage kept one).
#   bash docs/reproduce/gpu_fit_inpainters.sh [extra torchgeo fit arguments]
#   CLOUD="inpainter_cloud" SHADOW="" SNOW="" bash docs/reproduce/gpu_fit_inpainters.sh
set -uo pipefail
OUT=${OUT:-out}
DATA=${DATA:-/tmp/scenes}
# the shipped inpainters' recipes (the zeroed-hole chains they replaced: CLOUD=
# "inpainter_cloud inpainter_cloud_swap", SHADOW="inpainter_shadow inpainter_shadow_adv")
CLOUD=${CLOUD-inpainter_cloud_over}
SHADOW=${SHADOW-inpainter_shadow_over}
SNOW=${SNOW-inpainter_snow inpainter_snow_adv inpainter_snow_adv2 inpainter_snow_adv_wide}
export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
mkdir -p "$OUT"
EXTRA=("$@")  # extra torchgeo fit arguments, for every stage
chain() {
  for config in "$@"; do
    start=$SECONDS
    python3 -m torchgeo fit --config "docs/configs/$config.yaml" \
      --data.dict_kwargs.paths "$DATA" "${EXTRA[@]}" >"$OUT/$config.log" 2>&1 || return 1
    ckpt=output/${config}/last.ckpt
    echo "$config: fit $((SECONDS - start)) s, $ckpt" >>"$OUT/times.txt"
    # the inpainter (its moving average where the stage kept one) as shipped files are
    python3 -m torchgeo_csia.cli export "$ckpt" "$OUT/$config" || return 1
  done
}
# shellcheck disable=SC2086
{ [ -z "$CLOUD" ] || chain $CLOUD & } ; { [ -z "$SHADOW" ] || chain $SHADOW & } ; { [ -z "$SNOW" ] || chain $SNOW & }
wait
cat "$OUT/times.txt"
grep -h -E 'val_|Traceback|Error' "$OUT"/*.log | tail -n 40
