#!/usr/bin/env bash
# On the GPU machine (torch there; kornia, smp and timm carried as wheels in .whl,
# the scene pack in .pack/sparcs_photo from `torchgeo-csia pack`):
# the CSIA benchmark, then the inpainters trained side by side, then their evaluation.
set -uo pipefail
source "$(dirname "$0")/setup.sh"
mkdir -p "$OUT/run"
timeout 200 $CLI bench 2>&1 | grep -v Warning | tee "$OUT/run/bench.txt"
MIN=${MINUTES:-5.5}
$CLI train-inpainter --pack $PACK --class cloud  --out "$OUT/run/cloud"  --steps 3000 --max-minutes $MIN > "$OUT/run/cloud.log" 2>&1 &
$CLI train-inpainter --pack $PACK --class shadow --out "$OUT/run/shadow" --steps 3000 --max-minutes $MIN > "$OUT/run/shadow.log" 2>&1 &
$CLI train-inpainter --pack $PACK --class snow   --out "$OUT/run/snow"   --steps 3000 --max-minutes $MIN > "$OUT/run/snow.log" 2>&1 &
$CLI train-inpainter --pack $PACK --class cloud  --out "$OUT/run/cloud_l1" --texture 0 --steps 3000 --max-minutes $MIN > "$OUT/run/cloud_l1.log" 2>&1 &
$CLI train-inpainter --pack $PACK --class cloud  --out "$OUT/run/cloud_b0" --encoder tu-efficientnet_b0 --decoder-channels 256 128 64 32 16 --steps 3000 --max-minutes $MIN > "$OUT/run/cloud_b0.log" 2>&1 &
wait
grep -h "step .*00/\|time limit\|wrote\|Error" "$OUT"/run/*.log | tail -40
for c in cloud shadow snow; do
  $CLI evaluate-inpainters --pack $PACK --class $c --weights "$OUT"/run/$c/*.pth --json "$OUT/run/eval.jsonl"
done
$CLI evaluate-inpainters --pack $PACK --class cloud --json "$OUT/run/eval.jsonl" \
  --weights "$OUT"/run/cloud/*.pth "$OUT"/run/cloud_l1/*.pth "$OUT"/run/cloud_b0/*.pth
rm -f "$OUT"/run/*/last.ckpt "$OUT"/run/cloud_b0/*.pth
tar -C "$OUT" -cf "$OUT/results.tar" run && rm -rf "$OUT/run"
