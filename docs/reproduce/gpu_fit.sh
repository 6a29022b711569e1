#!/usr/bin/env bash
# BASE and CSIA segmenters through the users' path: the base and csia_all rows of
# docs/reproduce/gpu_ablation.sh (docs/configs/sparcs_base.yaml alone, and with the
# CSIA modes of docs/configs/sparcs_csia.yaml), side by side on one GPU, each seed's
# pair scored on the val and the test scenes; see that script for the settings.
# (Until commit 394f471 this script ran sparcs_{base,csia}.yaml itself, scored val
# and test together and exported with every tensor in fp16: the shipped segmenters
# came from it at 5e7253f.)
#   SEEDS="0" EXPORT=0 bash docs/reproduce/gpu_fit.sh [extra torchgeo fit arguments]
ROWS=${ROWS:-base csia_all} exec bash "$(dirname "$0")/gpu_ablation.sh" "$@"
