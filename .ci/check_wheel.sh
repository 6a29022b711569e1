#!/usr/bin/env bash
# Build the wheel, install it into a temporary folder and, from another working
# directory with only that folder on PYTHONPATH, load every registered weight through
# TorchGeo's API (on the CPU) and the structure bank: the weights must work for an
# installed package, not only in a clone. Exits non-zero on any failure.
#   bash .ci/check_wheel.sh            (PYTHON=... to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)
case $PY in /*) ;; *) PY="$PWD/$PY" ;; esac
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# build from a copy of what the wheel needs, so nothing is written into the checkout
mkdir -p "$TMP/src" "$TMP/elsewhere"
cp -r pyproject.toml README.md torchgeo_csia models "$TMP/src/"
for f in LICENSE*; do [ -e "$f" ] && cp "$f" "$TMP/src/"; done
find "$TMP/src" -name __pycache__ -prune -exec rm -rf {} +
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$TMP/dist" "$TMP/src"
WHEEL=$(ls "$TMP"/dist/torchgeo_csia-*.whl)
echo "built $(basename "$WHEEL") ($(du -k "$WHEEL" | cut -f1) KiB)"
"$PY" -m pip install -q --no-deps --no-compile --target "$TMP/site" "$WHEEL"

cd "$TMP/elsewhere"
env -u TORCHGEO_CSIA_MODELS CUDA_VISIBLE_DEVICES= PYTHONPATH="$TMP/site" \
  "$PY" - "$TMP/site" <<'PY'
import sys
from pathlib import Path

import torch

site = Path(sys.argv[1]).resolve()
import torchgeo_csia  # registers the weights with TorchGeo

assert Path(torchgeo_csia.__file__).resolve().is_relative_to(site), (
    f'imported {torchgeo_csia.__file__}, not the installed copy under {site}'
)
from torchgeo.models import get_model, get_weight

from torchgeo_csia.models import weights
from torchgeo_csia.models._registry import MODELS

found = weights.models_dir().resolve()
assert found == site / 'torchgeo_csia' / '_models', f'weights looked up in {found}'
count = 0
for name, (_, enum) in MODELS.items():
    for member in enum:
        w = get_weight(str(member))
        state = w.get_state_dict()
        devices = {v.device.type for v in state.values() if torch.is_tensor(v)}
        assert devices == {'cpu'}, f'{member}: tensors on {devices}'
        get_model(name, weights=w)
        print(f'ok {member} ({Path(w.url).name}, {len(state)} tensors)')
        count += 1
from torchgeo_csia.transforms.sources import sparcs_bank
bank = sparcs_bank()
assert len(bank.pairs) > 0
print(f'ok structure bank ({len(bank.pairs)} pairs); {count} weights from {found}')
PY
echo "check_wheel: OK"
