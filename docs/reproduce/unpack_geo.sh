#!/usr/bin/env bash
# On the GPU machine, one call per pack that docs/reproduce/stage_geo.sh made: copy
# the pack's wheels to /tmp/stage, its scenes to /tmp/scenes, its snapshot of the code
# to /tmp/snap, and, once every wheel has come (the count in the pack's `wheels`),
# join pyogrio's parts and install the wheels into /tmp/site (no index, no
# dependencies: the machine has torch and the rest).
#   bash docs/reproduce/unpack_geo.sh .pkN
set -euo pipefail
pack=${1:?usage: unpack_geo.sh PACK}
mkdir -p /tmp/stage /tmp/scenes /tmp/snap
cp "$pack"/stage/* /tmp/stage/ 2>/dev/null || true
cp "$pack"/scenes/* /tmp/scenes/ 2>/dev/null || true
if [ -f "$pack/snap.tar" ]; then tar -xf "$pack/snap.tar" -C /tmp/snap; fi
have=$(find /tmp/stage -maxdepth 1 -type f | wc -l)
echo "$pack: $have of $(cat "$pack/wheels") wheel files, $(ls /tmp/scenes | wc -l) scene files"
if [ "$have" -eq "$(cat "$pack/wheels")" ]; then
  cd /tmp/stage
  cat pyogrio.part* > pyogrio-0.13.0-cp311-abi3-manylinux_2_28_x86_64.whl
  rm pyogrio.part*
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site /tmp/stage/*.whl
  echo "installed into /tmp/site"
fi
