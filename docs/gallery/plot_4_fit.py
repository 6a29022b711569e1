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
from torchgeo.main import main

from torchgeo_csia.datasets.synthetic import real_or_sample

# the real scenes where this machine has them, else a generated sample
root = real_or_sample(os.path.join('..', '..', '..', 'shared', 'data', 'sparcs'))
out = tempfile.mkdtemp()  # logs and checkpoints go here, not beside the scenes

# %%
# The command, as on a shell
# --------------------------
# ``torchgeo fit --config docs/configs/sparcs_csia.yaml`` followed by the overrides
# below (the same arguments, from Python). The recipe's bf16 autocast of the
# inpainters applies on a GPU only: on the CPU they run in fp32.
main(
    [
        'fit',
        '--config=../configs/sparcs_csia.yaml',
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
