#!/usr/bin/env bash
# Prepare, on this (development) machine, what the GPU machine needs to run the geo
# stack (torchgeo 0.10.1 and its readers), the SPARCS scenes and a snapshot of the
# code: it has none of them, and one device call carries at most 64 MiB with the
# checkout (34 MB of it with models/, 4 MB without). So everything goes in packs of at
# most PACK bytes (.pk1, .pk2, ...: the wheels, pyogrio's split in two, every scene
# of the SPARCS folder, and snap.tar, a git archive of HEAD with the inpainters and
# the structure bank), each carried by its own call while the machine stays warm
# (30 s after each call) and unpacked into /tmp there by unpack_geo.sh, which installs
# the wheels into /tmp/site once the last one has come:
#
#   bash docs/reproduce/stage_geo.sh [SPARCS folder]
#   call N, carry .pkN and nothing else: bash docs/reproduce/unpack_geo.sh .pkN
#
# The default PACK (28 MB) leaves room for the whole checkout: 7 calls for the 60
# scenes. With models/ moved out of the working tree for those calls (the snapshot
# has what the runs need: export TORCHGEO_CSIA_MODELS=/tmp/snap/models),
# PACK=61500000 takes 3 (as on 2026-12-02). Then run from /tmp/snap with the scenes
# in /tmp/scenes (docs/reproduce/gpu_ablation.sh). The folders are ignored by git
# (.git/info/exclude). Wheels: Python 3.12, x86-64.
set -euo pipefail
cd "$(dirname "$0")/../.."
SPARCS=${1:-../shared/data/sparcs}
PACK=${PACK:-28000000}
PY=${PY:-.venv/bin/python}
rm -rf .geo .pk[0-9]* && mkdir -p .geo
for d in .geo '.pk*'; do
  grep -qxF "/$d/" .git/info/exclude 2>/dev/null || echo "/$d/" >> .git/info/exclude
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
# pyogrio's wheel (33 MB) is split to fit a pack; unpack_geo.sh joins it
(cd .geo && split -b 25000000 pyogrio-*.whl pyogrio.part && rm pyogrio-*.whl)
git archive -o .geo/snap.tar HEAD torchgeo_csia docs/configs docs/reproduce \
  pyproject.toml models/inpainting_models models/structure_banks
"$PY" - "$SPARCS" "$PACK" <<'PYTHON'
import glob, os, shutil, sys
src, cap = sys.argv[1], int(sys.argv[2])
items = [(f, 'stage') for f in glob.glob('.geo/*') if not f.endswith('snap.tar')]
items.append(('.geo/snap.tar', ''))
items += [(f, 'scenes') for f in glob.glob(f'{src}/*') if os.path.isfile(f)]
items.sort(key=lambda item: -os.path.getsize(item[0]))
packs: list[list] = []  # first fit, largest first: few packs
for f, sub in items:
    size = os.path.getsize(f)
    if size > cap:
        sys.exit(f'{f} ({size} bytes) is larger than PACK ({cap})')
    pack = next((p for p in packs if p[0] + size <= cap), None)
    if pack is None:
        packs.append(pack := [0, []])
    pack[0] += size
    pack[1].append((f, sub))
wheels = sum(sub == 'stage' for _, sub in items)
for i, (size, files) in enumerate(packs, 1):
    for sub in ('stage', 'scenes'):
        os.makedirs(f'.pk{i}/{sub}', exist_ok=True)
    for f, sub in files:
        shutil.copy(f, os.path.join(f'.pk{i}', sub))
    with open(f'.pk{i}/wheels', 'w') as out:  # how many stage files make the set
        out.write(f'{wheels}\n')
    print(f'.pk{i}: {size / 1e6:.1f} MB, {len(files)} files')
PYTHON
