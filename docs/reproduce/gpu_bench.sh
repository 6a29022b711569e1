#!/usr/bin/env bash
# On the GPU machine: the CSIA benchmark (what ships, side by side; records in
# docs/results/bench-*.md).
set -uo pipefail
source "$(dirname "$0")/setup.sh"
$CLI bench 2>&1 | grep -v Warning
