"""The reach of the CSIA modes: the share of training crops each may and does change.

.. versionadded:: 0.1
"""

from __future__ import annotations

import torch

from ..models.inpainter import Inpainter
from ..transforms import StructureSource, sun_geometry
from .realism import csia_modes
from .scenes import Scenes


@torch.no_grad()
def reach(
    scenes: Scenes,
    inpainters: dict[str, Inpainter],
    p: float,
    min_free: float,
    source: StructureSource | str = 'sparcs',
    count: int = 1024,
    size: int = 256,
    shadow_first: bool = True,
    seed: int = 0,
    chunk: int = 128,
) -> dict[str, dict[str, float]]:
    """Share of training crops each CSIA mode may change and does change.

    1. Draw *count* random crops of the training scenes (each scene equally
       likely, anywhere in it, as the native-grid training draws them), *chunk*
       at a time.
    2. Run the masks through the modes in training order (cloud + shadow, shadow
       for clouds, snow; each sees the labels the one before wrote). The random
       parameters and labels are drawn as in training, but no network runs, so it
       is quick on a CPU.
    3. Count, per mode, the crops its rule makes eligible and those it paints
       (eligible, drawn with probability *p*, within the mode's capacity).

    Args:
        scenes: the scenes (their ``train`` split is drawn from).
        inpainters: by class (only their margins count).
        p: probability of each mode.
        min_free: least background share that makes a crop eligible.
        source: structure shapes (``'sparcs'``: the shipped bank).
        count: crops drawn.
        size: crop size (px; at most the scenes' size).
        shadow_first: :class:`~torchgeo_csia.transforms.RandomCloudShadow` paints
            the shadow first.
        seed: seed of the crops and the modes' draws.
        chunk: crops per batch.

    Returns:
        ``{mode: {'eligible': share, 'changed': share}}``.

    Raises:
        ValueError: If the scenes have no training scene.
    """
    ids = scenes.split('train')
    if not ids:
        raise ValueError('no training scene among the scenes')
    modes = csia_modes(inpainters, source, p, min_free, shadow_first)
    size = scenes.crop_size(size)
    torch.manual_seed(seed)
    sites = scenes.random_sites(ids, count, size, seed)
    tally = {type(m).__name__: [0.0, 0.0] for m in modes}
    for start in range(0, count, chunk):
        batch = scenes.batch(sites[start : start + chunk], size)
        mask = batch['mask']
        for mode in modes:
            with sun_geometry(mode, batch['sun_azimuth'], batch['sun_elevation']):
                mask = mode(mask, data_keys=['mask'])
            t = tally[type(mode).__name__]
            t[0] += mode.last_params['eligible'].sum().item()
            t[1] += mode.last_params['valid'].sum().item()
    return {
        k: {'eligible': e / count, 'changed': c / count} for k, (e, c) in tally.items()
    }


def reach_table(rows: list[dict[str, float | str]]) -> str:
    """Rows of ``p``, ``min_free``, ``mode``, ``eligible``, ``changed`` as Markdown.

    Args:
        rows: one per setting and mode.

    Returns:
        The table.
    """
    lines = ['| p | min_free | mode | eligible | changed |', '|---|---|---|---|---|']
    for r in rows:
        lines.append(
            f'| {r["p"]:g} | {r["min_free"]:g} | {r["mode"]} | {r["eligible"]:.1%} | '
            f'{r["changed"]:.1%} |'
        )
    return '\n'.join(lines)
