#!/usr/bin/env bash
# On the GPU machine: inpainters fine-tuned with the adversarial term, side by side;
# their hole reconstruction; then the realism measure of sets of them against the
# shipped BASE segmenter.
#   STAGE=1: from the L1-trained inpainters in models/, adversarial weights 0.05 and 0.2.
#   STAGE=2: from stage 1's 0.05 runs, carried in .adv/ (<class>_low.pth and .json).
#   STAGE=3: from the shipped (stage 1/2) shadow and snow: a wider critic, larger
#            structures only (share of the class in the crop 0.3-1).
set -uo pipefail
source "$(dirname "$0")/setup.sh"
mkdir -p "$OUT/adv"
BASE=$(ls models/segmentation_models/csia_segmenter_base_*.pth | head -1)
MIN=${MINUTES:-4.5}
shipped() { ls models/inpainting_models/csia_inpainter_$1_photo-*.pth; }
run() {  # name class init steps extra-args...
  local name=$1 c=$2 init=$3 steps=$4; shift 4
  $CLI train-inpainter --pack $PACK --class $c --init "$init" --lr 2e-4 --steps $steps \
    --max-minutes $MIN --out "$OUT/adv/$name" "$@" > "$OUT/adv/$name.log" 2>&1 &
}
realism() {  # name cloud shadow snow
  echo "realism, $1:"
  $CLI realism --pack $PACK --weights $BASE --out "$OUT/adv/realism_$1.json" \
    --figure "$OUT/adv/realism_$1.png" --inpainters $2 $3 $4
}
new() { ls "$OUT"/adv/$1/*.pth; }
if [ "${STAGE:-1}" = 1 ]; then
  for c in cloud shadow snow; do
    run ${c}_low $c "$(shipped $c)" 1500 --adversarial 0.05
    run ${c}_high $c "$(shipped $c)" 1500 --adversarial 0.2
  done
  wait
  realism shipped $(shipped cloud) $(shipped shadow) $(shipped snow)
  realism low $(new cloud_low) $(new shadow_low) $(new snow_low)
  realism high $(new cloud_high) $(new shadow_high) $(new snow_high)
elif [ "$STAGE" = 3 ]; then
  run snow_w64 snow "$(shipped snow)" 2500 --adversarial 0.05 --critic-width 64
  run snow_big snow "$(shipped snow)" 2500 --adversarial 0.05 --share 0.3 1
  run snow_big64 snow "$(shipped snow)" 2500 --adversarial 0.05 --share 0.3 1 --critic-width 64
  run shadow_w64 shadow "$(shipped shadow)" 2500 --adversarial 0.05 --critic-width 64
  run shadow_big shadow "$(shipped shadow)" 2500 --adversarial 0.05 --share 0.3 1
  wait
  realism w64 $(shipped cloud) $(new shadow_w64) $(new snow_w64)
  realism big $(shipped cloud) $(new shadow_big) $(new snow_big)
  realism big64 $(shipped cloud) $(shipped shadow) $(new snow_big64)
else
  run shadow_a shadow .adv/shadow_low.pth 2500 --adversarial 0.05
  run shadow_b shadow .adv/shadow_low.pth 2500 --adversarial 0.1
  run snow_a snow .adv/snow_low.pth 2500 --adversarial 0.05
  run snow_b snow .adv/snow_low.pth 2500 --adversarial 0.1
  run snow_c snow .adv/snow_low.pth 2500 --adversarial 0.05 --condition sample
  run cloud_a cloud "$(shipped cloud)" 2500 --adversarial 0.01
  wait
  realism a $(shipped cloud) $(new shadow_a) $(new snow_a)
  realism b $(shipped cloud) $(new shadow_b) $(new snow_b)
  realism c $(new cloud_a) $(new shadow_a) $(new snow_c)
fi
grep -h "time limit\|wrote\|Error" "$OUT"/adv/*.log
for c in cloud shadow snow; do
  ls "$OUT"/adv/${c}_*/*.pth >/dev/null 2>&1 || continue
  $CLI evaluate-inpainters --pack $PACK --class $c --json "$OUT/adv/eval.jsonl" \
    --weights $(shipped $c) "$OUT"/adv/${c}_*/*.pth
done
rm -f "$OUT"/adv/*/last.ckpt
for d in "$OUT"/adv/*/; do n=$(basename "$d"); mv "$d"/*.pth "$OUT/$n.pth"; done
tar -C "$OUT" -czf "$OUT/adv.tgz" adv && rm -rf "$OUT/adv"
ls -la "$OUT"
