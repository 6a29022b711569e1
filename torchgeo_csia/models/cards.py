"""The table of shipped weights in ``docs/weights.rst``, drawn from the weights' meta.

``python -m torchgeo_csia.models.cards`` prints the table; ``--write docs/weights.rst``
replaces it in the page (between the ``weights-table`` comments). A test checks that
the page holds exactly this table, so the docs and the metadata cannot drift apart.

.. versionadded:: 0.1
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from ..constants import CLASSES
from .weights import (
    CSIAInpainter_Weights,
    CSIAWeightsEnum,
    shipped_weights,
)

#: the comments around the table in the docs page
BEGIN = '.. weights-table-begin (generated: python -m torchgeo_csia.models.cards)'
END = '.. weights-table-end'
_HEADER = (
    'Weight',
    'Data',
    'Bands',
    'Architecture',
    'File',
    'What produced it',
    'Scores',
)


def _short(file: str) -> str:
    """The sha256 prefix in a weights file name."""
    match = re.search(r'-([a-f0-9]{8})\.', file)
    return match.group(1) if match else file


def _iou(split: dict[str, Any]) -> str:
    values = ' / '.join(
        'n/a' if split[c] is None else f'{split[c]:.4f}' for c in CLASSES
    )
    return f'{values}, mean {split["mean"]:.4f}'


def _two_sample(two: dict[str, Any]) -> str:
    """The two-sample classifier test of an inpainter, in a sentence."""
    text = (
        f'Two-sample classifier, painted against real ({two["seeds"]} seeds, '
        f'{two["crops"]} crops, {two["train_scenes"]} train / {two["score_scenes"]} '
        f'{two["score_split"]} scenes, {two["machine"]}; 0.5 = indistinguishable): '
        f'accuracy {two["accuracy"]:.3f} +- {two["sd"]:.3f} (moved real structures '
        f'{two["moved_control"]:.3f}), gradient {two["gradient_ratio"]:.2f} of real'
    )
    masked = two.get('cloud_masked')
    if masked:
        text += f'; cloud masked {masked["accuracy"]:.3f} +- {masked["sd"]:.3f}'
    before = two.get('before')
    if before:
        text += f'; the file it replaced {before["accuracy"]:.3f}'
        if 'cloud_masked' in before:
            text += f' (cloud masked {before["cloud_masked"]:.3f})'
    if two.get('note'):
        text += f' ({two["note"]})'
    return text + f' [{two["record"]}]'


def _row(member: CSIAWeightsEnum) -> tuple[str, ...]:
    meta: dict[str, Any] = member.meta
    scenes = len(meta['training_scenes'])
    data = f'{meta["dataset"]} quicklooks (``{meta["image"]}``), {scenes} train scenes'
    bands = ', '.join(meta['bands']) + (' + hole mask' if 'class' in meta else '')
    arch = f'{meta["model"]} ``{meta["encoder"]}``, decoder ' + '-'.join(
        map(str, meta['decoder_channels'])
    )
    file = f'``{Path(meta["file"]).name}``'
    scores = meta['scores']
    produced = (
        f'Config ``{meta["config"]}``, seed {meta["seed"]}, '
        f'{meta["steps_done"]:,} steps: {meta["training"]}'
    )
    if isinstance(member, CSIAInpainter_Weights):
        two = scores['two_sample']
        score = _two_sample(two)
        file += f' (replaces {_short(meta["replaces"])})'
        if len(meta['stages']) > 1:
            produced += '. Stages: ' + '; then '.join(meta['stages'])
    else:
        old = meta['replaces']
        file += f' (replaces {_short(old["file"])})'
        if meta['inpainters']:
            shipped = {
                Path(m.meta['file']).name: m.name
                for m in shipped_weights()
                if isinstance(m, CSIAInpainter_Weights)
            }
            files = ', '.join(
                f'{cls} {_short(f)}'
                + (f' (= {shipped[f]})' if f in shipped else ' (since replaced)')
                for cls, f in meta['inpainters'].items()
            )
            order = ', then '.join(meta['paint_order'])
            produced += (
                f' Inpainters {files}; structure bank '
                f'{_short(meta["structure_bank"])}; order: {order}.'
            )
        else:
            produced += f' Augmentation: {meta["augmentation"]}.'
        produced += f' Selection: {meta["selection"]} [{meta["record"]}].'
        val, test, both, gpu = (scores[k] for k in ('val', 'test', 'val+test', 'gpu'))
        before = old['iou']
        score = (
            f'IoU background / shadow / snow / cloud ({scores["machine"]}, '
            f'``torchgeo test``): val ({val["scenes"]} scenes) {_iou(val)}; test '
            f'({test["scenes"]} scenes, no snow) {_iou(test)}; val+test '
            f'({both["scenes"]} scenes) {_iou(both)}. On the GPU (H200, bf16-mixed, '
            f'the fit checkpoint): val {_iou(gpu["val"])}; test {_iou(gpu["test"])}. '
            f'The file it replaces ({_short(old["file"])}), scored the same way: val '
            f'mean {before["val"]["mean"]:.4f}, test mean '
            f'{before["test"]["mean"]:.4f}, val+test {_iou(before["val+test"])}'
        )
    return (f'``{member}``', data, bands, arch, file, produced, score)


#: the columns of the summary, as TorchGeo's weights tables (``docs/api/weights``)
_SUMMARY_HEADER = (
    'Weight',
    'Channels',
    'Task',
    'Source',
    'Citation',
    'License',
    'Scores',
)


def _summary_row(member: CSIAWeightsEnum) -> tuple[str, ...]:
    meta: dict[str, Any] = member.meta
    channels = str(len(meta['bands']))
    if 'class' in meta:
        channels += ' + hole mask'
    if isinstance(member, CSIAInpainter_Weights):
        task = f'inpainting: {meta["class"]} ({meta["mode"]})'
        two = meta['scores']['two_sample']
        score = (
            f'two-sample accuracy {two["accuracy"]:.3f} +- {two["sd"]:.3f} '
            '(0.5 = indistinguishable from real)'
        )
    else:
        task = 'segmentation: 4 classes'
        val, test = meta['scores']['val'], meta['scores']['test']
        score = (
            f'val mIoU {val["mean"]:.4f}, shadow {val["shadow"]:.4f}; test mIoU '
            f'{test["mean"]:.4f}, shadow {test["shadow"]:.4f}'
        )
    source = f'``torchgeo fit``, ``{meta["config"]}`` at {meta["commit"]}'
    citation = f'`CSIA <{meta["publication"]}>`__'
    return (f'``{member}``', channels, task, source, citation, meta['license'], score)


def _list_table(rows: list[tuple[str, ...]], widths: str) -> list[str]:
    # its class keeps long file names and hashes inside the page (docs/_static)
    lines = [
        '.. list-table::',
        '   :header-rows: 1',
        f'   :widths: {widths}',
        '   :class: weights-table',
        '',
    ]
    for row in rows:
        lines.append(f'   * - {row[0]}')
        lines += [f'     - {cell}' for cell in row[1:]]
    return lines


def weights_table() -> str:
    """The RST tables of every shipped weight, with the comments around them.

    First a summary in the columns of TorchGeo's weights tables, then every card.

    Returns:
        The text, one line per line of RST, ending with a newline.
    """
    members = shipped_weights()
    summary = [_SUMMARY_HEADER, *(_summary_row(m) for m in members)]
    cards = [_HEADER, *(_row(m) for m in members)]
    lines = [
        BEGIN,
        '',
        *_list_table(summary, '16 6 12 22 8 8 28'),
        '',
        'The cards in full:',
        '',
        *_list_table(cards, '14 10 8 12 14 26 16'),
    ]
    return '\n'.join([*lines, '', END]) + '\n'


def replace_table(text: str) -> str:
    """*text* with its generated table (between :data:`BEGIN` and :data:`END`) redone.

    Args:
        text: a page holding the two comments.

    Returns:
        The page with today's table.

    Raises:
        ValueError: If the comments are missing.
    """
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f'the page has no {BEGIN!r} ... {END!r} block')
    rest = text[end + len(END) :]
    return text[:start] + weights_table() + rest.removeprefix('\n')


def main(argv: list[str] | None = None) -> None:
    """Print the table, or write it into a page (``--write PAGE``).

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        description='Print the table of shipped weights, or write it into a page.'
    )
    parser.add_argument('--write', metavar='PAGE', help='replace the table in PAGE')
    args = parser.parse_args(argv)
    if args.write:
        page = Path(args.write)
        page.write_text(replace_table(page.read_text()))
    else:
        print(weights_table(), end='')


if __name__ == '__main__':
    main()
