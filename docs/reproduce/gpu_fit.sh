#!/usr/bin/env bash
# BASE and CSIA segmenters through the users' path: the base and csia_all_deep rows of
# docs/reproduce/gpu_ablation.sh (docs/configs/sparcs_base.yaml alone, and with the
# CSIA modes of docs/configs/sparcs_csia.yaml, which are csia_all_deep's), side by side
# on one GPU, each seed's pair scored on the val and the test scenes; see that script
# for the settings. The shipped pair is seed 0 of these two rows (base at 6c4c287,
# csia_all_deep at 34ad8f8, docs/results/ablation-h200-2026-12-01.md).
# (Until commit 394f471 this script ran sparcs_{base,csia}.yaml itself, scored val
# and test together and exported with every tensor in fp16: the segmenters shipped
# before came from it at 5e7253f. Until the shipped recipe took shadow_depth its CSIA
# row was csia_all.)
#   SEEDS="0" EXPORT=0 bash docs/reproduce/gpu_fit.sh [extra torchgeo fit arguments]
ROWS=${ROWS:-base csia_all_deep} exec bash "$(dirname "$0")/gpu_ablation.sh" "$@"
