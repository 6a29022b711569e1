#!/usr/bin/env bash
# On the GPU machine: the CSIA benchmark (alone on the GPU), then inpainters
# conditioned on the class's mean radiance trained side by side, their hole
# reconstruction next to the shipped ones, and the realism measure of both sets
# against the shipped BASE segmenter.
set -uo pipefail
source "$(dirname "$0")/setup.sh"
mkdir -p "$OUT/real"
BASE=$(ls models/segmentation_models/csia_segmenter_base_*.pth | head -1)
[ "${BENCH:-1}" = 1 ] && timeout 170 $CLI bench 2>&1 | grep -v Warning | tee "$OUT/real/bench.txt"
for c in cloud shadow snow; do
  $CLI train-inpainter --pack $PACK --class $c --condition ${CONDITION:-class} --out "$OUT/real/$c" --steps 2400 \
    --max-minutes ${MINUTES:-3.6} > "$OUT/real/$c.log" 2>&1 &
done
wait
grep -h "time limit\|wrote\|Error" "$OUT"/real/*.log
for c in cloud shadow snow; do
  ls models/inpainting_models/csia_inpainter_${c}_photo-*.pth
  $CLI evaluate-inpainters --pack $PACK --class $c --json "$OUT/real/eval.jsonl" \
    --weights "$OUT"/real/$c/*.pth
done
echo "realism, shipped inpainters:"
$CLI realism --pack $PACK --weights $BASE --out "$OUT/real/realism_shipped.json"
echo "realism, conditioned inpainters:"
$CLI realism --pack $PACK --weights $BASE --out "$OUT/real/realism_conditioned.json" \
  --examples "$OUT/real/examples.pt" \
  --inpainters "$OUT"/real/cloud/*.pth "$OUT"/real/shadow/*.pth "$OUT"/real/snow/*.pth
rm -f "$OUT"/real/*/last.ckpt
cp "$OUT"/real/*/*.pth "$OUT"/ && rm -f "$OUT"/real/*/*.pth
tar -C "$OUT" -cf "$OUT/real.tar" real && rm -rf "$OUT/real"
