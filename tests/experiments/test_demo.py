from pathlib import Path

import numpy as np
import pytest
import torch

from torchgeo_csia.experiments.demo import (
    NODATA_COLOR,
    demo,
    demo_figure,
    realism_lines,
)
from torchgeo_csia.models.weights import inpainter_weights


def test_demo_figure_shares_a_scale_and_names_columns() -> None:
    import matplotlib.pyplot as plt

    torch.manual_seed(0)
    before = {
        'image': torch.rand(2, 3, 16, 16) * 0.2,
        'mask': torch.zeros(2, 16, 16, dtype=torch.long),
    }
    before['mask'][1, :, :2] = 255  # nodata
    after = {'image': before['image'].clone(), 'mask': before['mask'].clone()}
    after['image'][0, :, :4, :4] = 1.0  # a bright painted cloud
    after['mask'][0, :4, :4] = 3
    scenes = ['LC80010812013365LGN00_18', 'LC80320282013182LGN00_30']
    fig = demo_figure(before, after, scenes, [['cloud + shadow'], []])
    axs = np.array(fig.axes[:8]).reshape(4, 2)
    # before and after on one scale: unchanged pixels look the same in both
    shown_before = np.asarray(axs[0, 0].images[0].get_array())
    shown_after = np.asarray(axs[2, 0].images[0].get_array())
    np.testing.assert_allclose(shown_before[4:, 4:], shown_after[4:, 4:])
    assert (shown_after[:4, :4] == 1.0).all()
    assert scenes[0] in axs[0, 0].get_title() and scenes[1] in axs[0, 1].get_title()
    assert 'cloud + shadow' in axs[2, 0].get_title()
    assert 'unchanged' in axs[2, 1].get_title()
    (legend,) = fig.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ['background', 'shadow', 'snow', 'cloud', 'nodata', 'inserted']
    # nodata is drawn in its own colour, not white like cloud
    cmap = axs[1, 1].images[0].get_cmap()
    assert tuple(cmap.get_bad()[:3]) == NODATA_COLOR
    plt.close(fig)


def test_realism_lines_quote_each_card() -> None:
    weights = [inpainter_weights(f'{c}_SPARCS_PHOTO') for c in ('CLOUD', 'SNOW')]
    lines = realism_lines(weights)
    assert len(lines) == 2
    for line, member in zip(lines, weights, strict=True):
        two = member.meta['scores']['two_sample']
        assert line.startswith(f'{member.meta["class"]} ({member.name}): ')
        assert f'{two["accuracy"]:.3f} +- {two["sd"]:.3f}' in line
        assert f'moved real {two["moved_control"]:.3f}' in line
        scenes = f'({two["train_scenes"]} / {two["score_scenes"]} scenes)'
        assert scenes in line


def test_demo_figure_writes_notes_under_the_legend() -> None:
    import matplotlib.pyplot as plt

    batch = {'image': torch.rand(1, 3, 8, 8), 'mask': torch.zeros(1, 8, 8).long()}
    notes = ['cloud: painted vs real 0.773', 'snow: painted vs real 0.717']
    fig = demo_figure(batch, batch, ['LC80010812013365LGN00_18'], [[]], notes)
    assert [t.get_text() for t in fig.texts][:2] == notes[::-1]
    plt.close(fig)


def test_demo_on_the_scenes(
    usgs_root: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = demo(str(tmp_path / 'demo.png'), usgs_root, batch_size=2, patch_size=32)
    assert Path(out).stat().st_size > 1000
    printed = capsys.readouterr().out
    assert 'two-sample classifier test' in printed
    for line in realism_lines([inpainter_weights('SHADOW_SPARCS_PHOTO')]):
        assert line in printed
