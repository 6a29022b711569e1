"""The users' training step, timed where it runs: inside ``torchgeo fit``.

:class:`StepTimer` is a Lightning callback that times the steps of a fit after a
warm-up, so the step that a recipe costs can be compared with another's in one run
(``docs/reproduce/gpu_step.sh`` runs the shipped configs one after another with it,
adding ``--trainer.callbacks+=torchgeo_csia.experiments.steps.StepTimer`` to
``torchgeo fit``).

.. versionadded:: 0.1
"""

from __future__ import annotations

import itertools
import statistics
import time
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch


def step_summary(times: list[float], skip: int) -> dict[str, float]:
    """Step times from the start times of the steps and the end of the last.

    Args:
        times: ``perf_counter`` at the start of each step, then at the end.
        skip: steps left out at the start.

    Returns:
        ``steps`` (timed), ``mean_ms`` (the elapsed time over the steps: what a
        run of many steps costs), ``median_ms``, ``p90_ms`` and ``its`` (steps per
        second, from the mean).

    Raises:
        ValueError: If fewer than two steps remain after *skip*.
    """
    kept = times[skip:]
    if len(kept) < 3:
        raise ValueError(
            f'skip={skip} leaves {max(0, len(kept) - 1)} timed steps of '
            f'{len(times) - 1}; need at least 2'
        )
    gaps = sorted(b - a for a, b in itertools.pairwise(kept))
    mean = (kept[-1] - kept[0]) / len(gaps)
    return {
        'steps': float(len(gaps)),
        'mean_ms': 1e3 * mean,
        'median_ms': 1e3 * statistics.median(gaps),
        'p90_ms': 1e3 * gaps[int(0.9 * (len(gaps) - 1))],
        'its': 1 / mean,
    }


class StepTimer(pl.Callback):
    """Time a fit's training steps after a warm-up and print (and keep) a line.

    Lightning's progress bar averages over the whole run and its profilers time
    each hook apart; this times what a user waits for: from the start of one step
    to the start of the next, batch loading, transfer, augmentation and
    optimisation included, after *skip* steps of warm-up (cuDNN's autotuning, the
    loaders' start), with the device synchronised at the end.

    Args:
        skip: steps left out at the start.
        label: the name printed with the line.
        out: a file to append the line to, if given.

    .. versionadded:: 0.1
    """

    def __init__(self, skip: int = 50, label: str = 'fit', out: str | None = None):
        """Initialize the callback (arguments as in the class docstring)."""
        if skip < 0:
            raise ValueError(f'skip must be >= 0, got {skip}')
        self.skip = skip
        self.label = label
        self.out = out
        self.times: list[float] = []

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any
    ) -> None:
        """Note the start of a step."""
        self.times.append(time.perf_counter())

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Print the summary of the steps after the warm-up."""
        if pl_module.device.type == 'cuda':
            torch.cuda.synchronize(pl_module.device)
        s = step_summary([*self.times, time.perf_counter()], self.skip)
        line = (
            f'{self.label}: {s["steps"]:.0f} steps after {self.skip}: mean '
            f'{s["mean_ms"]:.1f} ms ({s["its"]:.2f} it/s), median '
            f'{s["median_ms"]:.1f} ms, p90 {s["p90_ms"]:.1f} ms'
        )
        print(line, flush=True)
        if self.out:
            with Path(self.out).open('a') as f:
                f.write(line + '\n')
