import math
from collections.abc import Callable
from typing import Any

import kornia.augmentation as K
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from torchgeo_csia.models import Inpainter
from torchgeo_csia.transforms import (
    ProceduralStructures,
    RandomCloudShadow,
    RandomCopyPaste,
    RandomShadowForClouds,
    RandomSnow,
    RandomTransplant,
    StructureBank,
    sun_geometry,
)
from torchgeo_csia.transforms.csia import CSIAAugmentationBase

SCHEME = {0, 1, 2, 3, 255}


def tiny(bands: int, hole_channel: bool = True, margin: int = 0) -> Inpainter:
    # a real (small) network, so every code path runs a forward pass
    net = nn.Sequential(
        nn.Conv2d(bands + int(hole_channel), 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, bands, 3, padding=1),
        nn.Sigmoid(),
    )
    return Inpainter(net, bands, hole_channel, margin=margin)


def bank(size: int = 32) -> StructureBank:
    g = torch.Generator().manual_seed(0)
    cloud = torch.rand(5, size, size, generator=g) < 0.3
    shadow = torch.rand(5, size, size, generator=g) < 0.2
    snow = torch.rand(3, size, size, generator=g) < 0.4
    return StructureBank(cloud, shadow, snow, {'test': True})


MODES: dict[str, Callable[[int, float], CSIAAugmentationBase]] = {
    'cloud_shadow': lambda c, p: RandomCloudShadow(
        tiny(c, margin=2), tiny(c, margin=1), p=p
    ),
    'cloud_shadow_cloud_first': lambda c, p: RandomCloudShadow(
        tiny(c, margin=1), tiny(c, margin=2), p=p, shadow_first=False
    ),
    'cloud_shadow_bg_snow': lambda c, p: RandomCloudShadow(
        tiny(c), tiny(c), p=p, allowed=('background', 'snow'), source=bank()
    ),
    'cloud_shadow_paired': lambda c, p: RandomCloudShadow(
        tiny(c), tiny(c, False), p=p, source=bank(), shadow_mode='paired'
    ),
    'snow': lambda c, p: RandomSnow(tiny(c), p=p),
    'snow_background': lambda c, p: RandomSnow(tiny(c, margin=2), p=p, min_free=0.0),
    'shadow_for_clouds': lambda c, p: RandomShadowForClouds(tiny(c, margin=1), p=p),
    # labels only where the painting shows (the others take the ignore index)
    'cloud_shadow_seen': lambda c, p: RandomCloudShadow(
        tiny(c), tiny(c), p=p, min_change=0.1
    ),
    'copy_paste': lambda c, p: RandomCopyPaste('cloud', p=p),
    'transplant': lambda c, p: RandomTransplant('cloud_shadow', p=p),
    'transplant_bg_snow': lambda c, p: RandomTransplant(
        'cloud_shadow', p=p, allowed=('background', 'snow'), min_free=0.5
    ),
    'transplant_snow': lambda c, p: RandomTransplant('snow', p=p, margin=2),
}
#: modes whose every selected sample is sure to change (the others may find no room)
ALWAYS = {
    'cloud_shadow',
    'cloud_shadow_cloud_first',
    'cloud_shadow_bg_snow',
    'cloud_shadow_paired',
    'snow',
}


@st.composite
def batches(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    b = draw(st.integers(1, 4))
    c = draw(st.integers(1, 5))
    h = draw(st.sampled_from([16, 24, 32]))
    w = draw(st.sampled_from([16, 32]))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    image = torch.rand(b, c, h, w, generator=g)
    # per sample: label-free, background+snow, or blocks of every label
    kinds = torch.randint(0, 3, (b,), generator=g)
    mixed = torch.tensor([0, 1, 2, 3, 255])[
        torch.randint(0, 5, (b, h // 8, w // 8), generator=g)
    ]
    mixed = mixed.repeat_interleave(8, 1).repeat_interleave(8, 2)
    snowy = torch.where(torch.rand(b, h, w, generator=g) < 0.3, 2, 0)
    mask = torch.where(
        kinds[:, None, None] == 0,
        0,
        torch.where(kinds[:, None, None] == 1, snowy, mixed),
    )
    return image, mask


def changed(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a != b).flatten(1).any(1)


@settings(max_examples=25, deadline=None)
@given(
    batches(),
    st.sampled_from(sorted(MODES)),
    st.sampled_from([0.0, 0.5, 1.0]),
    st.integers(0, 1000),
)
def test_properties(
    data: tuple[torch.Tensor, torch.Tensor], mode: str, p: float, seed: int
) -> None:
    image, mask = data
    aug = MODES[mode](image.shape[1], p)
    image0, mask0 = image.clone(), mask.clone()
    torch.manual_seed(seed)
    out_image, out_mask = aug(image, mask)
    # inputs untouched, shapes and dtypes kept, labels in the scheme, finite
    assert torch.equal(image, image0) and torch.equal(mask, mask0)
    assert out_image.shape == image.shape and out_image.dtype == image.dtype
    assert out_mask.shape == mask.shape and out_mask.dtype == mask.dtype
    assert set(out_mask.unique().tolist()) <= SCHEME
    assert torch.isfinite(out_image).all()
    # labels change only in the holes, to the painted class; the image changes only
    # in the painted regions: the holes and their margin, which lies on background
    params = aug.last_params
    holes = torch.zeros_like(mask, dtype=torch.bool)
    paint = torch.zeros_like(mask, dtype=torch.bool)
    idx = params['indices']
    unseen = params.get('unseen')  # with min_change: the ignore index where unseen
    for cls, hole in zip(params['classes'].tolist(), params['holes'], strict=False):
        holes[idx] |= hole
        want = cls if unseen is None else torch.where(unseen[hole], 255, cls)
        assert (out_mask[idx][hole] == want).all()
    for region in params['paint']:
        paint[idx] |= region
    assert torch.equal(out_mask[~holes], mask[~holes])
    assert not (holes & ~paint).any()
    assert (mask[paint & ~holes] == 0).all()
    assert torch.equal(
        out_image.permute(1, 0, 2, 3)[:, ~paint], image.permute(1, 0, 2, 3)[:, ~paint]
    )
    # only eligible samples change; p=0 is the identity; p=1 changes every eligible one
    eligible = params['eligible']
    moved = changed(out_mask, mask)
    assert not (moved & ~eligible).any()
    if p == 0.0:
        assert torch.equal(out_image, image) and torch.equal(out_mask, mask)
    if p == 1.0 and mode in ALWAYS:
        assert torch.equal(moved, eligible)


def test_seeded_and_sequential() -> None:
    image = torch.rand(3, 4, 32, 32)
    mask = torch.zeros(3, 32, 32, dtype=torch.long)
    mask[2, :4] = 3
    aug = RandomCloudShadow(tiny(4), tiny(4), p=0.7)
    seq = K.AugmentationSequential(
        aug, K.RandomHorizontalFlip(p=0.0), data_keys=None, keepdim=True
    )
    outs = []
    for _ in range(2):
        torch.manual_seed(3)
        batch = {'image': image, 'mask': mask, 'sun_azimuth': torch.full((3,), 120.0)}
        with sun_geometry(seq, batch['sun_azimuth'], torch.full((3,), 35.0)):
            outs.append(seq(batch))
    assert torch.equal(outs[0]['image'], outs[1]['image'])
    assert torch.equal(outs[0]['mask'], outs[1]['mask'])
    assert outs[0]['mask'].dtype == torch.long and outs[0]['mask'].shape == mask.shape
    assert torch.equal(outs[0]['sun_azimuth'], torch.full((3,), 120.0))
    assert aug._sun is None  # geometry only lasts for the call


def test_shadow_falls_away_from_sun() -> None:
    # sun in the south-east: shadows go north-west (up and left)
    aug = RandomCloudShadow(tiny(3), tiny(3), p=1.0)
    image, mask = torch.rand(4, 3, 64, 64), torch.zeros(4, 64, 64, dtype=torch.long)
    with sun_geometry(aug, torch.full((4,), 135.0), torch.full((4,), 45.0)):
        aug(image, mask)
    dy, dx = aug.last_params['shadow_shift'].unbind(1)
    assert (dy < 0).all() and (dx < 0).all()
    assert torch.allclose(dy, dx, atol=1e-3)


@pytest.mark.parametrize('shadow_first, order', [(True, [1, 3]), (False, [3, 1])])
def test_paint_order(shadow_first: bool, order: list[int]) -> None:
    aug = RandomCloudShadow(tiny(3), tiny(3), p=1.0, shadow_first=shadow_first)
    aug(torch.rand(2, 3, 32, 32), torch.zeros(2, 32, 32, dtype=torch.long))
    assert aug.last_params['classes'].tolist() == order


def test_autocast_bf16_and_zeroed_hole_mode() -> None:
    net = tiny(2, hole_channel=False)
    aug = RandomSnow(net, p=1.0, autocast=torch.bfloat16)
    image, mask = torch.rand(2, 2, 32, 32), torch.zeros(2, 32, 32, dtype=torch.long)
    torch.manual_seed(0)
    out_image, out_mask = aug(image, mask)
    assert out_image.dtype == torch.float32 and torch.isfinite(out_image).all()
    assert (out_mask == 2).any()
    # on the CPU the network runs in fp32 whatever autocast says (bf16 is slower
    # there): the same output as without autocast
    torch.manual_seed(0)
    plain, _ = RandomSnow(net, p=1.0)(image, mask)
    assert torch.equal(out_image, plain)


def test_output_feeds_autograd() -> None:
    aug = RandomCloudShadow(tiny(3), tiny(3), p=1.0)
    out_image, _ = aug(
        torch.rand(2, 3, 32, 32), torch.zeros(2, 32, 32, dtype=torch.long)
    )
    seg = nn.Conv2d(3, 4, 1)
    seg(out_image).sum().backward()  # no inference tensor saved for backward
    assert seg.weight.grad is not None


def test_inpainters_stay_in_eval() -> None:
    aug = RandomSnow(tiny(3))
    aug.train()
    assert not aug.nets['2'].training


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('name', sorted(MODES))
@pytest.mark.parametrize('graphs', [False, True])
def test_cuda_no_host_sync(name: str, graphs: bool) -> None:
    # after the first call (which checks values once), nothing waits for the device
    torch.manual_seed(0)
    aug = MODES[name](3, 0.5).cuda()
    aug.cuda_graphs = graphs
    image = torch.rand(16, 3, 64, 64, device='cuda')
    mask = torch.zeros(16, 64, 64, dtype=torch.long, device='cuda')
    mask[8:, 24:40, 24:40] = 3  # mid-patch, so the shadow lands inside it
    mask[12:, 44:60, 4:20] = 2  # snow, for the mode that moves it
    sun = (
        torch.full((16,), 135.0, device='cuda'),
        torch.full((16,), 40.0, device='cuda'),
    )
    with sun_geometry(aug, *sun):
        aug(image, mask)
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode('error')
        try:
            for _ in range(3):
                _, out_mask = aug(image, mask)
        finally:
            torch.cuda.set_sync_debug_mode('default')
    assert (out_mask != mask).any() or name == 'copy_paste'


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_graphs_paint_what_eager_paints() -> None:
    torch.manual_seed(0)
    eager = RandomCloudShadow(tiny(3), tiny(3), p=1.0, cuda_graphs=False).cuda()
    graphed = RandomCloudShadow(tiny(3), tiny(3), p=1.0).cuda()
    graphed.load_state_dict(eager.state_dict())
    image = torch.rand(8, 3, 64, 64, device='cuda')
    mask = torch.zeros(8, 64, 64, dtype=torch.long, device='cuda')
    outs = []
    for aug in (eager, graphed):
        torch.manual_seed(1)
        outs.append(aug(image, mask))
    assert torch.equal(outs[0][1], outs[1][1])
    assert torch.allclose(outs[0][0], outs[1][0], atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda() -> None:
    aug = RandomCloudShadow(tiny(3), tiny(3), p=1.0, autocast=torch.bfloat16)
    image = torch.rand(4, 3, 64, 64, device='cuda')
    mask = torch.zeros(4, 64, 64, dtype=torch.long, device='cuda')
    out_image, out_mask = aug(image, mask)
    assert out_image.is_cuda and (out_mask == 3).any()


@pytest.mark.parametrize(
    'build, match',
    [
        (lambda: RandomCopyPaste('fog'), 'unknown class'),
        (lambda: RandomCopyPaste(7), 'unknown class'),
        (lambda: RandomCopyPaste('background'), 'not a structure'),
        (lambda: RandomSnow(tiny(3), p=1.5), 'p must be'),
        (lambda: RandomSnow(tiny(3), min_free=2.0), 'min_free'),
        (
            lambda: RandomCloudShadow(tiny(3), tiny(3), allowed=('cloud',)),
            'background and snow',
        ),
        (
            lambda: RandomCloudShadow(tiny(3), tiny(3), shadow_mode='north'),
            'shadow_mode',
        ),
        (lambda: ProceduralStructures(coverage=(0.5, 0.2)), 'coverage'),
    ],
)
def test_bad_arguments(build: Callable[[], object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        build()


def test_not_an_inpainter() -> None:
    with pytest.raises(TypeError, match='cloud inpainter'):
        RandomCloudShadow(nn.Identity(), tiny(3))


@pytest.mark.parametrize(
    'image, mask, match',
    [
        (
            torch.rand(2, 4, 32, 32),
            torch.zeros(2, 32, 32, dtype=torch.long),
            'takes B x 3',
        ),
        (torch.rand(2, 3, 32, 32), torch.zeros(2, 32, dtype=torch.long), 'B x H x W'),
        (torch.rand(2, 3, 32, 32), torch.zeros(2, 32, 32, dtype=torch.bool), 'integer'),
        (torch.rand(2, 3, 32, 32), torch.full((2, 32, 32), 0.5), 'fractions'),
        (
            torch.rand(2, 3, 16, 16),
            torch.zeros(2, 32, 32, dtype=torch.long),
            'matching',
        ),
    ],
)
def test_bad_inputs(image: torch.Tensor, mask: torch.Tensor, match: str) -> None:
    aug = RandomCloudShadow(tiny(3), tiny(3), p=1.0)
    with pytest.raises(ValueError, match=match):
        aug(image, mask)


def test_bank_roundtrip_and_pairs(tmp_path) -> None:
    b = bank(32)
    path = tmp_path / 'bank.npz'
    b.save(path)
    loaded = StructureBank.load(path)
    assert torch.equal(loaded.pairs, b.pairs) and torch.equal(
        loaded.snow_masks, b.snow_masks
    )
    assert loaded.meta == {'test': True}
    # one draw keeps a cloud with its own shadow, flipped alike
    one = StructureBank(b.pairs[:1, 0], b.pairs[:1, 1], b.snow_masks, {})
    cloud, shadow = one.clouds(16, 32, 32, torch.device('cpu'))
    assert shadow is not None
    for c, s in zip(cloud, shadow, strict=False):
        variants = [(b.pairs[0, 0], b.pairs[0, 1])]
        for f in (
            lambda x: x.flip(-1),
            lambda x: x.flip(-2),
            lambda x: x.transpose(-1, -2),
        ):
            variants += [(f(x), f(y)) for x, y in variants]
        assert any(torch.equal(c, x) and torch.equal(s, y) for x, y in variants)
    assert one.snow(2, 64, 48, torch.device('cpu')).shape == (2, 64, 48)


def test_bank_load_error(tmp_path) -> None:
    path = tmp_path / 'x.npz'
    path.write_bytes(b'nope')
    with pytest.raises(ValueError, match='not a structure bank'):
        StructureBank.load(path)


# -- issue 14, item 14: bad images and sun angles get clear errors or a tested rule --


def test_unnormalised_image_is_an_error() -> None:
    aug = RandomCloudShadow(tiny(3), tiny(3), p=1.0)
    image = torch.rand(2, 3, 32, 32) * 255
    mask = torch.zeros(2, 32, 32, dtype=torch.long)
    with pytest.raises(ValueError, match=r'span \[.*photo / 255'):
        aug(image, mask)


def test_integer_image_is_an_error() -> None:
    aug = RandomSnow(tiny(3), p=1.0)
    image = (torch.rand(2, 3, 32, 32) * 255).to(torch.uint8)
    with pytest.raises(TypeError, match=r'floating-point.*uint8'):
        aug(image, torch.zeros(2, 32, 32, dtype=torch.long))


def cloudy(
    name: str, n: int
) -> tuple[CSIAAugmentationBase, torch.Tensor, torch.Tensor]:
    """Mode *name* (p 1, any patch eligible) and *n* patches with some cloud."""
    torch.manual_seed(0)
    aug = MODES[name](3, 1.0)
    if hasattr(aug, 'min_free'):
        aug.min_free = 0.0  # the patches are not label-free
    image = torch.rand(n, 3, 64, 64)
    mask = torch.zeros(n, 64, 64, dtype=torch.long)
    mask[:, :8, :16] = 3  # some cloud, for the modes that need it
    if name.startswith('transplant'):  # structures elsewhere, for the others
        mask[0, 44:60, 44:60] = 3
        mask[0, 44:60, 4:20] = 2
    return aug, image, mask


@pytest.mark.parametrize('name', sorted(MODES))
def test_nan_samples_pass_through(name: str) -> None:
    aug, image, mask = cloudy(name, 3)
    image[1, :, 5:7, 10:14] = float('nan')  # 24 NaN in one sample
    out_image, out_mask = aug(image, mask)
    assert int(out_image.isnan().sum()) == 24
    assert torch.equal(out_image[1].nan_to_num(-1), image[1].nan_to_num(-1))
    assert torch.equal(out_mask[1], mask[1])


def test_nan_sun_falls_back_to_a_random_direction() -> None:
    torch.manual_seed(0)
    aug = RandomCloudShadow(tiny(3), tiny(3), p=1.0)
    image = torch.rand(2, 3, 64, 64)
    mask = torch.zeros(2, 64, 64, dtype=torch.long)
    az = torch.tensor([float('nan'), 90.0])
    with sun_geometry(aug, az, torch.tensor([45.0, float('nan')])):
        _, out_mask = aug(image, mask)
    assert ((out_mask == 1).flatten(1).sum(1) > 0).all()  # a shadow for both


def test_scalar_sun_serves_the_batch() -> None:
    torch.manual_seed(0)
    aug = RandomCloudShadow(tiny(3), tiny(3), p=1.0)
    image, mask = torch.rand(2, 3, 64, 64), torch.zeros(2, 64, 64, dtype=torch.long)
    with sun_geometry(aug, torch.tensor(135.0), torch.tensor(40.0)):
        aug(image, mask)
    assert aug.last_params['shadow_shift'].shape == (2, 2)


def test_sun_of_the_wrong_length_is_an_error() -> None:
    aug = RandomCloudShadow(tiny(3), tiny(3), p=1.0)
    image, mask = torch.rand(2, 3, 64, 64), torch.zeros(2, 64, 64, dtype=torch.long)
    with sun_geometry(aug, torch.zeros(3), torch.full((3,), 40.0)):
        with pytest.raises(ValueError, match='3 values for a batch of 2'):
            aug(image, mask)
    with pytest.raises(ValueError, match='0-d or 1-d'):
        with sun_geometry(aug, torch.zeros(2, 1), torch.zeros(2, 1)):
            pass


# -- issue 14, item 15: a label outside the scheme is kept as it is ------------------


@pytest.mark.parametrize('name', sorted(MODES))
def test_labels_outside_the_scheme_pass_through(name: str) -> None:
    aug, image, mask = cloudy(name, 2)
    mask[:, 20:40, 20:40] = 7
    out_image, out_mask = aug(image, mask)
    assert (out_mask[mask == 7] == 7).all()
    # neither a structure nor the ring around it paints over such pixels
    assert torch.equal(out_image[:, :, 20:40, 20:40], image[:, :, 20:40, 20:40])
    assert (out_mask != mask).any()  # while the mode did paint elsewhere


# -- issue 14, item 4: a mode checks the class of the inpainter it is given ----------


def test_weights_of_another_class_are_refused() -> None:
    with pytest.raises(ValueError, match='RandomSnow needs a snow inpainter'):
        RandomSnow('CLOUD_SPARCS_PHOTO')
    with pytest.raises(TypeError, match='RandomSnow needs inpainter weights'):
        RandomSnow('CSIASegmenter_Weights.BASE_SPARCS_PHOTO')
    net = tiny(3)
    net.structure = 'cloud'
    with pytest.raises(ValueError, match='needs a shadow inpainter'):
        RandomShadowForClouds(net)


def test_last_params_is_kornias_record() -> None:
    aug = RandomSnow(tiny(3), p=1.0)
    with pytest.raises(RuntimeError, match='not been called'):
        _ = aug.last_params
    image, mask = torch.rand(2, 3, 32, 32), torch.zeros(2, 32, 32, dtype=torch.long)
    out = aug(image, mask)
    params = aug.last_params
    assert params is aug._params and params['selected'].tolist() == [True, True]
    # passed back, the parameters replay the call
    again = aug(image, mask, params=params)
    assert torch.equal(again[0], out[0]) and torch.equal(again[1], out[1])


@pytest.mark.parametrize(
    'build, match',
    [
        (lambda: RandomSnow(tiny(3), max_selected=-1), 'max_selected'),
        (lambda: RandomCopyPaste('cloud', shift=(9.0, 3.0)), 'shift'),
        (lambda: RandomCopyPaste('cloud', min_pixels=-1), 'min_pixels'),
        (lambda: RandomShadowForClouds(tiny(3), cloud_height=(-1.0, 5.0)), 'height'),
        (lambda: RandomShadowForClouds(tiny(3), pixel_size=0.0), 'pixel_size'),
        (lambda: RandomSnow(tiny(3), source='bank'), 'source must be'),
    ],
)
def test_argument_checks_raise_kornia_errors(
    build: Callable[[], object], match: str
) -> None:
    from kornia.core.exceptions import BaseError, ValueCheckError

    with pytest.raises(ValueCheckError, match=match) as info:
        build()
    assert isinstance(info.value, BaseError | ValueError)


def test_type_checks_raise_kornia_errors() -> None:
    from kornia.core.exceptions import TypeCheckError

    with pytest.raises(TypeCheckError, match='cloud inpainter'):
        RandomCloudShadow(nn.Identity(), tiny(3))
    with pytest.raises(TypeCheckError, match='autocast'):
        RandomSnow(tiny(3), autocast='bf16')  # type: ignore[arg-type]


# -- issue 17, item 3: real structures moved in, the no-network control --------------


def donors() -> tuple[torch.Tensor, torch.Tensor]:
    """Two label-free patches, then a cloud + shadow (beside snow) and a snowy one."""
    image = torch.rand(4, 3, 64, 64)
    mask = torch.zeros(4, 64, 64, dtype=torch.long)
    mask[2, 8:24, 8:24] = 3
    mask[2, 24:36, 8:24] = 1
    mask[2, 8:24, 24:30] = 2  # snow right beside the cloud: not part of the ring
    mask[2, 50:60, 50:60] = 255
    mask[3, 40:60, 4:30] = 2
    return image, mask


@pytest.mark.parametrize('structure', ['cloud_shadow', 'snow'])
def test_transplant_moves_the_sources_own_pixels(structure: str) -> None:
    torch.manual_seed(0)
    image, mask = donors()
    aug = RandomTransplant(structure, p=1.0)  # type: ignore[arg-type]
    out_image, out_mask = aug(image, mask)
    params = aug.last_params
    slots, source, valid = params['indices'], params['source'], params['valid']
    classes = (1, 3) if structure == 'cloud_shadow' else (2,)
    donors_ = {2} if structure == 'cloud_shadow' else {2, 3}  # 2 has a little snow
    assert params['selected'].tolist() == [True, True, False, False]
    assert valid[:2].all() and set(source[:2].tolist()) <= donors_
    for k in range(2):
        t, s = int(slots[k]), int(source[k])
        assert t != s
        # the structures keep their place and class, with the source's pixels ...
        for cls in classes:
            assert torch.equal(out_mask[t] == cls, mask[s] == cls)
        paint = params['paint'].any(0)[k]
        assert torch.equal(out_image[t][:, paint], image[s][:, paint])
        assert torch.equal(out_image[t][:, ~paint], image[t][:, ~paint])
        # ... and a ring of its clear ground, never its other classes' pixels
        ring = paint & ~params['holes'].any(0)[k]
        assert ring.any() and (mask[s][ring] == 0).all()
        assert (out_mask[t][ring] == 0).all()
    # the donors themselves have no source: unchanged
    assert torch.equal(out_image[2:], image[2:]) and torch.equal(out_mask[2:], mask[2:])


def test_transplant_labels_by_priority_and_the_ignore_index() -> None:
    torch.manual_seed(0)
    image, mask = donors()
    target = mask[0]
    target[0:12, 0:64] = 2  # snow where the cloud and shadow come
    target[30:34, 8:24] = 255  # no label, under the shadow
    aug = RandomTransplant('cloud_shadow', p=1.0, allowed=(0, 2), min_free=0.5)
    out_image, out_mask = aug(image, mask)
    assert aug.last_params['valid'][0] and int(aug.last_params['source'][0]) == 2
    # cloud over snow, shadow over snow; the ignore index is never painted
    assert (out_mask[0, 8:12, 8:24] == 3).all()
    assert (out_mask[0, 30:34, 8:24] == 255).all()
    assert torch.equal(out_image[0, :, 30:34, 8:24], image[0, :, 30:34, 8:24])
    assert (out_mask[0, 24:30, 8:24] == 1).all()
    # snow beside the moved cloud keeps its label and its own pixels (no ring there)
    assert (out_mask[0, 0:8, 30:64] == 2).all()
    assert torch.equal(out_image[0, :, 0:8, 30:64], image[0, :, 0:8, 30:64])


def test_transplant_keeps_to_the_allowed_pixels() -> None:
    torch.manual_seed(0)
    image, mask = donors()
    mask[0, 16:20, :] = 3  # a cloud of the target's own across the donor's shadow
    mask[0, 26:28, :] = 1
    aug = RandomTransplant('cloud_shadow', p=1.0, min_free=0.5)
    _, out_mask = aug(image, mask)
    assert aug.last_params['valid'][0]
    assert torch.equal(out_mask[0, 16:20], mask[0, 16:20])  # not overwritten
    assert torch.equal(out_mask[0, 26:28], mask[0, 26:28])
    assert (out_mask[0, 8:16, 8:24] == 3).all()


def test_transplant_without_a_source_leaves_the_patch() -> None:
    torch.manual_seed(0)
    image, mask = donors()
    mask[2, :, :] = 3  # the only cloudy patch is now too cloudy to give
    aug = RandomTransplant('cloud_shadow', p=1.0)
    out_image, out_mask = aug(image, mask)
    assert not aug.last_params['valid'].any()
    assert torch.equal(out_image, image) and torch.equal(out_mask, mask)
    # a patch that is the only source and a target gives to no one, itself included
    image, mask = donors()
    aug = RandomTransplant('snow', p=1.0, min_free=0.0)
    _, out_mask = aug(image[3:], mask[3:])
    assert aug.last_params['eligible'].all() and not aug.last_params['valid'].any()
    assert torch.equal(out_mask, mask[3:])


def test_transplant_draws_every_source() -> None:
    image = torch.rand(6, 3, 32, 32)
    mask = torch.zeros(6, 32, 32, dtype=torch.long)
    for i in range(1, 6):
        mask[i, i : i + 4, :8] = 3
    aug = RandomTransplant('cloud_shadow', p=1.0)
    seen = set()
    for seed in range(40):
        torch.manual_seed(seed)
        aug(image, mask)
        seen.add(int(aug.last_params['source'][0]))
    assert seen == {1, 2, 3, 4, 5}


def test_transplant_p0_replay_and_nan_sources() -> None:
    image, mask = donors()
    aug = RandomTransplant(p=0.0)
    out = aug(image, mask)
    assert torch.equal(out[0], image) and torch.equal(out[1], mask)
    image[2, 0, 0, 0] = float('nan')  # the only cloud donor holds a NaN
    aug = RandomTransplant(p=1.0)
    out_image, out_mask = aug(image, mask)
    assert torch.equal(out_mask, mask)
    assert int(out_image.isnan().sum()) == 1
    # parameters passed back replay the call, on the image or mask alone
    torch.manual_seed(0)
    image, mask = donors()
    out_image, out_mask = aug(image, mask)
    params = aug.last_params
    assert torch.equal(aug(image, params=params, data_keys=['input']), out_image)
    assert torch.equal(aug(mask, params=params, data_keys=['mask']), out_mask)


def test_transplant_in_a_kornia_sequence() -> None:
    torch.manual_seed(0)
    image, mask = donors()
    seq = K.AugmentationSequential(
        RandomTransplant(p=1.0),
        K.RandomHorizontalFlip(p=0.0),
        data_keys=None,
        keepdim=True,
    )
    out = seq({'image': image, 'mask': mask})
    assert out['mask'].dtype == torch.long and out['mask'].shape == mask.shape
    assert (out['mask'][0] == 3).any()


@pytest.mark.parametrize(
    'build, match',
    [
        (lambda: RandomTransplant('fog'), 'structure must be'),  # type: ignore[arg-type]
        (lambda: RandomTransplant('snow', allowed=('snow',)), 'covers.*background'),
        (lambda: RandomTransplant(allowed=('cloud',)), 'covers.*background, snow'),
        (lambda: RandomTransplant(allowed=()), 'at least one'),
        (lambda: RandomTransplant(p=-0.1), 'p must be'),
        (lambda: RandomTransplant(min_free=1.5), 'min_free'),
        (lambda: RandomTransplant(margin=-1), 'margin'),
        (lambda: RandomTransplant(share=(0.5, 0.1)), 'share'),
        (lambda: RandomTransplant(share=(0.1, 2.0)), 'share'),
        (lambda: RandomTransplant(max_selected=-1), 'max_selected'),
    ],
)
def test_transplant_argument_checks(build: Callable[[], object], match: str) -> None:
    from kornia.core.exceptions import ValueCheckError

    with pytest.raises(ValueCheckError, match=match):
        build()


def test_transplant_documents_its_steps() -> None:
    doc = RandomTransplant.__doc__ or ''
    assert ':cite:`Belyakov2025`' in doc and '\n        1. ' in doc
    assert 'versionadded' in doc and '>>> ' in doc


# -- min_change: labels only where the painting shows ----------------------------------
class _Constant(nn.Module):
    """A fill of one value per band (the hole channel ignored)."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x[:, :-1], self.value)


def _snow(value: float, min_change: float) -> RandomSnow:
    return RandomSnow(
        Inpainter(_Constant(value), 3), p=1.0, min_free=0.0, min_change=min_change
    )


def test_min_change_ignores_what_does_not_show() -> None:
    # ground at 0.5: a fill of 0.52 changes it by 4 %, a fill of 0.9 by 80 %
    image = torch.full((2, 3, 32, 32), 0.5)
    image[1, :, :, 16:] = 0.52  # on the right of sample 1 the fill of 0.52 is exact
    mask = torch.zeros(2, 32, 32, dtype=torch.long)
    torch.manual_seed(0)
    faint_image, faint = _snow(0.52, 0.1)(image, mask)
    torch.manual_seed(0)
    plain_image, plain = _snow(0.52, 0.0)(image, mask)
    # the same painting; the label where it shows, the ignore index where not
    assert torch.equal(faint_image, plain_image)
    painted = plain == 2
    assert painted.any()
    assert (faint[painted] == 255).all()
    assert torch.equal(faint[~painted], plain[~painted])
    torch.manual_seed(0)
    _, bright = _snow(0.9, 0.1)(image, mask)
    assert torch.equal(bright, plain)


def test_min_change_labels_need_the_image() -> None:
    aug = _snow(0.9, 0.1)
    image = torch.full((2, 3, 32, 32), 0.5)
    mask = torch.zeros(2, 32, 32, dtype=torch.long)
    # the mask first in data_keys: the image is still transformed first
    out_mask, out_image = aug(mask, image, data_keys=['mask', 'input'])
    assert (out_mask == 2).any() and out_image.shape == image.shape
    # the mask replayed alone with the call's params agrees
    assert torch.equal(aug(mask, params=aug.last_params, data_keys=['mask']), out_mask)
    # params drawn without the image cannot say what shows
    params = {k: v for k, v in aug.last_params.items() if k != 'unseen'}
    with pytest.raises(ValueError, match='min_change'):
        aug(mask, params=params, data_keys=['mask'])


@pytest.mark.parametrize('value', [-0.1, -1.0])
def test_min_change_must_not_be_negative(value: float) -> None:
    with pytest.raises(ValueError, match='min_change'):
        _snow(0.9, value)


# -- shadow_depth: painted shadows darkened further ------------------------------------
def _ground_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Two seeded 64 x 64 RGB crops of mid-grey ground and their all-clear mask."""
    torch.manual_seed(0)
    image = 0.3 + 0.4 * torch.rand(2, 3, 64, 64)
    return image, torch.zeros(2, 64, 64, dtype=torch.long)


def _replay(
    build: Callable[[Any], RandomCloudShadow],
    value: float | tuple[float, ...],
    image: torch.Tensor,
    mask: torch.Tensor,
) -> tuple[
    tuple[torch.Tensor, torch.Tensor],
    tuple[torch.Tensor, torch.Tensor],
    dict[str, torch.Tensor],
]:
    """``build(1.0)``'s painting, ``build(value)``'s of the same draws, the draws."""
    plain = build(1.0)
    before = plain(image, mask)
    params = plain.last_params
    # built only now: its networks' initialisation must not move the first draws
    return before, build(value)(image, mask, params=params), params


def _cloud_shadow(shadow_depth: float | tuple[float, ...]) -> RandomCloudShadow:
    # constant fills: the cloud 0.9, the shadow 0.25 (on ground in [0.3, 0.7])
    return RandomCloudShadow(
        Inpainter(_Constant(0.9), 3),
        Inpainter(_Constant(0.25), 3, margin=1),
        p=1.0,
        shadow_mode='random',
        shadow_depth=shadow_depth,
    )


def test_shadow_depth_darkens_the_shadow_only() -> None:
    image, mask = _ground_batch()
    # the same draws replayed, the shadow's gain squared
    (plain_image, plain_mask), (deep_image, deep_mask), params = _replay(
        _cloud_shadow, 2.0, image, mask
    )
    assert torch.equal(deep_mask, plain_mask)
    order = params['classes'].tolist()
    shadow, cloud = (params['paint'][order.index(c)] for c in (1, 3))
    slots = params['indices']
    where_shadow = torch.zeros(2, 64, 64, dtype=torch.bool)
    where_cloud = torch.zeros_like(where_shadow)
    # the cloud, painted after the shadow, covers the shadow's ring where they meet
    where_shadow[slots], where_cloud[slots] = shadow & ~cloud, cloud
    assert where_shadow.any() and where_cloud.any()
    shadow_px = where_shadow[:, None].expand_as(image)
    cloud_px = where_cloud[:, None].expand_as(image)
    # darker in the shadow: the ground times (0.25 / ground) ** 2
    assert (deep_image[shadow_px] < plain_image[shadow_px]).all()
    expected = image * (0.25 / image) ** 2
    assert torch.allclose(deep_image[shadow_px], expected[shadow_px])
    # the cloud and everything outside the painted regions as before
    assert torch.equal(deep_image[cloud_px], plain_image[cloud_px])
    outside = ~(shadow_px | cloud_px)
    assert torch.equal(deep_image[outside], plain_image[outside])
    assert torch.equal(deep_image[outside], image[outside])


def test_shadow_depth_per_band_darkens_each_band_by_its_own_power() -> None:
    image, mask = _ground_batch()
    _, (out, _), params = _replay(_cloud_shadow, (2.0, 1.0, 0.5), image, mask)
    order = params['classes'].tolist()
    shadow, cloud = (params['paint'][order.index(c)] for c in (1, 3))
    where = torch.zeros(2, 64, 64, dtype=torch.bool)
    where[params['indices']] = shadow & ~cloud
    assert where.any()
    for band, depth in enumerate((2.0, 1.0, 0.5)):
        ground = image[:, band][where]
        expected = ground * (0.25 / ground) ** depth
        torch.testing.assert_close(out[:, band][where], expected)
    # the same power for every band is that one number
    assert _cloud_shadow((2.0, 2.0, 2.0)).shadow_depth == 2.0
    assert _cloud_shadow((1.0, 1.0, 1.0)).shadow_depth == 1.0
    with pytest.raises(ValueError, match='one per band \\(3\\)'):
        _cloud_shadow((2.0, 1.0))


@pytest.mark.parametrize('value', [0.0, -1.0])
@pytest.mark.parametrize(
    'build',
    [
        lambda d: RandomCloudShadow(tiny(3), tiny(3), shadow_depth=d),
        lambda d: RandomShadowForClouds(tiny(3), shadow_depth=d),
    ],
    ids=['cloud_shadow', 'shadow_for_clouds'],
)
def test_shadow_depth_must_be_positive(
    build: Callable[[float], object], value: float
) -> None:
    with pytest.raises(ValueError, match='shadow_depth'):
        build(value)


# -- cloud_density: painted clouds thickened ------------------------------------------
def _over(alpha: float, radiance: float, margin: int = 0) -> Inpainter:
    """An 'over' inpainter of one opacity and radiance everywhere."""
    net = nn.Conv2d(4, 6, 1)
    nn.init.zeros_(net.weight)
    with torch.no_grad():
        net.bias[:3] = torch.tensor(alpha).logit()
        net.bias[3:] = radiance
    return Inpainter(net, 3, margin=margin, mode='over')


def _over_cloud_shadow(**kwargs: float) -> RandomCloudShadow:
    """Cloud and shadow both painted 'over' the ground, each sample's shadow drawn."""
    return RandomCloudShadow(
        _over(0.2, 0.95),
        _over(0.3, 0.05, margin=1),
        p=1.0,
        shadow_mode='random',
        **kwargs,  # type: ignore[arg-type]
    )


def test_cloud_density_thickens_the_cloud_only() -> None:
    image, mask = _ground_batch()

    def build(density: float) -> RandomCloudShadow:
        return _over_cloud_shadow(cloud_density=density)

    (plain_image, plain_mask), (dense_image, dense_mask), params = _replay(
        build, 2.0, image, mask
    )
    assert torch.equal(dense_mask, plain_mask)
    order = params['classes'].tolist()
    cloud = params['paint'][order.index(3)]
    where = torch.zeros(2, 64, 64, dtype=torch.bool)
    where[params['indices']] = cloud
    assert where.any()
    px = where[:, None].expand_as(image)
    # the cloud's opacity 0.2 becomes 1 - 0.8 ** 2 = 0.36 over the same ground
    assert (dense_image[px] > plain_image[px]).all()
    ground = (plain_image[px] - 0.2 * 0.95) / 0.8
    torch.testing.assert_close(dense_image[px], 0.64 * ground + 0.36 * 0.95)
    assert torch.equal(dense_image[~px], plain_image[~px])


def test_cloud_density_per_band_changes_the_colour() -> None:
    image, mask = _ground_batch()

    def build(density: float | tuple[float, ...]) -> RandomCloudShadow:
        return RandomCloudShadow(
            _over(0.2, 0.95), tiny(3), p=1.0, cloud_density=density
        )

    (plain_image, _), (out, _), params = _replay(build, (1.0, 2.0, 3.0), image, mask)
    where = torch.zeros(2, 64, 64, dtype=torch.bool)
    where[params['indices']] = params['paint'][params['classes'].tolist().index(3)]
    for band, alpha in enumerate([0.2, 0.36, 1 - 0.8**3]):
        got, was = out[:, band][where], plain_image[:, band][where]
        g = (was - 0.2 * 0.95) / 0.8
        torch.testing.assert_close(got, (1 - alpha) * g + alpha * 0.95)
    with pytest.raises(ValueError, match='one per band \\(3\\)'):
        build((1.0, 2.0))


@pytest.mark.parametrize('value', [0.0, -1.0])
def test_cloud_density_must_be_positive(value: float) -> None:
    with pytest.raises(ValueError, match='cloud_density must be > 0'):
        RandomCloudShadow(_over(0.2, 0.9), tiny(3), cloud_density=value)


def test_cloud_density_needs_a_network_over_the_ground() -> None:
    with pytest.raises(ValueError, match="mode 'over'"):
        RandomCloudShadow(tiny(3), tiny(3), cloud_density=2.0)
    assert RandomCloudShadow(tiny(3), tiny(3)).cloud_density == 1.0
    assert RandomSnow(tiny(3)).cloud_density == 1.0


def test_cloud_texture_draws_a_density_map_per_sample() -> None:
    image, mask = _ground_batch()

    def build(texture: float) -> RandomCloudShadow:
        return _over_cloud_shadow(cloud_density=2.0, cloud_texture=texture)

    flat = build(0.0)
    flat(image, mask)
    assert 'cloud_density' not in flat.last_params
    lumpy = build(1.0)
    out, _ = lumpy(image, mask)
    params = lumpy.last_params
    density = params['cloud_density']
    k = len(params['indices'])
    assert density.shape == (k, 1, 64, 64)
    # 2 * exp(+-1) at the fractal's ends, and every value between
    assert float(density.min()) == pytest.approx(2 / math.e, rel=1e-5)
    assert float(density.max()) == pytest.approx(2 * math.e, rel=1e-5)
    # a parameter like the others: replayed, the same painting
    again, _ = build(1.0)(image, mask, params=params)
    assert torch.equal(again, out)
    # where the map is above 2 the cloud is brighter than the flat one's
    flat_params = {k: v for k, v in params.items() if k != 'cloud_density'}
    flat_out, _ = flat(image, mask, params=flat_params)
    cloud = torch.zeros(2, 64, 64, dtype=torch.bool)
    cloud[params['indices']] = params['paint'][params['classes'].tolist().index(3)]
    thick = torch.zeros_like(cloud)
    thick[params['indices']] = density[:, 0] > 2.2
    px = (cloud & thick)[:, None].expand_as(image)
    assert px.any() and (out[px] > flat_out[px]).all()


@pytest.mark.parametrize(
    ('kwargs', 'match'),
    [
        ({'cloud_texture': -0.5}, 'cloud_texture must be >= 0'),
        ({'cloud_roughness': 0.0}, 'cloud_roughness must be in'),
        ({'cloud_roughness': 1.5}, 'cloud_roughness must be in'),
    ],
)
def test_cloud_texture_bad_arguments(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RandomCloudShadow(_over(0.2, 0.9), tiny(3), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode 'over'"):
        RandomCloudShadow(tiny(3), tiny(3), cloud_texture=1.0)


def test_other_modes_keep_their_paint() -> None:
    assert RandomSnow(tiny(3)).shadow_depth == 1.0
    assert RandomCopyPaste('shadow').shadow_depth == 1.0
    assert RandomShadowForClouds(tiny(3), shadow_depth=1.9).shadow_depth == 1.9


def _lumpy(graphs: bool) -> RandomCloudShadow:
    torch.manual_seed(0)
    return RandomCloudShadow(
        _over(0.2, 0.95),
        tiny(3, margin=1),
        p=1.0,
        cloud_density=(1.0, 1.5, 1.5),
        cloud_texture=1.0,
        cuda_graphs=graphs,
    ).cuda()


def test_cloud_texture_leaves_the_random_stream_alone() -> None:
    # the fractal draws from its own stream: with and without texture a mode draws
    # the same structures in the same places, and what is drawn after it is the same
    image = 0.3 + 0.4 * torch.rand(4, 3, 64, 64)
    mask = torch.zeros(4, 64, 64, dtype=torch.long)
    drawn = []
    for texture in (0.0, 1.0):
        aug = RandomCloudShadow(_over(0.2, 0.95), tiny(3), p=0.5, cloud_texture=texture)
        torch.manual_seed(3)
        _, out_mask = aug(image, mask)
        drawn.append((out_mask, aug.last_params['indices'], torch.rand(3)))
    assert torch.equal(drawn[0][0], drawn[1][0])
    assert torch.equal(drawn[0][1], drawn[1][1])
    assert torch.equal(drawn[0][2], drawn[1][2])
    # seeded from torch's seed: a seeded run draws the same fractal again, on a new
    # module or on the same one once torch's seed has changed
    aug = RandomCloudShadow(_over(0.2, 0.95), tiny(3), p=1.0, cloud_texture=1.0)
    lumps = []
    for seed in (3, 4, 3):
        torch.manual_seed(seed)
        aug(image, mask)
        lumps.append(aug.last_params['cloud_density'])
    fresh = RandomCloudShadow(_over(0.2, 0.95), tiny(3), p=1.0, cloud_texture=1.0)
    torch.manual_seed(3)
    fresh(image, mask)
    assert torch.equal(lumps[0], lumps[2])
    assert torch.equal(lumps[0], fresh.last_params['cloud_density'])
    assert not torch.equal(lumps[0], lumps[1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_graphs_paint_lumpy_clouds_as_eager_does() -> None:
    # the drawn density map is an input of the captured graph: a replay must read the
    # map of its own call
    eager, graphed = _lumpy(False), _lumpy(True)
    graphed.load_state_dict(eager.state_dict())
    image = torch.rand(8, 3, 64, 64, device='cuda')
    mask = torch.zeros(8, 64, 64, dtype=torch.long, device='cuda')
    for call in range(2):  # the second call replays the graph captured by the first
        outs = []
        for aug in (eager, graphed):
            torch.manual_seed(call)
            outs.append(aug(image, mask))
        assert torch.equal(outs[0][1], outs[1][1])
        torch.testing.assert_close(outs[0][0], outs[1][0], atol=1e-5, rtol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_lumpy_clouds_draw_without_waiting() -> None:
    # the fractal is structures.plasma, whose kernels are written on the device
    # (Kornia 0.9's diamond_square copied them from the host at every level: this
    # test failed with it on an H200, 2026-12-02)
    aug = _lumpy(True)
    image = torch.rand(8, 3, 64, 64, device='cuda')
    mask = torch.zeros(8, 64, 64, dtype=torch.long, device='cuda')
    aug(image, mask)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        aug(image, mask)
    finally:
        torch.cuda.set_sync_debug_mode('default')


# -- shadow_scale: the shadow network at a lower resolution ---------------------------
def _varying_over(margin: int = 0) -> Inpainter:
    """An 'over' inpainter whose opacity and radiance follow its input."""
    torch.manual_seed(1)
    return Inpainter(nn.Conv2d(4, 6, 3, padding=1), 3, margin=margin, mode='over')


def test_shadow_scale_changes_the_shadow_pixels_only() -> None:
    image, mask = _ground_batch()

    sizes: list[tuple[str, int]] = []

    def build(scale: float) -> RandomCloudShadow:
        aug = RandomCloudShadow(
            _varying_over(),
            _varying_over(margin=1),
            p=1.0,
            shadow_mode='random',
            shadow_scale=int(scale),
        )
        for cls, name in ((3, 'cloud'), (1, 'shadow')):
            aug.nets[str(cls)].net.register_forward_hook(
                lambda m, args, out, name=name: sizes.append((name, args[0].shape[-1]))
            )
        return aug

    (plain_image, plain_mask), (half_image, half_mask), params = _replay(
        build, 2.0, image, mask
    )
    # the shadow network at half resolution the second time, the cloud's never
    assert sorted(set(sizes)) == [('cloud', 64), ('shadow', 32), ('shadow', 64)]
    assert torch.equal(half_mask, plain_mask)  # the same structures, the same labels
    order = params['classes'].tolist()
    shadow, cloud = (params['paint'][order.index(c)] for c in (1, 3))
    only, painted = torch.zeros(2, 2, 64, 64, dtype=torch.bool)
    only[params['indices']] = shadow & ~cloud
    # the cloud, painted after the shadow, sees the shadowed ground around it
    painted[params['indices']] = shadow | cloud
    assert only.any()
    only_px, painted_px = (w[:, None].expand_as(image) for w in (only, painted))
    assert not torch.equal(half_image[only_px], plain_image[only_px])
    assert torch.equal(half_image[~painted_px], plain_image[~painted_px])


@pytest.mark.parametrize(
    'build',
    [
        lambda net, s: RandomCloudShadow(tiny(3), net, shadow_scale=s),
        lambda net, s: RandomShadowForClouds(net, shadow_scale=s),
    ],
    ids=['cloud_shadow', 'shadow_for_clouds'],
)
@pytest.mark.parametrize(
    ('over', 'scale'), [(True, 0), (True, -1), (True, 1.5), (False, 2)]
)
def test_shadow_scale_is_checked(
    build: Callable[[Inpainter, Any], object], over: bool, scale: Any
) -> None:
    # out of range for a network painting over the ground; above 1 for one that fills
    with pytest.raises(ValueError, match='shadow_scale'):
        build(_varying_over() if over else tiny(3), scale)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_graphs_key_the_shadow_scale() -> None:
    # one instance at scale 1, then 2: the second must capture its own graph
    eager = RandomCloudShadow(
        _varying_over(), _varying_over(1), p=1.0, cuda_graphs=False
    ).cuda()
    graphed = RandomCloudShadow(_varying_over(), _varying_over(1), p=1.0).cuda()
    graphed.load_state_dict(eager.state_dict())
    image = torch.rand(8, 3, 64, 64, device='cuda')
    mask = torch.zeros(8, 64, 64, dtype=torch.long, device='cuda')
    for scale in (1, 2):
        outs = []
        for aug in (eager, graphed):
            aug.shadow_scale = scale
            torch.manual_seed(scale)
            outs.append(aug(image, mask))
        assert torch.equal(outs[0][1], outs[1][1])
        torch.testing.assert_close(outs[0][0], outs[1][0], atol=1e-5, rtol=0)


def test_shadow_scale_for_clouds_is_kept() -> None:
    aug = RandomShadowForClouds(_varying_over(), shadow_scale=2)
    assert aug.shadow_scale == 2 and RandomSnow(tiny(3)).shadow_scale == 1
