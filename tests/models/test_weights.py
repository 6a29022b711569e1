import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from torchgeo.models import get_model, get_model_weights, get_weight, list_models

import torchgeo_csia  # noqa: F401  (registers the weights with TorchGeo)
from torchgeo_csia.models import Inpainter, weights
from torchgeo_csia.models.cards import replace_table, weights_table
from torchgeo_csia.models.weights import (
    CSIAInpainter_Weights,
    CSIASegmenter_Weights,
    CSIAWeightsEnum,
    csia_inpainter,
    inpainter_weights,
    load_inpainter,
    models_dir,
    shipped_weights,
)
from torchgeo_csia.transforms.sources import sparcs_bank

ALL = shipped_weights()
ROOT = Path(__file__).parents[2]
DOCS = ROOT / 'docs' / 'weights.rst'


def saved_locations(path: Path) -> set[str]:
    """The devices a torch.save file's storages were saved from (read on the CPU)."""
    seen: set[str] = set()

    def record(storage: Any, location: str) -> Any:
        seen.add(location)
        return storage

    torch.load(path, map_location=record, weights_only=True)
    return seen


def path_of(member: CSIAWeightsEnum) -> Path:
    return weights.verified_path(member.url)


@pytest.fixture
def models_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped folder in TORCHGEO_CSIA_MODELS (set after import)."""
    folder = tmp_path / 'models copy'  # a space: the file:// URL must round-trip
    shutil.copytree(models_dir(), folder)
    monkeypatch.setenv('TORCHGEO_CSIA_MODELS', str(folder))
    return folder


def flip_a_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the tensor data: torch.load still loads
    path.write_bytes(bytes(data))


def test_registered_with_torchgeo() -> None:
    assert {'csia_inpainter', 'csia_segmenter'} <= set(list_models())
    assert get_model_weights('csia_inpainter') is CSIAInpainter_Weights
    assert get_model_weights(csia_inpainter) is CSIAInpainter_Weights
    w = get_weight('CSIAInpainter_Weights.CLOUD_SPARCS_PHOTO')
    assert w is CSIAInpainter_Weights.CLOUD_SPARCS_PHOTO
    assert w.meta['class'] == 'cloud' and len(w.meta['training_scenes']) == 40


# -- 1. every shipped file loads on the CPU ----------------------------------------


@pytest.mark.parametrize('member', ALL, ids=str)
def test_get_state_dict_on_cpu(member: CSIAWeightsEnum) -> None:
    # TorchGeo's documented way, with torch's default map_location (fails on a
    # CPU-only machine for files saved from cuda:0)
    state = get_weight(str(member)).get_state_dict(progress=False)
    devices = {v.device.type for v in state.values() if isinstance(v, torch.Tensor)}
    assert devices == {'cpu'}
    # and on a GPU machine too: no storage in the file was saved from a GPU
    assert saved_locations(path_of(member)) == {'cpu'}


def test_registry_matches_files() -> None:
    # every shipped file is registered and every registered file is shipped (the
    # names from before the CPU re-save are gone)
    on_disk = {
        p.relative_to(models_dir()).as_posix()
        for p in models_dir().rglob('*')
        if p.suffix in {'.pth', '.npz'}
    }
    registered = {m.meta['file'] for m in ALL} | {weights.SPARCS_BANK}
    assert on_disk == registered
    # the cards live in the enums' meta: no JSON sidecar beside the files
    assert not list(models_dir().rglob('*.json'))
    names = {Path(f).name for f in on_disk}
    for m in ALL:
        if isinstance(m, CSIAInpainter_Weights):  # the inpainter it replaced is gone
            assert m.meta['replaces'] not in names
        else:  # the segmenters these replaced are gone
            assert m.meta['replaces']['file'] not in names
            assert m.meta['replaces']['file'] != Path(m.meta['file']).name


@pytest.mark.parametrize('member', list(CSIAInpainter_Weights), ids=str)
def test_inpainters_load_offline_and_fill(member: CSIAInpainter_Weights) -> None:
    model = get_model('csia_inpainter', weights=member)
    assert isinstance(model, Inpainter) and not model.training
    assert model.structure == member.meta['class']
    # the augmentations hole as far beyond a structure as the training did
    assert model.margin == member.meta['margin'] == 4
    image = torch.rand(2, 3, 64, 64)
    hole = torch.zeros(2, 64, 64, dtype=torch.bool)
    hole[:, 16:40, 16:40] = True
    with torch.inference_mode():
        out = model(image, hole)
    assert out.shape == image.shape and torch.isfinite(out).all()


@pytest.mark.parametrize('member', list(CSIASegmenter_Weights), ids=str)
def test_segmenters_load(member: CSIASegmenter_Weights) -> None:
    model = get_model('csia_segmenter', weights=get_weight(str(member)))
    with torch.inference_mode():
        logits = model(torch.rand(1, 3, 64, 64))
    assert logits.shape == (1, 4, 64, 64)


def test_untrained_builder() -> None:
    model = get_model('csia_inpainter', bands=10, encoder='resnet18')
    assert model.bands == 10 and model.structure is None


def test_files_within_budget() -> None:
    files = [p for p in models_dir().rglob('*') if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 32 * 2**20
    assert all(p.stat().st_size <= 10 * 2**20 for p in files)


def test_bank_ships() -> None:
    bank = sparcs_bank()
    assert bank.meta['split'] == 'train' and len(bank.pairs) > 0
    assert sparcs_bank() is bank  # loaded once


# -- 2. a damaged file is named, whatever check_hash says ---------------------------


@pytest.mark.parametrize('kwargs', [{}, {'check_hash': True}, {'check_hash': False}])
def test_corrupt_file_named(models_copy: Path, kwargs: dict[str, bool]) -> None:
    member = CSIAInpainter_Weights.SNOW_SPARCS_PHOTO
    path = models_copy / 'inpainting_models' / Path(member.url).name
    flip_a_bit(path)
    with pytest.raises(ValueError, match='corrupt') as info:
        member.get_state_dict(**kwargs)
    message = str(info.value)
    assert str(path) in message and 'TORCHGEO_CSIA_MODELS' in message
    assert 're-install' in message


def test_corrupt_file_through_loaders(models_copy: Path) -> None:
    snow = Path(CSIAInpainter_Weights.SNOW_SPARCS_PHOTO.url).name
    (models_copy / 'inpainting_models' / snow).write_bytes(b'not weights')
    with pytest.raises(ValueError, match='corrupt'):
        load_inpainter('SNOW_SPARCS_PHOTO')
    base = Path(CSIASegmenter_Weights.BASE_SPARCS_PHOTO.url).name
    flip_a_bit(models_copy / 'segmentation_models' / base)
    with pytest.raises(ValueError, match='segmentation_models'):
        get_model('csia_segmenter', weights=CSIASegmenter_Weights.BASE_SPARCS_PHOTO)


def test_missing_file_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('TORCHGEO_CSIA_MODELS', str(tmp_path))
    with pytest.raises(FileNotFoundError, match='TORCHGEO_CSIA_MODELS') as info:
        CSIASegmenter_Weights.CSIA_SPARCS_PHOTO.get_state_dict()
    assert str(tmp_path) in str(info.value)


def test_nothing_copied_to_hub_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    CSIAInpainter_Weights.CLOUD_SPARCS_PHOTO.get_state_dict(progress=True)
    assert not (tmp_path / 'torch').exists()


# -- 3. the installed copy comes first, the repository's second ---------------------


def test_installed_copy_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv('TORCHGEO_CSIA_MODELS', raising=False)
    repo = weights.REPO_MODELS
    assert models_dir() == repo  # a clone: no torchgeo_csia/_models
    installed = tmp_path / 'site' / 'torchgeo_csia' / '_models'
    shutil.copytree(repo, installed)
    monkeypatch.setattr(weights, 'INSTALLED_MODELS', installed)
    assert models_dir() == installed
    member = CSIAInpainter_Weights.SHADOW_SPARCS_PHOTO
    assert path_of(member).is_relative_to(installed)
    assert load_inpainter(member).structure == 'shadow'
    monkeypatch.setenv('TORCHGEO_CSIA_MODELS', str(repo))
    assert models_dir() == repo  # the variable wins


# -- 4. one rule for the folder; the inpainter's class is checked -------------------


def test_models_env_read_at_load_time(models_copy: Path) -> None:
    # set after import: the weights and the bank both follow it
    for m in ALL:
        assert path_of(m).is_relative_to(models_copy)
    bank = models_copy / weights.SPARCS_BANK
    bank.write_bytes(bank.read_bytes()[:-1])
    with pytest.raises(ValueError, match='structure_banks'):
        sparcs_bank()


@pytest.mark.parametrize(
    'given',
    [
        CSIASegmenter_Weights.BASE_SPARCS_PHOTO,
        'CSIASegmenter_Weights.BASE_SPARCS_PHOTO',
    ],
)
def test_segmenter_weights_refused(given: Any) -> None:
    with pytest.raises(TypeError, match=r'CSIASegmenter_Weights\.BASE_SPARCS_PHOTO'):
        load_inpainter(given)  # was KeyError: 'hole_channel'
    with pytest.raises(
        TypeError, match=r'RandomSnow needs inpainter weights.*segmenter'
    ):
        load_inpainter(given, expected_class='snow', caller='RandomSnow')


def test_other_weights_refused() -> None:
    from torchgeo.models import Unet_Weights

    with pytest.raises(TypeError, match='needs inpainter weights'):
        load_inpainter(next(iter(Unet_Weights)))


def test_inpainter_class_checked() -> None:
    with pytest.raises(
        ValueError,
        match=r'RandomSnow needs a snow inpainter .*; '
        r'got CLOUD_SPARCS_PHOTO \(class cloud\)',
    ):
        load_inpainter('CLOUD_SPARCS_PHOTO', expected_class='snow', caller='RandomSnow')
    member = inpainter_weights('CSIAInpainter_Weights.SNOW_SPARCS_PHOTO', 'snow')
    assert member is CSIAInpainter_Weights.SNOW_SPARCS_PHOTO
    with pytest.raises(ValueError, match='expected_class must be one of'):
        inpainter_weights('SNOW_SPARCS_PHOTO', 'fog')


def test_unknown_weights_name() -> None:
    with pytest.raises(ValueError, match='unknown inpainter weights'):
        load_inpainter('FOG_SPARCS_PHOTO')
    with pytest.raises(ValueError, match='unknown inpainter weights'):
        load_inpainter('Other_Weights.CLOUD_SPARCS_PHOTO')


# -- 5. every card says what produced it and its scores -----------------------------


@pytest.mark.parametrize('member', ALL, ids=str)
def test_card_says_what_produced_it(member: CSIAWeightsEnum) -> None:
    meta = member.meta
    assert meta['file'].endswith(Path(path_of(member)).name)
    assert len(meta['training_scenes']) == 40
    assert meta['training'] and meta['scores']
    assert 'torchgeo-csia train-' not in meta['training']
    if isinstance(member, CSIAInpainter_Weights):
        # every inpainter's realism by the two-sample classifier test, with its record
        two = meta['scores']['two_sample']
        assert 0.5 <= two['accuracy'] <= 1 and (ROOT / two['record']).is_file()
        assert two['score_split'] == 'val'
    if isinstance(member, CSIAInpainter_Weights):
        # the users' path: torchgeo fit with shipped recipes, stage by stage, at a
        # named commit; the card's config is the last stage's
        cls = meta['class']
        stages = {
            'over': [f'inpainter_{cls}_over'],
            'fill': [
                'inpainter_snow',
                'inpainter_snow_adv',
                'inpainter_snow_adv2',
                'inpainter_snow_adv_wide',
            ],
        }[meta['mode']]
        assert meta['mode'] == 'over' or cls == 'snow'
        assert meta['config'] == f'docs/configs/{stages[-1]}.yaml'
        assert len(meta['stages']) == len(stages)
        assert f'at commit {meta["commit"]}' in meta['training']
        assert meta['commit'] in {weights.OVER_COMMIT, weights.SNOW_COMMIT}
        assert meta['seed'] == 0
        assert weights.PACK_TRAINER_COMMIT not in meta['training']
        before = None
        for name, stage in zip(stages, meta['stages'], strict=True):
            config = yaml.safe_load((ROOT / f'docs/configs/{name}.yaml').read_text())
            init = config['model']['init_args']
            assert init.get('mode', 'fill') == meta['mode']
            assert config['seed_everything'] == 0
            assert f'{config["trainer"]["max_steps"]:,} steps' in stage
            # each later stage starts from the last checkpoint of the one before
            assert init.get('init') == (before and f'output/{before}/last.ckpt')
            before = name
        assert config['trainer']['max_steps'] == meta['steps_done']
        if meta['mode'] == 'fill':
            assert 'gpu_fit_inpainters.sh' in meta['training']
            assert all(name in meta['training'] for name in stages)
            assert meta['stages'][-1].endswith(f'exported {path_of(member).stem[-8:]})')
        else:
            assert f'torchgeo fit --config {meta["config"]}' in meta['training']
        # shipped because it was at least as good as the file it replaced in the same
        # test: not worse beyond a seed's spread
        two = meta['scores']['two_sample']
        assert two['accuracy'] < two['before']['accuracy'] + two['sd']
        assert meta['replaces'] == two['before']['file']
    else:
        # the users' path: torchgeo fit with a shipped config, at a named commit
        variant = member.name.split('_')[0].lower()
        assert meta['config'] == f'docs/configs/sparcs_{variant}.yaml'
        assert (ROOT / meta['config']).is_file()
        assert 'torchgeo fit --config docs/configs/' in meta['training']
        assert Path(meta['config']).name in meta['training']
        assert meta['seed'] == 0 and '--seed_everything 0' in meta['training']
        assert meta['commit'] == weights.SEGMENTER_COMMITS[variant]
        assert f'at commit {meta["commit"]}' in meta['training']
        assert weights.PACK_TRAINER_COMMIT not in meta['training']
        assert set(meta['scores']) >= {'val', 'test', 'val+test', 'gpu'}
        assert 'reach' not in meta and 'resaved_from' not in meta
        # a run of the paired ablation, its row's override named, chosen on val
        row = ROOT / 'docs/configs/ablation' / f'{meta["ablation_row"]}.yaml'
        assert row.is_file() and f'--config {row.relative_to(ROOT)}' in meta['training']
        assert (ROOT / meta['record']).is_file() and meta['record'] in meta['training']
        assert 'on val only' in meta['selection']
        assert 'test is reported, never used to choose' in meta['selection']
        # the shipped config is the BASE recipe with the row's augmentations on top
        config = yaml.safe_load((ROOT / meta['config']).read_text())
        base = yaml.safe_load((ROOT / 'docs/configs/sparcs_base.yaml').read_text())
        csia = yaml.safe_load(row.read_text())['data']['init_args']['csia']
        assert config['data']['init_args'].get('csia', []) == csia
        base['data']['init_args'].update(config['data']['init_args'])
        assert base == config


def test_csia_segmenter_inpainters_are_the_shipped_ones() -> None:
    meta = CSIASegmenter_Weights.CSIA_SPARCS_PHOTO.meta
    assert len(meta['paint_order']) == 4
    assert 'shadow painted first' in meta['paint_order'][0]
    assert meta['structure_bank'] == weights.SPARCS_BANK
    # trained with the files shipped at its commit, whose hashes the training text
    # names: cloud and shadow still shipped, snow since replaced by its member's file
    expected = {'cloud': 'b8865fb8', 'shadow': '3cb1b4ed', 'snow': 'aecfbc5e'}
    assert set(meta['inpainters']) == set(expected)
    for cls, file in meta['inpainters'].items():
        member = CSIAInpainter_Weights[f'{cls.upper()}_SPARCS_PHOTO']
        assert file.endswith(f'-{expected[cls]}.pth')
        assert f'{cls} {expected[cls]}' in meta['training']
        assert meta['inpainter_weights'][cls].startswith(str(member) + ' as shipped')
        if cls == 'snow':
            assert member.meta['replaces'] == file != path_of(member).name
        else:  # the shipped file is the one its name says (verified_path checks it)
            assert path_of(member).name == file == Path(member.meta['file']).name
    # and the config it was trained with names them, at the card's setting
    config = yaml.safe_load((ROOT / meta['config']).read_text())
    modes = {
        a['class_path'].rsplit('.', 1)[-1]: a['init_args']
        for a in config['data']['init_args']['csia']
    }
    assert list(modes) == [o.split(',')[0] for o in meta['paint_order'][:3]]
    pair = modes['RandomCloudShadow']
    names = {c: w.split(' ')[0] for c, w in meta['inpainter_weights'].items()}
    assert pair['cloud'] == names['cloud'] and pair['shadow'] == names['shadow']
    assert modes['RandomShadowForClouds']['shadow'] == names['shadow']
    assert modes['RandomSnow']['snow'] == names['snow']
    assert pair['shadow_first'] is True
    # both shadow modes deepen their shadows as the card says; snow has no shadow
    depth = meta['shadow_depth']
    assert depth == 1.9 and f'shadow_depth {depth}' in meta['training']
    assert pair['shadow_depth'] == modes['RandomShadowForClouds']['shadow_depth']
    assert pair['shadow_depth'] == depth and 'shadow_depth' not in modes['RandomSnow']
    assert pair['p'] == modes['RandomSnow']['p'] == 0.5
    assert pair['min_free'] == modes['RandomSnow']['min_free'] == 0.25
    base = CSIASegmenter_Weights.BASE_SPARCS_PHOTO.meta
    assert base['inpainters'] is None
    assert (
        'csia'
        not in yaml.safe_load((ROOT / base['config']).read_text())['data']['init_args']
    )


def iou_from(confusion: list[list[int]]) -> list[float | None]:
    """IoU per class from a truth x prediction confusion; None where truth has none."""
    conf = torch.tensor(confusion, dtype=torch.float64)
    tp, truth = conf.diag(), conf.sum(1)
    union = conf.sum(0) + truth - tp
    return [
        None if n == 0 else float(t / u)
        for t, u, n in zip(tp, union, truth, strict=True)
    ]


@pytest.mark.parametrize('member', list(CSIASegmenter_Weights), ids=str)
def test_segmenter_scores_match_their_confusion(member: CSIASegmenter_Weights) -> None:
    scores = member.meta['scores']
    classes = member.meta['classes']
    for split, scenes in (('val', 11), ('test', 9), ('val+test', 20)):
        ours = scores[split]
        assert ours['scenes'] == scenes
        for c, iou in zip(classes, iou_from(ours['confusion']), strict=True):
            if iou is None:  # absent from the split (snow in test): n/a, not 0
                assert ours[c] is None
            else:
                assert ours[c] == pytest.approx(iou, abs=5e-5)
        present = [ours[c] for c in classes if ours[c] is not None]
        assert ours['mean'] == pytest.approx(sum(present) / len(present), abs=1e-4)
    # val+test pools the two splits' pixels
    pooled = torch.tensor(scores['val']['confusion']) + torch.tensor(
        scores['test']['confusion']
    )
    assert torch.equal(pooled, torch.tensor(scores['val+test']['confusion']))
    assert pooled.sum(1)[classes.index('snow')] > 0  # val holds snow
    assert torch.tensor(scores['test']['confusion']).sum(1)[classes.index('snow')] == 0
    # the file it replaced keeps its scores and the confusions they came from
    old = member.meta['replaces']
    for split in ('val', 'test', 'val+test'):
        for c, iou in zip(classes, iou_from(old['confusion'][split]), strict=True):
            assert old['iou'][split][c] == (
                None if iou is None else pytest.approx(iou, abs=5e-5)
            )


@pytest.mark.parametrize('member', list(CSIASegmenter_Weights), ids=str)
def test_segmenter_cpu_scores_agree_with_the_gpu(member: CSIASegmenter_Weights) -> None:
    # the same weights and scenes, fp32 on a CPU (the fp16 file) against bf16-mixed
    # on the H200 (the fit checkpoint): per-class IoU of each split within 0.004 (the
    # 11 val scenes alone move more than the 20 pooled: BASE's shadow by 0.0034 on
    # val, 0.0025 over val+test)
    scores = member.meta['scores']
    for split in ('val', 'test'):
        cpu, gpu = scores[split], scores['gpu'][split]
        assert gpu['scenes'] == cpu['scenes']
        for c in [*member.meta['classes'], 'mean']:
            if cpu[c] is None:  # snow in test
                assert gpu[c] is None
            else:
                assert cpu[c] == pytest.approx(gpu[c], abs=0.004)


@pytest.mark.parametrize('member', list(CSIASegmenter_Weights), ids=str)
def test_segmenter_gpu_scores_are_the_ablations(member: CSIASegmenter_Weights) -> None:
    # the card's GPU IoU are those the ablation's torchgeo test logged for the run
    gpu = member.meta['scores']['gpu']
    for split in ('val', 'test'):
        path = ROOT / gpu['source'].replace('{val,test}', split)
        header, values = path.read_text().splitlines()[:2]
        logged = dict(zip(header.split(','), values.split(','), strict=True))
        for c in member.meta['classes']:
            value = float(logged[f'test_ClasswiseJaccardIndex_{c}'])
            if gpu[split][c] is None:
                assert value != value  # nan: absent from the split's truth
            else:
                assert gpu[split][c] == pytest.approx(value, abs=5e-5)
        mean = float(logged['test_AverageJaccardIndex'])
        assert gpu[split]['mean'] == pytest.approx(mean, abs=1e-4)


def test_docs_table_matches_meta() -> None:
    # regenerate with: python -m torchgeo_csia.models.cards --write docs/weights.rst
    text = DOCS.read_text()
    assert weights_table() in text
    assert replace_table(text) == text
    for m in ALL:
        assert Path(m.meta['file']).name in text
    # the summary in TorchGeo's columns comes first, one row per weight with its score
    summary = weights_table().split('The cards in full:')[0]
    assert '- Channels' in summary and '- License' in summary
    for m in ALL:
        row = summary.split(f'* - ``{m}``')[1].split('* -')[0]
        if isinstance(m, CSIAInpainter_Weights):
            accuracy = m.meta['scores']['two_sample']['accuracy']
            assert f'two-sample accuracy {accuracy:.3f}' in row
            assert '3 + hole mask' in row
        else:
            assert f'val mIoU {m.meta["scores"]["val"]["mean"]:.4f}' in row


def test_inpainter_hole_shapes() -> None:
    from torchgeo_csia.models import inpainter

    net = inpainter(3, encoder='resnet18').eval()
    image = torch.rand(2, 3, 64, 64)
    hole = torch.zeros(2, 64, 64, dtype=torch.bool)
    hole[:, 10:20, 10:20] = True
    with torch.no_grad():
        assert torch.equal(net(image, hole[:, None]), net(image, hole))
        with pytest.raises(ValueError, match=r'hole must be B x H x W .*\(2, 32, 32\)'):
            net(image, hole[:, :32, :32])
