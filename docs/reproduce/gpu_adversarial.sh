#!/usr/bin/env bash
# On the GPU machine: inpainters fine-tuned with the adversarial term, side by side;
# their hole reconstruction; then the realism measure of sets of them against the
# shipped BASE segmenter.
#   STAGE=1: from the L1-trained inpainters in models/, adversarial weights 0.05 and 0.2.
#   STAGE=2: from stage 1's 0.05 runs, carried in .adv/ (<class>_low.pth and .json).
#   STAGE=3: from the shipped (stage 1/2) shadow and snow: a wider critic, larger
#            structures only (share of the class in the crop 0.3-1).
#   STAGE=4: from the shipped snow and cloud: structures moved onto label-free
#            crops of other scenes (--swap), against more of the shipped recipe.
#   STAGE=5: from the shipped snow: crops drawn by snow pixels (--weighted), a
#            moving average of the weights (--ema), a second seed of the recipe.
#   STAGE=6: from the shipped snow: structures moved onto clear ground with the
#            critic judging real structures on the same ground (--critic-real
#            swapped), with a moving average, snow-weighted crops, a wider critic
#            or half the batch moved; against more of the shipped recipe.
#   STAGE=7: from the shipped snow, gently: learning rate 5e-5, a moving average of
#            the weights, a smaller adversarial weight, an L1-only control; realism
#            on label-free crops of the train scenes (to choose) and of the
#            held-out scenes (to report).
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
realism() {  # name cloud shadow snow [extra realism args]
  [ $SECONDS -gt ${DEADLINE:-100000} ] && { echo "realism, $1: skipped (time)"; return; }
  echo "realism, $1:"
  local name=$1; shift
  $CLI realism --pack $PACK --weights $BASE --out "$OUT/adv/realism_$name.json" \
    --figure "$OUT/adv/realism_$name.png" --inpainters "$@"
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
elif [ "$STAGE" = 4 ]; then
  run snow_more snow "$(shipped snow)" 2500 --adversarial 0.05 --critic-width 64
  run snow_swap snow "$(shipped snow)" 2500 --adversarial 0.05 --critic-width 64 --swap 0.5
  run snow_swap1 snow "$(shipped snow)" 2500 --adversarial 0.05 --critic-width 64 --swap 1
  run snow_swapl1 snow "$(shipped snow)" 2500 --swap 0.5
  run snow_swap128 snow "$(shipped snow)" 2500 --adversarial 0.05 --critic-width 128 --swap 0.5
  run cloud_swap cloud "$(shipped cloud)" 2500 --swap 0.5
  wait
  realism shipped $(shipped cloud) $(shipped shadow) $(shipped snow)
  realism swap $(new cloud_swap) $(shipped shadow) $(new snow_swap)
  realism swap1 $(shipped cloud) $(shipped shadow) $(new snow_swap1)
  realism swapl1 $(shipped cloud) $(shipped shadow) $(new snow_swapl1)
  realism swap128 $(shipped cloud) $(shipped shadow) $(new snow_swap128)
  realism more $(shipped cloud) $(shipped shadow) $(new snow_more)
elif [ "$STAGE" = 5 ]; then
  w64="--adversarial 0.05 --critic-width 64"
  run snow_wt snow "$(shipped snow)" 2500 $w64 --weighted --share 0.03 1
  run snow_wt_ema snow "$(shipped snow)" 2500 $w64 --weighted --share 0.03 1 --ema 0.998
  run snow_wt_s1 snow "$(shipped snow)" 2500 $w64 --weighted --share 0.03 1 --seed 1
  run snow_ema snow "$(shipped snow)" 2500 $w64 --ema 0.998
  run snow_more_s1 snow "$(shipped snow)" 2500 $w64 --seed 1
  run cloud_swap1 cloud "$(shipped cloud)" 2500 --swap 1
  wait
  realism wt $(new cloud_swap1) $(shipped shadow) $(new snow_wt)
  realism wt_ema $(shipped cloud) $(shipped shadow) $(new snow_wt_ema)
  realism wt_s1 $(shipped cloud) $(shipped shadow) $(new snow_wt_s1)
  realism ema $(shipped cloud) $(shipped shadow) $(new snow_ema)
  realism more_s1 $(shipped cloud) $(shipped shadow) $(new snow_more_s1)
elif [ "$STAGE" = 6 ]; then
  sw="--swap 1 --critic-real swapped --adversarial 0.05"
  run snow_sw snow "$(shipped snow)" 2500 $sw --critic-width 64
  run snow_sw_ema snow "$(shipped snow)" 2500 $sw --critic-width 64 --ema 0.999
  run snow_sw_wt snow "$(shipped snow)" 2500 $sw --critic-width 64 --weighted --share 0.03 1
  run snow_sw128 snow "$(shipped snow)" 2500 $sw --critic-width 128
  run snow_sw_half snow "$(shipped snow)" 2500 --swap 0.5 --critic-real swapped --adversarial 0.05 --critic-width 64
  run snow_more snow "$(shipped snow)" 2500 --adversarial 0.05 --critic-width 64
  wait
  realism shipped $(shipped cloud) $(shipped shadow) $(shipped snow)
  for v in sw sw_ema sw_wt sw128 sw_half more; do
    realism $v $(shipped cloud) $(shipped shadow) $(new snow_$v)
  done
elif [ "$STAGE" = 7 ]; then
  g="--critic-width 64 --lr 5e-5"
  run snow_g_ema snow "$(shipped snow)" 2500 $g --adversarial 0.05 --ema 0.995
  run snow_g snow "$(shipped snow)" 2500 $g --adversarial 0.05
  run snow_g02_ema snow "$(shipped snow)" 2500 $g --adversarial 0.02 --ema 0.995
  run snow_more_ema snow "$(shipped snow)" 2500 --critic-width 64 --adversarial 0.05 --ema 0.995
  run snow_g_l1 snow "$(shipped snow)" 2500 --lr 5e-5
  wait
  set_of() { echo $(shipped cloud) $(shipped shadow) $1; }
  for v in shipped g_ema g g02_ema more_ema g_l1; do
    w=$([ $v = shipped ] && shipped snow || new snow_$v)
    realism train_$v $(set_of $w) --splits train --count 128
  done
  for v in shipped g_ema g g02_ema more_ema g_l1; do
    w=$([ $v = shipped ] && shipped snow || new snow_$v)
    realism $v $(set_of $w)
  done
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
  [ $SECONDS -gt ${DEADLINE:-100000} ] && break
  ls "$OUT"/adv/${c}_*/*.pth >/dev/null 2>&1 || continue
  $CLI evaluate-inpainters --pack $PACK --class $c --json "$OUT/adv/eval.jsonl" \
    --weights $(shipped $c) "$OUT"/adv/${c}_*/*.pth
done
rm -f "$OUT"/adv/*/last.ckpt
for d in "$OUT"/adv/*/; do n=$(basename "$d"); mv "$d"/*.pth "$OUT/$n.pth"; done
tar -C "$OUT" -czf "$OUT/adv.tgz" adv && rm -rf "$OUT/adv"
ls -la "$OUT"
