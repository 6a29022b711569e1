#!/usr/bin/env bash
# The paired many-seed ablation (issue 17, item 3) through the users' path, as
# docs/reproduce/gpu_fit.sh runs it for BASE and CSIA: for every row of ROWS and seed of
# SEEDS, torchgeo fit with docs/configs/sparcs_base.yaml and the row's override
# docs/configs/ablation/ROW.yaml, --seed_everything SEED for every row (so the
# initialisation and the crop order are the same for every row of a seed), then
# torchgeo test twice: on the val scenes (where rows are chosen) and on the test
# scenes (reported once). At most JOBS runs side by side on the one GPU. Needs the
# geo stack in /tmp/site and the SPARCS scenes in $DATA (docs/reproduce/stage_geo.sh).
# Writes under $OUT: each run's fit log, its two test tables
# (test_ROW_sSEED_{val,test}.txt), the metrics in machine-readable form
# (metrics/ROW_sSEED/{fit,val,test}/metrics.csv, Lightning's CSVLogger; fit's holds
# the validation IoU of every VAL_EVERY steps, a learning curve; val's and test's
# scenes.csv each scene's confusion, for an interval over scenes: the module's
# --scenes), the wall times, and
# the weights (fp16 CPU state dict) of the seeds in EXPORT. Then
#   python -m torchgeo_csia.experiments.ablation $OUT
# prints the ablation table (per row and class mean +- sd over seeds on val, the
# paired difference to base with a 95 % t-interval, test beside).
#   ROWS="base transplant csia_all" SEEDS="0" JOBS=3 bash docs/reproduce/gpu_ablation.sh [extra torchgeo fit arguments]
# STEPS sets the schedule length (max_steps, and one epoch of STEPS x BATCH crops);
# VAL_EVERY validates on the val crops (and checkpoints) every so many steps (without
# it fit skips validation: the val scenes are scored whole by torchgeo test after
# it). On one H200 the throughput of runs side by side did not grow past two at once
# through torchgeo fit (10-12 steps/s in all, 4-6 loading workers each; see
# docs/results/fit-h200-2026-12-01b.md), so a 600 s call fits two or three 2,000-step
# runs: JOBS=3 and, e.g., --data.init_args.num_workers 4. MAX_TIME (DD:HH:MM:SS,
# Lightning's max_time) stops the fits before the call's limit; a run stopped short
# of STEPS is listed and not tested. A run is carried over calls: run the same
# command again (with RUNS kept, e.g. /tmp on a machine that stays up) and each run
# stopped short resumes from its last checkpoint (--ckpt_path), drawing the crops
# the interrupted fit would have drawn and its augmentations taking up their random
# stream (the datamodule's state in the checkpoint), so the rows of a seed stay
# paired; a run already fit is only tested. MAX_TIME is a run's fit time over all
# its calls (Lightning's timer keeps the elapsed time in the checkpoint), so raise
# it for the next call. A fit resumed logs to a new version folder:
# metrics/ROW_sSEED/fit/version_N/metrics.csv, one per call.
set -uo pipefail
OUT=${OUT:-out}
DATA=${DATA:-/tmp/scenes}
ROWS=${ROWS:-base photometric transplant copy_paste csia_cloud_shadow csia_shadow_for_clouds csia_snow csia_all csia_all_seen csia_all_deep csia_all_deep_adjusted csia_all_deep_clouds csia_all_clouds_banded plasma csia_authors_reach}
SEEDS=${SEEDS:-${SEED:-0}}
JOBS=${JOBS:-3}
STEPS=${STEPS:-2000}
BATCH=${BATCH:-32}
VAL_EVERY=${VAL_EVERY:-}
MAX_TIME=${MAX_TIME:-}
EXPORT=${EXPORT:-}
RUNS=${RUNS:-/tmp/ablation}
export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
mkdir -p "$OUT/metrics"
: >"$OUT/times.txt"  # this call's status only
for row in $ROWS; do
  [ -f "docs/configs/ablation/$row.yaml" ] || { echo "no row $row" >&2; exit 2; }
done

latest() {  # the newest checkpoint under $1 (none: empty)
  find "$1" -name '*.ckpt' 2>/dev/null | xargs -r ls -t | head -n 1
}

run() {  # one row and seed: fit, then test on val and on test
  local row=$1 seed=$2 name=${1}_s$2
  shift 2  # the rest: extra torchgeo arguments
  local dir=$RUNS/$name start=$SECONDS
  local configs=(--config docs/configs/sparcs_base.yaml --config "docs/configs/ablation/$row.yaml")
  local common=(--data.dict_kwargs.paths "$DATA" --seed_everything "$seed")
  local fit=(--trainer.max_steps "$STEPS" --data.init_args.length $((STEPS * BATCH))
    --data.init_args.batch_size "$BATCH" --trainer.default_root_dir "$dir"
    --trainer.logger CSVLogger --trainer.logger.save_dir "$dir" --trainer.logger.name fit)
  # the val crops are scored during fit only for a curve: torchgeo test scores the
  # whole val scenes after it (validation changes nothing in the one-cycle training)
  if [ -n "$VAL_EVERY" ]; then
    fit+=(--trainer.val_check_interval "$VAL_EVERY")
  else
    fit+=(--trainer.limit_val_batches 0 --trainer.num_sanity_val_steps 0)
  fi
  [ -n "$MAX_TIME" ] && fit+=(--trainer.max_time "$MAX_TIME")
  local ckpt
  ckpt=$(latest "$dir")
  case $ckpt in
    *"step=$STEPS.ckpt") ;;  # fit in an earlier call: test it
    *)
      [ -n "$ckpt" ] && fit+=(--ckpt_path "$ckpt")  # stopped short: resume
      python3 -m torchgeo fit "${configs[@]}" "${common[@]}" "${fit[@]}" "$@" \
        >>"$OUT/fit_$name.log" 2>&1 || { echo "$name: fit failed" >>"$OUT/times.txt"; return 1; }
      ckpt=$(latest "$dir") ;;
  esac
  local version
  for version in "$dir"/fit/version_*; do  # one per call
    [ -f "$version/metrics.csv" ] || continue
    mkdir -p "$OUT/metrics/$name/fit/${version##*/}"
    cp "$version/metrics.csv" "$OUT/metrics/$name/fit/${version##*/}/"
  done
  echo "$name: fit $((SECONDS - start)) s, $ckpt" >>"$OUT/times.txt"
  case $ckpt in *"step=$STEPS.ckpt") ;; *)
    echo "$name: stopped short of step $STEPS; not tested" >>"$OUT/times.txt"
    return 0 ;;
  esac
  for split in val test; do
    python3 -m torchgeo test "${configs[@]}" "${common[@]}" \
      --data.init_args.test_splits "[$split]" --trainer.default_root_dir "$dir" \
      --trainer.logger CSVLogger --trainer.logger.save_dir "$OUT/metrics" \
      --trainer.logger.name "$name" --trainer.logger.version "$split" \
      --ckpt_path "$ckpt" "$@" >"$OUT/test_${name}_$split.txt" 2>&1 ||
      echo "$name: test $split failed" >>"$OUT/times.txt"
  done
  case " $EXPORT " in *" $seed "*)
    python3 -m torchgeo_csia.cli export "$ckpt" "$OUT/csia_segmenter_${row}_photo_s$seed" ||
      echo "$name: export failed" >>"$OUT/times.txt"
  esac
}

# seed by seed, so an interrupted call leaves whole seeds (every row paired)
for seed in $SEEDS; do
  for row in $ROWS; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    run "$row" "$seed" "$@" &
  done
done
wait
cat "$OUT/times.txt"
for f in "$OUT"/test_*.txt; do [ -f "$f" ] && { echo "$f"; grep -E 'ClasswiseJaccard' "$f"; }; done
# the end of any run that failed
grep -l -E 'Traceback|Error' "$OUT"/*.log "$OUT"/*.txt 2>/dev/null | xargs -r tail -n 25
# the status: 1 if any run failed or stopped short of its schedule
! grep -q -E 'failed|not tested' "$OUT/times.txt"
