#!/usr/bin/env bash
# The users' training step on the GPU: torchgeo fit with the shipped segmenter configs,
# one variant after another (never side by side, so each has the GPU to itself),
# STEPS steps each without validation, timed by the StepTimer callback
# (torchgeo_csia.experiments.steps: the mean step after SKIP warm-up steps) and
# profiled by Lightning's simple profiler. VARIANTS lists "NAME CONFIG [torchgeo fit
# arguments]" separated by ";". Needs the geo stack in /tmp/site and the SPARCS scenes
# in $DATA (docs/reproduce/stage_geo.sh). Writes $OUT/steps.txt and one log a variant.
#   VARIANTS="base sparcs_base; base_nchw sparcs_base --model.init_args.channels_last false" bash docs/reproduce/gpu_step.sh
set -uo pipefail
OUT=${OUT:-out}
DATA=${DATA:-/tmp/scenes}
STEPS=${STEPS:-300}
SKIP=${SKIP:-50}
VARIANTS=${VARIANTS:-base sparcs_base; csia sparcs_csia}
export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
mkdir -p "$OUT"
nvidia-smi -L
status=0
IFS=';' read -r -a variants <<<"$VARIANTS"
for variant in "${variants[@]}"; do
  read -r -a words <<<"$variant"
  name=${words[0]} config=${words[1]}
  python3 -m torchgeo fit --config "docs/configs/$config.yaml" \
    --data.dict_kwargs.paths "$DATA" "${words[@]:2}" \
    --trainer.max_steps "$STEPS" --trainer.limit_val_batches 0 \
    --trainer.num_sanity_val_steps 0 --trainer.logger false \
    --trainer.enable_checkpointing false --trainer.profiler simple \
    --trainer.default_root_dir "/tmp/step_$name" \
    --trainer.callbacks+=torchgeo_csia.experiments.steps.StepTimer \
    --trainer.callbacks.skip "$SKIP" --trainer.callbacks.label "$name" \
    --trainer.callbacks.out "$OUT/steps.txt" >"$OUT/step_$name.log" 2>&1 ||
    { echo "$name: failed" >>"$OUT/steps.txt"; status=1; }
  # where the step goes (Lightning's simple profiler: mean seconds a call)
  grep -E 'run_training_batch|training_step|backward|batch_to_device|on_after_batch_transfer|train_dataloader_next|optimizer_step' \
    "$OUT/step_$name.log" | grep -v '\[Callback\]' | sed "s/^/$name /" | cut -c1-160 >>"$OUT/profile.txt"
done
cat "$OUT/steps.txt" "$OUT/profile.txt"
grep -l -E 'Traceback' "$OUT"/step_*.log 2>/dev/null | xargs -r tail -n 25
exit $status
