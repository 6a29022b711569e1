#!/usr/bin/env bash
# On the GPU machine: BASE and CSIA U-Net++ segmenters side by side on one GPU, scored
# on the val and test scenes of the pack; then the realism measure of the shipped
# inpainters against BASE seed 0 when it ran. Brings back the best weights of each
# variant and CSIA setting (by val mean IoU) and every log.
#   VARIANTS (base csia), SEEDS (0 1 2), CONFIGS: CSIA settings as p:min_free (0.5:0.5).
set -uo pipefail
source "$(dirname "$0")/setup.sh"
mkdir -p "$OUT/seg"
STEPS=${STEPS:-2000}; MIN=${MINUTES:-7}
for seed in ${SEEDS:-0 1 2}; do
  for v in ${VARIANTS:-base csia}; do
    for c in ${CONFIGS:-0.5:0.5}; do
      name=${v}_p${c%:*}_f${c#*:}_s$seed
      $CLI train-segmenter --pack $PACK --variant $v --seed $seed --steps $STEPS --p ${c%:*} \
        --min-free ${c#*:} --max-minutes $MIN --out "$OUT/seg/$name" > "$OUT/seg/$name.log" 2>&1 &
      [ $v = base ] && break  # the CSIA settings do not touch BASE
    done
  done
done
wait
grep -h "wrote\|time limit\|Error" "$OUT"/seg/*.log
BASE0=$(ls "$OUT"/seg/base_*_s0/*.pth 2>/dev/null | head -1)
[ -n "$BASE0" ] && $CLI realism --pack $PACK --weights "$BASE0" --out "$OUT/seg/realism.json"
python3 - "$OUT" <<'PY'
import glob, json, os, shutil, sys
out = sys.argv[1]
groups = {}
for p in glob.glob(f'{out}/seg/*_s?/*.json'):
    groups.setdefault(os.path.basename(os.path.dirname(p)).rsplit('_s', 1)[0], []).append(p)
for name, runs in sorted(groups.items()):
    best = max(runs, key=lambda p: json.load(open(p))['val']['mean'])
    for ext in ('.pth', '.json'):
        shutil.copy(best.replace('.json', ext), out)
    print(name, 'best by val mIoU:', os.path.basename(best))
PY
rm -f "$OUT"/seg/*/*.pth
tar -C "$OUT" -cf "$OUT/seg.tar" seg && rm -rf "$OUT/seg"
ls -la "$OUT"
