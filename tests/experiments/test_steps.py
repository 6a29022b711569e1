from pathlib import Path

import pytest
import torch
from lightning.pytorch import LightningModule, Trainer
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from torchgeo_csia.experiments.steps import StepTimer, step_summary


def test_summary_of_known_steps() -> None:
    # steps of 10 ms, then one of 40 ms; the first (warm-up) of 1 s is skipped
    times = [0.0, 1.0, 1.01, 1.02, 1.03, 1.07]
    s = step_summary(times, skip=1)
    assert s['steps'] == 4
    assert s['mean_ms'] == pytest.approx(70 / 4)
    assert s['median_ms'] == pytest.approx(10)
    assert s['its'] == pytest.approx(4 / 0.07)
    with pytest.raises(ValueError, match='skip=4 leaves 1 timed steps of 5'):
        step_summary(times, skip=4)


class _Tiny(LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(2, 1)

    def training_step(self, batch: list[Tensor], batch_idx: int) -> Tensor:
        return self.net(batch[0]).square().mean()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_timer_in_a_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / 'steps.txt'
    timer = StepTimer(skip=2, label='tiny', out=str(out))
    loader = DataLoader(TensorDataset(torch.rand(8, 2)), batch_size=1)
    trainer = Trainer(
        max_steps=6,
        accelerator='cpu',
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
        default_root_dir=tmp_path,
    )
    trainer.fit(_Tiny(), loader)
    assert len(timer.times) == 6
    line = out.read_text()
    assert line.startswith('tiny: 4 steps after 2: mean ') and 'it/s' in line
    assert line.strip() in capsys.readouterr().out


def test_skip_checked() -> None:
    with pytest.raises(ValueError, match='skip must be >= 0'):
        StepTimer(skip=-1)
