#!/usr/bin/env bash
# On the GPU machine: the CSIA benchmark, with and without cuDNN's benchmark mode.
set -uo pipefail
source "$(dirname "$0")/setup.sh"
$CLI bench 2>&1 | grep -v Warning
$CLI bench --no-cudnn-benchmark 2>&1 | grep -v Warning
