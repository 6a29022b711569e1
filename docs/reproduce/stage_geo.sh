#!/usr/bin/env bash
# Prepare, on this (development) machine, what the GPU machine needs to run the geo
# stack (torchgeo 0.10.1 and its readers) and real SPARCS scenes: it has neither, and
# one device call carries at most 64 MiB beside the checkout (about 34 MB of it is the
# checkout itself). So the wheels go in three folders of at most 28 MB (pyogrio's wheel
# split in two), and a subset of real scenes in a fourth, each carried by its own call
# while the machine stays warm (30 s after each call), into /tmp/stage there:
#
#   bash docs/reproduce/stage_geo.sh [SPARCS folder] [train scenes]
#   call 1, carry .stage1: mkdir -p /tmp/stage && cp .stage1/* /tmp/stage/
#   call 2, carry .stage2: cp .stage2/* /tmp/stage/
#   call 3, carry .stage3: cp .stage3/* /tmp/stage/ && cd /tmp/stage &&
#       cat pyogrio.part* > pyogrio-0.13.0-cp311-abi3-manylinux_2_28_x86_64.whl &&
#       rm pyogrio.part* && python3 -m pip install -q --no-index --no-deps \
#       --no-compile --no-cache-dir --target /tmp/site /tmp/stage/*.whl
#   call 4, carry .scenes: export PYTHONPATH=/tmp/site:$PWD; python3 -c "from
#       torchgeo_csia.experiments.bench_data import loader; loader('.scenes')"
#
# The folders are ignored by git (.git/info/exclude). Wheels: Python 3.12, x86-64.
set -euo pipefail
cd "$(dirname "$0")/../.."
SPARCS=${1:-../shared/data/sparcs}
TRAIN=${2:-12}
PY=${PY:-.venv/bin/python}
for d in .geo .stage1 .stage2 .stage3 .scenes; do
  rm -rf "$d" && mkdir -p "$d" && (grep -qx "/$d/" .git/info/exclude 2>/dev/null || echo "/$d/" >> .git/info/exclude)
done
download() {
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
    -d "$1" "${@:2}"
}
download .geo rasterio==1.4.3 pyproj==3.7.1 pyogrio==0.13.0 shapely==2.2.0 \
  geopandas==1.2.0 torchgeo==0.10.1 lightly==1.6.0 lightly_utils==0.0.2 \
  hydra-core==1.3.8 omegaconf==2.3.1 jsonargparse==4.53.0 typeshed_client==2.15.0 \
  docstring_parser==0.18.0 affine==2.4.0 click-plugins cligj \
  kornia==0.9.0 kornia_rs==0.2.0 segmentation_models_pytorch==0.6.0 timm==1.0.31
# antlr4 (hydra's parser runtime) has no wheel on PyPI: build one (pure Python)
"$PY" -m pip wheel -q --no-deps -w .geo antlr4-python3-runtime==4.9.3
cd .geo
cp rasterio* shapely* affine* click_plugins* cligj* docstring* hydra* jsonargparse* \
  lightly* omegaconf* typeshed* antlr4* ../.stage1/
split -b 28000000 pyogrio-*.whl ../.stage2/pyogrio.part
mv ../.stage2/pyogrio.partab ../.stage3/
cp pyproj* torchgeo* geopandas* kornia* segmentation_models* timm* ../.stage3/
cd ..
# train scenes plus two val scenes (SPARCSDataModule.setup('fit') builds val too)
"$PY" - "$SPARCS" "$TRAIN" <<'PYTHON'
import glob, os, shutil, sys
from torchgeo_csia.datasets import SPARCS
src, train = sys.argv[1], int(sys.argv[2])
ids = sorted({os.path.basename(f)[:24] for f in glob.glob(f'{src}/*_mask.png')})
pick = [i for i in ids if SPARCS.split_of(i) == 'train'][:train]
pick += [i for i in ids if SPARCS.split_of(i) == 'val'][:2]
for sid in pick:
    for f in glob.glob(f'{src}/{sid}_*') + glob.glob(f'{src}/{sid[:21]}_mtl.txt'):
        shutil.copy(f, '.scenes/')
print(f'{len(pick)} scenes in .scenes')
PYTHON
du -sh .stage1 .stage2 .stage3 .scenes
