"""Every command and code block of README.md and docs/ is run here, as written.

The commands are read from the files themselves: fenced blocks of README.md, code
blocks and literal blocks of docs/*.rst, inline literals that start with a command
(``bash``, ``torchgeo-csia``, ``torchgeo``, ``python``), the command lines in the
comments of docs/configs/*.yaml and the ``$CLI`` lines of docs/reproduce/*.sh. Each
must have an entry in :data:`HOW`, which says how it is run:

- ``run``: exactly as written;
- ``sized``: as written with a few options appended (the last occurrence of an option
  wins, so the command is the same with a smaller size, count or step budget);
- ``options``: records of GPU runs of hours (``torchgeo-csia`` commands inline in
  docs/results.rst, the ``$CLI`` lines of the GPU scripts): the subcommand and every
  option in them must exist in ``torchgeo-csia``'s parser;
- ``gpu``: a GPU script (docs/reproduce/*.sh, run on the GPU machine): its syntax is
  checked (``bash -n``) and its ``$CLI`` lines as ``options``;
- ``ci``: the CI command itself (``bash .ci/run``), which runs this suite;
- ``name``: a literal that names a tool and is not a command to run.

A new or changed command without an entry fails :func:`test_every_command_is_covered`.
Commands that read ``sending/`` run in a folder where a generated SPARCS sample lies
under that name (with ``docs`` linked in); ``bash .ci/run`` commands run in the
repository root, as the README says.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from torchgeo_csia.experiments.ablation import ROWS

from .conftest import HERE, REAL

ROOT = Path(HERE).parent
BIN = os.path.dirname(sys.executable)
COMMANDS = ('bash', 'torchgeo-csia', 'torchgeo', 'python', 'python3', 'source')

# the options that make a run test-sized
DEMO = '--batch-size 2 --patch-size 64 --out {tmp}/demo.png'
FIT = '--trainer.fast_dev_run true --data.patch_size 64 --data.batch_size 2'
LAPTOP = (
    '--trainer.accelerator cpu --trainer.precision 32 --data.num_workers 0 '
    '--data.batch_size 4 --trainer.max_steps 20'
)
PACKED = '--count 4 --size 64 --min-free 0.2'


#: the inpainter recipes that train from scratch (no checkpoint of a stage before)
FIRST_STAGES = ('cloud', 'shadow', 'snow', 'cloud_over', 'shadow_over', 'snow_over')


def _laptop(config: str) -> str:
    return f'torchgeo fit --config docs/configs/{config}.yaml {LAPTOP}'


#: the rows of the paired ablation, each an override of the BASE recipe
ABLATION_ROWS = ROWS


def _ablation(row: str) -> str:
    return (
        'torchgeo fit --config docs/configs/sparcs_base.yaml '
        f'--config docs/configs/ablation/{row}.yaml'
    )


#: How each command of the README and docs is run: (mode, appended options).
HOW: dict[str, tuple[str, str]] = {
    # README
    'bash .ci/run demo': ('sized', DEMO),
    'bash .ci/run tests': ('sized', '-q tests/test_cli.py::test_parser_is_light'),
    'bash .ci/run demo -- --root ../shared/data/sparcs --image photo': (
        'sized',
        DEMO,
    ),
    'bash .ci/run bench-data': ('sized', '--scenes 2 --size 600 --patches 5'),
    'bash .ci/run': ('ci', ''),
    'torchgeo-csia demo': ('name', ''),
    'torchgeo-csia export': ('name', ''),
    'torchgeo-csia demo --help': ('run', ''),
    'torchgeo-csia realism --root sending --weights BASE_SPARCS_PHOTO '
    '--figure realism.png': ('sized', PACKED),
    'torchgeo-csia reach --root sending --p 0.5 --min-free 0.25': (
        'sized',
        '--count 8 --size 64',
    ),
    # the shipped CSIA segmenter scored over whole held-out scenes (sliding window)
    'torchgeo test --config docs/configs/sparcs_csia.yaml --model.init_args.weights '
    'CSIA_SPARCS_PHOTO --data.init_args.test_splits [val,test]': (
        'sized',
        '--trainer.accelerator cpu --trainer.precision 32 --data.num_workers 0',
    ),
    'torchgeo fit --config': ('name', ''),
    _laptop('sparcs_base'): ('sized', FIT),
    # docs/usage.rst and the configs' comments
    'torchgeo fit --config docs/configs/sparcs_base.yaml': ('sized', f'{LAPTOP} {FIT}'),
    'torchgeo fit --config docs/configs/sparcs_csia.yaml': ('sized', f'{LAPTOP} {FIT}'),
    _laptop('sparcs_csia'): ('sized', FIT),
    # run by tests/tasks/test_segmentation.py (fit, then test with the checkpoint)
    # inpainter recipes: each first stage (and each 'over' variant, a first stage
    # too) runs as written; the fine-tune stages need the checkpoint of the stage
    # before, so tests/tasks/test_inpainting_task.py runs the stages in order
    **{
        f'torchgeo fit --config docs/configs/inpainter_{c}.yaml': (
            'sized',
            f'{LAPTOP} {FIT}',
        )
        for c in FIRST_STAGES
    },
    **{_laptop(f'inpainter_{c}'): ('sized', FIT) for c in FIRST_STAGES},
    **{
        line: ('name', '')
        for stage in (
            'cloud_swap',
            'shadow_adv',
            'snow_adv',
            'snow_adv2',
            'snow_adv_wide',
        )
        for line in (
            f'torchgeo fit --config docs/configs/inpainter_{stage}.yaml',
            _laptop(f'inpainter_{stage}'),
        )
    },
    **{
        f'torchgeo test --config docs/configs/sparcs_{v}.yaml --ckpt_path CKPT': (
            'name',
            '',
        )
        for v in ('base', 'csia')
    },
    'torchgeo-csia realism --help': ('run', ''),
    # docs/configs/ablation/*.yaml (issue 17, item 3): each row's laptop line runs;
    # its GPU line is the same two files at full size (docs/reproduce/gpu_ablation.sh)
    **{_ablation(row): ('name', '') for row in ABLATION_ROWS},
    **{f'{_ablation(row)} {LAPTOP}': ('sized', FIT) for row in ABLATION_ROWS},
    # the weights' cards: the rows the shipped segmenters were trained as, at seed 0
    **{
        f'{_ablation(row)} --seed_everything 0': ('name', '')
        for row in ('base', 'csia_all_deep')
    },
    f'{_ablation("base")} --config docs/configs/ablation/curve.yaml': ('name', ''),
    f'{_ablation("base")} --config docs/configs/ablation/curve.yaml {LAPTOP} '
    '--trainer.val_check_interval 10': ('sized', FIT),
    # docs/weights.rst
    'python -m torchgeo_csia.models.cards': ('run', ''),
    # the cards' records of the GPU fits that made the inpainters painting over the
    # ground (docs/reproduce/gpu_fit_inpainters.sh); their recipes' laptop lines run
    **{
        f'torchgeo fit --config docs/configs/inpainter_{c}_over.yaml '
        '--data.dict_kwargs.paths /tmp/scenes --data.init_args.num_workers 3 '
        '--trainer.max_time 00:00:08:30': ('name', '')
        for c in ('cloud', 'shadow')
    },
    # docs/install.rst: the install itself (.ci/run installs the checkout with pip
    # when it builds .venv)
    'python -m pip install .': ('name', ''),
    # docs/results.rst: records of GPU and long CPU runs
    'python -m torchgeo_csia.experiments.ablation '
    'docs/results/ablation-h200-2026-12-01': ('run', ''),
    'python -m torchgeo_csia.experiments.ablation '
    'docs/results/ablation-h200-2026-12-01 docs/results/ablation-h200-2026-12-02 '
    'docs/results/ablation-h200-2026-12-02b': (
        'run',
        '',
    ),
    'python -m torchgeo_csia.experiments.ablation '
    'docs/results/ablation-h200-2026-12-02c': ('run', ''),
    'python -m torchgeo_csia.experiments.ablation '
    'docs/results/ablation-h200-2026-12-01 docs/results/ablation-h200-2026-12-02 '
    'docs/results/ablation-h200-2026-12-02b docs/results/ablation-h200-2026-12-03 '
    'docs/results/ablation-h200-2026-12-03b': ('run', ''),
    'python -m torchgeo_csia.experiments.ablation '
    'docs/results/ablation-h200-2026-12-01 docs/results/ablation-h200-2026-12-02 '
    'docs/results/ablation-h200-2026-12-02b docs/results/ablation-h200-2026-12-03 '
    'docs/results/ablation-h200-2026-12-03b docs/results/ablation-h200-2026-12-03c': (
        'run',
        '',
    ),
    'python -m torchgeo_csia.experiments.ablation '
    'docs/results/ablation-h200-2026-12-01 docs/results/ablation-h200-2026-12-02 '
    'docs/results/ablation-h200-2026-12-02b docs/results/ablation-h200-2026-12-03 '
    'docs/results/ablation-h200-2026-12-03b docs/results/ablation-h200-2026-12-03c '
    'docs/results/ablation-h200-2026-12-03d': ('run', ''),
    'python -m torchgeo_csia.experiments.ablation '
    'docs/results/ablation-h200-2026-12-01 docs/results/ablation-h200-2026-12-02 '
    'docs/results/ablation-h200-2026-12-02b docs/results/ablation-h200-2026-12-03 '
    'docs/results/ablation-h200-2026-12-03b docs/results/ablation-h200-2026-12-03c '
    'docs/results/ablation-h200-2026-12-03d docs/results/ablation-h200-2026-12-04': (
        'run',
        '',
    ),
    'python -m torchgeo_csia.experiments.ablation '
    'docs/results/ablation-h200-2026-12-01 docs/results/ablation-h200-2026-12-02 '
    'docs/results/ablation-h200-2026-12-02b docs/results/ablation-h200-2026-12-03 '
    'docs/results/ablation-h200-2026-12-03b docs/results/ablation-h200-2026-12-03c '
    'docs/results/ablation-h200-2026-12-03d docs/results/ablation-h200-2026-12-04 '
    '--metric precision': ('run', ''),
    'python -m torchgeo_csia.experiments.ablation '
    'docs/results/ablation-h200-2026-12-02c --curve': ('run', ''),
    'python -m torchgeo_csia.experiments.ablation '
    'docs/results/curve-h200-2026-12-03 --curve': ('run', ''),
    'python -m torchgeo_csia.experiments.per_scene --root sending '
    '--weights BASE_SPARCS_PHOTO CSIA_SPARCS_PHOTO': ('run', ''),
    'python -m torchgeo_csia.experiments.prior --root sending --batches 16 '
    '--weights CSIA_SPARCS_PHOTO BASE_SPARCS_PHOTO --scales 0 0.25 0.5 0.75 1': (
        'sized',
        '--batches 1 --batch-size 2 --patch-size 32 --scales 0 1',
    ),
    'python -m torchgeo_csia.experiments.cloud_density --root sending '
    '--densities 1 1.5 2 2.5 3 4': ('sized', '--patches 2 --patch 16 --densities 1 2'),
    'python -m torchgeo_csia.experiments.shadow_depth --root sending': (
        'sized',
        '--patches 4 --patch 16 --window 15',
    ),
    'python -m torchgeo_csia.experiments.two_sample --root sending --classes cloud '
    '--seeds 0 1 2 --device cpu --crops 128 --steps 200 --cloud-density 1 1.5 1.5 '
    '--cloud-texture 1 --no-figure --out two-sample.md': (
        'sized',
        '--seeds 0 --crops 8 --size 16 --patch 32 --min-pixels 10 --steps 3 '
        '--width 4 --score-splits val test',
    ),
    'python -m torchgeo_csia.experiments.unseen --root sending': (
        'sized',
        '--batches 1 --batch-size 4 --patch-size 64',
    ),
    'torchgeo fit': ('name', ''),
    'torchgeo test': ('name', ''),
}


def how(command: str, where: str) -> tuple[str, str] | None:
    """(mode, appended options) of a shown command, or None if it has no test."""
    if command in HOW:
        return HOW[command]
    if where == 'results.rst' and command.startswith('torchgeo-csia '):
        return 'options', ''
    words = _without_env(command)
    if words[:1] == ['bash'] and re.fullmatch(r'docs/reproduce/\w+\.sh', words[1]):
        return 'gpu', ''
    return None


def _without_env(command: str) -> list[str]:
    words = shlex.split(command)
    while words and re.match(r'^\w+=', words[0]):
        words.pop(0)
    return words


# ------------------------------------------------------------------ extraction
def _readme_blocks(text: str) -> Iterator[tuple[str, str]]:
    for match in re.finditer(r'^```(\w*)\n(.*?)^```', text, re.M | re.S):
        yield match.group(1) or 'text', match.group(2)


def _rst_blocks(text: str) -> Iterator[tuple[str, str]]:
    """(language, code) of ``code-block`` and ``::`` literal blocks."""
    lines = text.split('\n')
    for i, line in enumerate(lines):
        directive = re.match(r'\s*\.\. code-block::\s*(\w+)', line)
        literal = line.rstrip().endswith('::') and not line.lstrip().startswith('..')
        if not (directive or literal):
            continue
        indent = len(line) - len(line.lstrip())
        body: list[str] = []
        for nxt in lines[i + 1 :]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            body.append(nxt)
        while body and not body[-1].strip():
            body.pop()
        if body and body[0].strip().startswith(':'):  # directive options
            continue
        code = _dedent('\n'.join(body).strip('\n'))
        lang = directive.group(1) if directive else _guess(code)
        yield lang, code + '\n'


def _dedent(code: str) -> str:
    lines = code.split('\n')
    cut = min(len(x) - len(x.lstrip()) for x in lines if x.strip())
    return '\n'.join(x[cut:] for x in lines)


def _guess(code: str) -> str:
    return 'bash' if code.split()[0] in COMMANDS else 'python'


def _inline(text: str, markdown: bool) -> Iterator[str]:
    pattern = r'(?<!`)`([^`\n]+)`(?!`)' if markdown else r'``([^`]+)``'
    for match in re.finditer(pattern, text):
        literal = ' '.join(match.group(1).split())
        words = _without_env(literal)
        if len(words) > 1 and words[0] in COMMANDS:
            yield literal


def _shell_lines(code: str) -> list[str]:
    out = []
    for line in code.replace('\\\n', ' ').split('\n'):
        line = line.split(' #', 1)[0].strip()
        if line and not line.startswith('#'):
            out.append(' '.join(line.split()))
    return out


def docs_files() -> list[Path]:
    return [ROOT / 'README.md', *sorted((ROOT / 'docs').glob('*.rst'))]


def code_blocks() -> list[tuple[str, int, str, str]]:
    """(file, index, language, code) of every code block of the README and docs."""
    out = []
    for path in docs_files():
        text = path.read_text()
        blocks = _readme_blocks(text) if path.suffix == '.md' else _rst_blocks(text)
        for i, (lang, code) in enumerate(blocks):
            out.append((path.name, i, lang, code))
    return out


def shown_commands() -> dict[str, str]:
    """Every command the README and docs show -> the file that shows it."""
    found: dict[str, str] = {}
    for name, _, lang, code in code_blocks():
        if lang in ('bash', 'sh', 'console', 'shell'):
            for line in _shell_lines(code):
                found.setdefault(line, name)
    for path in docs_files():
        for literal in _inline(path.read_text(), path.suffix == '.md'):
            found.setdefault(literal, path.name)
    for config in sorted((ROOT / 'docs' / 'configs').rglob('*.yaml')):
        for line in config.read_text().split('\n'):
            match = re.match(r'#\s+((?:torchgeo|bash|python)\s.*)', line)
            if match:
                found.setdefault(' '.join(match.group(1).split()), config.name)
    return found


def _records() -> list[tuple[str, str]]:
    """(where, command) of the ``options`` records and the GPU scripts' lines."""
    out = [
        (where, command)
        for command, where in shown_commands().items()
        if how(command, where) == ('options', '')
    ]
    for script in sorted((ROOT / 'docs' / 'reproduce').glob('*.sh')):
        for line in _shell_lines(script.read_text()):
            if '$CLI ' in line:
                out.append((script.name, 'torchgeo-csia ' + line.split('$CLI ', 1)[1]))
    return out


# ------------------------------------------------------------------ running
@pytest.fixture(scope='module')
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a generated SPARCS sample in ``sending/`` and ``docs`` linked."""
    from torchgeo_csia.datasets.synthetic import write_sample

    folder = tmp_path_factory.mktemp('newcomer')
    write_sample(str(folder / 'sending'), count=6, size=256)
    (folder / 'docs').symlink_to(ROOT / 'docs')
    return folder


def _run(command: str, cwd: Path, tmp: Path) -> None:
    extra = HOW[command][1]
    full = f'{command} {extra.format(tmp=tmp)}'.strip()
    argv = shlex.split(full)
    if argv[0] == 'torchgeo-csia':
        from torchgeo_csia.cli import main

        try:
            main(argv[1:])
        except SystemExit as err:  # --help
            assert err.code in (0, None), full
        return
    if argv[:2] == ['torchgeo', 'fit']:
        from torchgeo.main import main as torchgeo_main

        sys.argv, argv0 = argv[:1], sys.argv
        try:
            torchgeo_main(argv[1:])
        finally:
            sys.argv = argv0
        return
    env = {**os.environ, 'PATH': f'{BIN}{os.pathsep}{os.environ["PATH"]}'}
    done = subprocess.run(
        full, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f'{full}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}'


def test_every_command_is_covered() -> None:
    shown = shown_commands()
    missing = {c: where for c, where in shown.items() if how(c, where) is None}
    assert not missing, f'commands shown without a test (add them to HOW): {missing}'
    stale = [c for c in HOW if c not in shown]
    assert not stale, f'HOW lists commands no longer shown: {stale}'


def test_every_block_is_run() -> None:
    # the languages the tests below run (or check); a new kind needs a test
    langs = {lang for *_, lang, _ in code_blocks()}
    assert langs <= {'bash', 'python', 'yaml'}, langs


def _bash_blocks() -> list[tuple[str, list[str]]]:
    out = []
    for name, i, lang, code in code_blocks():
        if lang == 'bash':
            lines = [
                c
                for c in _shell_lines(code)
                if (how(c, name) or ('',))[0] in ('run', 'sized')
            ]
            if lines:
                out.append((f'{name}:{i}', lines))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    'lines', [b[1] for b in _bash_blocks()], ids=[b[0] for b in _bash_blocks()]
)
def test_bash_block(
    lines: list[str],
    sample: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lines of one shell block, in order, where the README runs them."""
    for command in lines:
        if '../shared/data' in command and not os.path.isdir(REAL):
            pytest.skip('real SPARCS data (../shared/data/sparcs) is absent')
        cwd = ROOT if command.startswith('bash .ci/run') else sample
        monkeypatch.chdir(cwd)
        _run(command, cwd, tmp_path)


def _inline_commands() -> list[str]:
    blocks = {c for _, lines in _bash_blocks() for c in lines}
    return [
        c
        for c, where in shown_commands().items()
        if (how(c, where) or ('',))[0] in ('run', 'sized') and c not in blocks
    ]


@pytest.mark.slow
@pytest.mark.parametrize('command', _inline_commands())
def test_inline_command(
    command: str, sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(sample)
    _run(command, sample, tmp_path)


def _python_blocks() -> list[tuple[str, str]]:
    return [
        (f'{name}:{i}', code)
        for name, i, lang, code in code_blocks()
        if lang == 'python'
    ]


@pytest.mark.parametrize(
    'code', [b[1] for b in _python_blocks()], ids=[b[0] for b in _python_blocks()]
)
def test_python_block(code: str, sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(sample)
    exec(compile(code, 'block', 'exec'), {'__name__': '__readme__'})


def _subtree(part: Any, whole: Any, where: str = '') -> None:
    if isinstance(part, dict):
        assert isinstance(whole, dict), where
        for key, value in part.items():
            assert key in whole, f'{where}.{key} is not in the config'
            _subtree(value, whole[key], f'{where}.{key}')
    else:
        assert part == whole, f'{where}: {part!r} in the README, {whole!r} in config'


def test_readme_yaml_agrees_with_configs() -> None:
    blocks = [code for name, _, lang, code in code_blocks() if lang == 'yaml']
    assert blocks
    for code in blocks:
        shown = yaml.safe_load(code)
        # the segmentation recipes, whose data section the README shows
        for config in sorted(
            glob.glob(str(ROOT / 'docs' / 'configs' / 'sparcs_*.yaml'))
        ):
            _subtree(shown, yaml.safe_load(Path(config).read_text()))


def test_configs_document_the_laptop_line() -> None:
    for config in sorted((ROOT / 'docs' / 'configs').glob('*.yaml')):
        text = config.read_text()
        assert f'#   {_laptop(config.stem)}\n' in text, config.name
        recipe = yaml.safe_load(text)
        # the recipe is the GPU one the line overrides
        assert recipe['trainer']['precision'] == 'bf16-mixed'
        assert recipe['data']['init_args']['num_workers'] == 8


@pytest.mark.parametrize('where, command', _records())
def test_recorded_command_options_exist(where: str, command: str) -> None:
    """GPU runs of hours: their subcommand and options exist as written."""
    from torchgeo_csia.cli import build_parser

    parser = build_parser()
    subparsers = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    words = re.split(r'\s(?:\||>|2>|&&|;)', command)[0].split()
    sub = words[1]
    assert sub in subparsers.choices, f'{where}: no subcommand {sub!r} in {command!r}'
    known = set(subparsers.choices[sub]._option_string_actions)
    unknown = [w for w in words[2:] if w.startswith('--') and w not in known]
    assert not unknown, f'{where}: {command!r}: no option {unknown} of {sub}'


def test_gpu_scripts_parse() -> None:
    shown = [
        _without_env(c)[1]
        for c, where in shown_commands().items()
        if how(c, where) == ('gpu', '')
    ]
    scripts = sorted((ROOT / 'docs' / 'reproduce').glob('*.sh'))
    assert {str(ROOT / s) for s in shown} <= {str(s) for s in scripts}
    for script in scripts:
        subprocess.run(['bash', '-n', str(script)], check=True)


def test_ci_runs_every_check() -> None:
    # bash .ci/run alone runs these nox sessions (the README says which)
    done = subprocess.run(
        ['bash', '.ci/run', '--list'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    selected = [line.split()[1] for line in done.stdout.split('\n') if line[:2] == '* ']
    assert selected == ['lint', 'typecheck', 'docs', 'tests', 'wheel']
    assert "'-W'" in (ROOT / 'noxfile.py').read_text()  # docs: warnings as errors
