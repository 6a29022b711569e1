# Sourced by docs/reproduce/gpu_bench.sh: $OUT, the carried wheels (kornia, smp, timm) and the CLI.
OUT=${OUT:-out}
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONUNBUFFERED=1
CLI="python3 -m torchgeo_csia.cli"
nvidia-smi -L
