#!/usr/bin/env bash
# On the GPU machine: BASE and CSIA U-Net++ segmenters, three seeds each, side by side
# on one GPU, scored on the val and test scenes of the pack; then the realism measure
# of the shipped inpainters against BASE seed 0. Brings back the best BASE and CSIA
# weights (by val mean IoU) and every log.
set -uo pipefail
source "$(dirname "$0")/setup.sh"
mkdir -p "$OUT/seg"
STEPS=${STEPS:-2000}; MIN=${MINUTES:-7}; P=${P:-0.5}; FREE=${FREE:-0.5}
for seed in 0 1 2; do
  for v in ${VARIANTS:-base csia}; do
    $CLI train-segmenter --pack $PACK --variant $v --seed $seed --steps $STEPS --p $P --min-free $FREE \
      --max-minutes $MIN --out "$OUT/seg/$v$seed" > "$OUT/seg/$v$seed.log" 2>&1 &
  done
done
wait
grep -h "wrote\|time limit\|Error" "$OUT"/seg/*.log
[ -d "$OUT/seg/base0" ] && $CLI realism --pack $PACK --weights "$OUT"/seg/base0/*.pth --out "$OUT/seg/realism.json" --examples "$OUT/seg/examples.pt"
python3 - "$OUT" <<'PY'
import glob, json, os, shutil, sys
out = sys.argv[1]
for v in ('base', 'csia'):
    runs = sorted(glob.glob(f'{out}/seg/{v}?/*.json'))
    if not runs:
        continue
    best = max(runs, key=lambda p: json.load(open(p))['val']['mean'])
    for ext in ('.pth', '.json'):
        shutil.copy(best.replace('.json', ext), out)
    print(v, 'best by val mIoU:', os.path.basename(best))
PY
for v in ${VARIANTS:-base csia}; do for seed in 0 1 2; do
  [ -n "${KEEP_ALL:-}" ] && cp "$OUT"/seg/$v$seed/*.pth "$OUT"/ 2>/dev/null
done; done
rm -f "$OUT"/seg/*/*.pth
tar -C "$OUT" -cf "$OUT/seg.tar" seg && rm -rf "$OUT/seg"
ls -la "$OUT"
