"""
Training with CSIA: ``torchgeo fit``
====================================

The shipped CSIA recipe, ``docs/configs/sparcs_csia.yaml``, is a LightningCLI config
for ``torchgeo fit``: the task
:class:`~torchgeo_csia.tasks.segmentation.CSIASegmentation`, the datamodule
:class:`~torchgeo_csia.datamodules.sparcs.SPARCSDataModule` and the CSIA modes in its
``csia`` list, which run on each training batch after it reaches the device.

Written for a GPU; on a CPU override the accelerator, the precision and the loading
workers, as here. Two training steps of tiny batches, to see it run (the recipe
trains 2,000 steps of 32 patches of 256 px).
"""

import glob
import os
import tempfile

import torch
import yaml
from torchgeo.main import main

from torchgeo_csia.datasets.synthetic import real_or_sample

# the real scenes where this machine has them, else a generated sample
root = real_or_sample(os.path.join('..', '..', '..', 'shared', 'data', 'sparcs'))
out = tempfile.mkdtemp()  # logs and checkpoints go here, not beside the scenes

# %%
# The CSIA modes on a CPU
# -----------------------
# The recipe runs the inpainters under bf16 autocast, which pays on a GPU and is
# slow on a CPU: a second config, given after the recipe, sets each CSIA mode's
# ``autocast`` to null (the modes keep the recipe's other arguments).
recipe = yaml.safe_load(open('../configs/sparcs_csia.yaml'))
csia = recipe['data']['init_args']['csia']
for mode in csia:
    mode['init_args']['autocast'] = None
print(yaml.safe_dump(csia, sort_keys=False))
cpu = os.path.join(out, 'csia_cpu.yaml')
with open(cpu, 'w') as f:
    yaml.safe_dump({'data': {'init_args': {'csia': csia}}}, f)

# %%
# The command, as on a shell
# --------------------------
# ``torchgeo fit --config docs/configs/sparcs_csia.yaml --config csia_cpu.yaml``
# followed by the overrides below (the same arguments, from Python).
main(
    [
        'fit',
        '--config=../configs/sparcs_csia.yaml',
        f'--config={cpu}',
        f'--data.dict_kwargs.paths={root}',
        '--trainer.accelerator=cpu',
        '--trainer.precision=32',
        '--data.num_workers=0',
        '--data.batch_size=2',
        '--data.patch_size=128',
        '--trainer.max_steps=2',
        '--trainer.num_sanity_val_steps=0',
        '--trainer.enable_progress_bar=false',
        f'--trainer.default_root_dir={out}',
    ]
)

# %%
# What it wrote
# -------------
# A checkpoint after the two steps, and the config it ran with.
(ckpt,) = glob.glob(os.path.join(out, '**', '*.ckpt'), recursive=True)
state = torch.load(ckpt, map_location='cpu', weights_only=False)
print(os.path.relpath(ckpt, out), 'global step', state['global_step'])
print(sorted(os.listdir(os.path.dirname(os.path.dirname(ckpt)))))
