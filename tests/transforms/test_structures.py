import math
from functools import partial

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torchgeo_csia.transforms.structures import (
    BACKGROUND,
    CLOUD,
    SHADOW,
    SNOW,
    blob_masks,
    check_mask,
    deepen,
    dilate,
    free_fraction,
    paint_labels,
    paint_regions,
    paintable,
    paste,
    plasma,
    random_flips,
    shadow_offsets,
    shift,
    transplant,
    unseen,
)

LABELS = [BACKGROUND, SHADOW, SNOW, CLOUD, 255]


@st.composite
def batches(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor]:
    b = draw(st.integers(1, 4))
    h = draw(st.integers(1, 24))
    w = draw(st.integers(1, 24))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)
    mask = torch.tensor(LABELS)[torch.randint(0, 5, (b, h, w), generator=g)]
    hole = torch.rand(b, h, w, generator=g) < 0.5
    return mask, hole


@settings(max_examples=60, deadline=None)
@given(batches(), st.sampled_from([SHADOW, SNOW, CLOUD]))
def test_paint_labels_priority(
    data: tuple[torch.Tensor, torch.Tensor], cls: int
) -> None:
    mask, hole = data
    before = mask.clone()
    out, taken = paint_labels(mask, hole, cls)
    torch.testing.assert_close(mask, before)  # input untouched
    assert (out[taken] == cls).all()
    assert (out[~taken] == mask[~taken]).all()
    assert set(out.unique().tolist()) <= set(LABELS)  # never a sum like 4
    rank = {BACKGROUND: 0, SNOW: 1, SHADOW: 2, CLOUD: 3}
    for label in (BACKGROUND, SHADOW, SNOW, CLOUD):
        sel = hole & (mask == label)
        assert bool((taken[sel]).all()) == (rank[label] < rank[cls]) or not sel.any()
    assert not taken[mask == 255].any()  # ignore index is never painted


def test_paint_labels_per_sample_class() -> None:
    mask = torch.zeros(2, 3, 3, dtype=torch.long)
    hole = torch.ones(2, 3, 3, dtype=torch.bool)
    out, _ = paint_labels(mask, hole, torch.tensor([SHADOW, CLOUD]))
    assert (out[0] == SHADOW).all() and (out[1] == CLOUD).all()


def test_shadow_offsets_direction() -> None:
    az = torch.tensor([0.0, 90.0, 180.0, 270.0])
    el = torch.full((4,), 45.0)
    dy, dx = shadow_offsets(az, el, torch.full((4,), 3000.0), pixel_size=30.0)
    # Sun in the north -> shadow south (+rows); sun in the east -> shadow west (-cols).
    torch.testing.assert_close(dy.round(), torch.tensor([100.0, 0.0, -100.0, 0.0]))
    torch.testing.assert_close(dx.round(), torch.tensor([0.0, -100.0, 0.0, 100.0]))
    low = shadow_offsets(az[:1], torch.tensor([20.0]), torch.tensor([3000.0]))[0]
    assert low.item() == pytest.approx(100 / math.tan(math.radians(20)))


@settings(max_examples=40, deadline=None)
@given(batches(), st.integers(-30, 30), st.integers(-30, 30))
def test_shift(data: tuple[torch.Tensor, torch.Tensor], dy: int, dx: int) -> None:
    _, hole = data
    b, h, w = hole.shape
    out = shift(hole, torch.full((b,), float(dy)), torch.full((b,), float(dx)))
    ref = torch.zeros_like(hole)
    ys, ye = max(dy, 0), min(h + dy, h)
    xs, xe = max(dx, 0), min(w + dx, w)
    if ys < ye and xs < xe:
        ref[:, ys:ye, xs:xe] = hole[:, ys - dy : ye - dy, xs - dx : xe - dx]
    torch.testing.assert_close(out, ref)


def test_shift_per_sample() -> None:
    hole = torch.zeros(2, 5, 5, dtype=torch.bool)
    hole[:, 2, 2] = True
    out = shift(hole, torch.tensor([1.0, -2.0]), torch.tensor([0.0, 1.0]))
    assert out[0, 3, 2] and out[1, 0, 3] and out.sum() == 2


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(8, 64), st.floats(0.05, 0.9))
def test_blob_masks_coverage(n: int, size: int, coverage: float) -> None:
    g = torch.Generator().manual_seed(0)
    masks = blob_masks(n, size, size, torch.full((n,), coverage), scale=16, generator=g)
    assert masks.shape == (n, size, size) and masks.dtype == torch.bool
    share = masks.flatten(1).float().mean(1)
    assert (share - coverage).abs().max() < 0.1


def test_blob_masks_seeded() -> None:
    cov = torch.tensor([0.3, 0.5])
    a = blob_masks(2, 32, 32, cov, generator=torch.Generator().manual_seed(1))
    b = blob_masks(2, 32, 32, cov, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)


def test_free_fraction() -> None:
    mask = torch.tensor([[[0, 0], [1, 255]], [[2, 0], [0, 0]]])
    torch.testing.assert_close(free_fraction(mask), torch.tensor([0.5, 0.75]))
    torch.testing.assert_close(free_fraction(mask, (0, 2)), torch.tensor([0.5, 1.0]))


def test_dilate() -> None:
    mask = torch.zeros(1, 7, 7, dtype=torch.bool)
    mask[0, 3, 3] = True
    assert dilate(mask, 0) is mask
    assert dilate(mask, 1).sum() == 9 and dilate(mask, 2).sum() == 25
    assert not mask[0, 0, 0]  # input untouched


def test_paint_regions_ring() -> None:
    labels = torch.zeros(1, 8, 8, dtype=torch.long)
    labels[0, :, 6:] = SNOW  # the ring stays off labelled pixels
    cloud = torch.zeros(1, 8, 8, dtype=torch.bool)
    cloud[0, 3:5, 3:5] = True
    shadow = torch.zeros(1, 8, 8, dtype=torch.bool)
    shadow[0, 0, 0] = True
    r_cloud, r_shadow = paint_regions(
        labels, [(CLOUD, cloud), (SHADOW, shadow)], [2, 1]
    )
    expect = dilate(cloud, 2) & (labels == BACKGROUND)
    assert torch.equal(r_cloud, expect)
    # the shadow's ring leaves out what the cloud's region already painted
    assert r_shadow[0, 0, 0] and r_shadow.sum() == 3 and not (r_shadow & r_cloud).any()
    (r0,) = paint_regions(labels, [(CLOUD, cloud)], [0])
    assert torch.equal(r0, cloud)


def test_random_flips_move_image_and_mask_alike() -> None:
    image = torch.arange(2 * 16.0).reshape(2, 1, 4, 4).repeat(1, 3, 1, 1)
    mask = image[:, 0].long()
    torch.manual_seed(0)
    out_image, out_mask = random_flips(image, mask)
    assert torch.equal(out_image[:, 0].long(), out_mask)
    # each sample keeps its own pixels, only moved; some sample did move
    assert torch.equal(
        out_mask.flatten(1).sort(1).values, mask.flatten(1).sort(1).values
    )
    assert not torch.equal(out_mask, mask)


@settings(max_examples=40, deadline=None)
@given(batches(), st.integers(0, 2**31 - 1), st.integers(0, 3))
def test_transplant_moves_real_structures(
    dst: tuple[torch.Tensor, torch.Tensor], seed: int, margin: int
) -> None:
    labels = dst[0]
    g = torch.Generator().manual_seed(seed)
    src_labels = torch.tensor(LABELS)[torch.randint(0, 5, labels.shape, generator=g)]
    image = torch.rand(labels.shape[0], 2, *labels.shape[1:], generator=g)
    src_image = torch.rand(image.shape, generator=g) + 2  # moved pixels stand out
    out, out_labels = transplant(
        image, labels, src_image, src_labels, (SHADOW, CLOUD), margin
    )
    layers = [(c, (src_labels == c) & paintable(labels, c)) for c in (SHADOW, CLOUD)]
    region = torch.stack(paint_regions(labels, layers, [margin, margin])).any(0)
    # the structures and their ring take the source's pixels, nothing else moves
    assert torch.equal(out, torch.where(region[:, None], src_image, image))
    for c, pixels in layers:
        assert (out_labels[pixels] == c).all()
    structure = layers[0][1] | layers[1][1]
    assert torch.equal(out_labels[~structure], labels[~structure])  # ring unlabelled
    assert (out_labels[labels == 255] == 255).all()


def test_paste() -> None:
    image = torch.zeros(1, 2, 2, 2)
    filled = torch.full((1, 2, 2, 2), 5.0)
    hole = torch.tensor([[[True, False], [False, False]]])
    out = paste(image, filled, hole, 0.0, 1.0)
    assert out[0, :, 0, 0].tolist() == [1.0, 1.0] and out.sum() == 2.0
    assert image.sum() == 0


@pytest.mark.parametrize(
    'mask, image, match',
    [
        (torch.zeros(2, 4, 4), None, 'integer labels'),
        (torch.zeros(2, 1, 4, 4, dtype=torch.long), None, 'B x H x W'),
        (torch.zeros(2, 4, 4, dtype=torch.long), torch.zeros(3, 3, 4, 4), 'differ'),
        (
            torch.zeros(2, 4, 4, dtype=torch.long),
            torch.zeros(2, 3, 4, 4).long(),
            'floating',
        ),
    ],
)
def test_check_mask_errors(
    mask: torch.Tensor, image: torch.Tensor | None, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        check_mask(mask, image)


def test_transplant_guard_keeps_the_ring_to_clear_ground() -> None:
    from torchgeo_csia.transforms.structures import transplant_guard

    # target: background with one snow pixel; source: cloud, shadow, snow, nodata
    labels = torch.zeros(1, 2, 3, dtype=torch.long)
    labels[0, 0, 0] = 2
    src = torch.tensor([[[3, 1, 2], [255, 0, 0]]])
    guard = transplant_guard(labels, src, (0,), (3, 1))
    expected = torch.tensor([[[True, False, True], [True, False, False]]])
    assert torch.equal(guard, expected)


def test_unseen_by_hand() -> None:
    before = torch.tensor([0.5, 0.5, 0.01, 0.5]).reshape(1, 1, 1, 4).expand(1, 3, 1, 4)
    after = torch.tensor([0.52, 0.3, 0.015, 0.5]).reshape(1, 1, 1, 4).expand(1, 3, 1, 4)
    # 4 % and 40 % of 0.5; 0.005 against the floor 0.02 (25 %); no change at all
    assert unseen(before, after, 0.1).tolist() == [[[True, False, False, True]]]
    assert unseen(before, after, 0.0).tolist() == [[[False] * 4]]
    # the mean over bands decides: one band brighter, one darker, by the same
    mixed = before.clone()
    mixed[0, 0] += 0.3
    mixed[0, 1] -= 0.3
    assert unseen(before, mixed, 0.1).all()


def test_deepen_is_the_painting_itself_at_depth_1() -> None:
    before, after = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    assert deepen(before, after, 1.0) is after


def test_deepen_raises_the_gain_to_the_depth() -> None:
    # ground 0.5 painted at 0.25 (gain 0.5): squared, 0.125; brightened to 0.8
    # (gain 1.6): 1.28 (clipped later by paste); unchanged where not painted
    before = torch.tensor([0.5, 0.5, 0.5, 0.3]).reshape(1, 1, 1, 4)
    after = torch.tensor([0.25, 0.8, 0.5, 0.3]).reshape(1, 1, 1, 4)
    out = deepen(before, after, 2.0)
    assert torch.allclose(
        out, torch.tensor([0.125, 1.28, 0.5, 0.3]).reshape(1, 1, 1, 4)
    )
    assert out[0, 0, 0, 2] == 0.5 and out[0, 0, 0, 3] == before[0, 0, 0, 3]
    # a depth below 1 brings the painting nearer the ground
    assert torch.allclose(
        deepen(before, after, 0.5)[0, 0, 0, 0], torch.tensor(0.5**1.5)
    )


def test_deepen_stays_finite_on_black() -> None:
    before = torch.tensor([0.0, 0.0, 0.4]).reshape(1, 1, 1, 3)
    after = torch.tensor([0.0, 0.2, 0.0]).reshape(1, 1, 1, 3)
    out = deepen(before, after, 1.9)
    assert torch.isfinite(out).all() and out[0, 0, 0, 0] == 0.0
    assert out[0, 0, 0, 2] < 1e-3  # painted black: blacker still (floor 1e-3)


@pytest.mark.parametrize(
    ('shape', 'roughness'),
    [((3, 1, 64, 64), 0.75), ((2, 1, 40, 72), 0.5), ((1, 2, 9, 5), 1.0)],
)
def test_plasma_is_kornias_diamond_square_for_the_same_draws(
    shape: tuple[int, int, int, int], roughness: float
) -> None:
    from kornia.contrib import diamond_square

    # the same generator state for both: the same draws in the same order
    ours = plasma(
        shape,
        roughness,
        partial(torch.rand, generator=torch.Generator().manual_seed(3)),
    )
    theirs = diamond_square(
        shape,
        roughness=roughness,
        random_fn=partial(torch.rand, generator=torch.Generator().manual_seed(3)),
        normalize_range=(0.0, 1.0),
    )
    assert ours.shape == theirs.shape == shape
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    # normalised per plane, and not flat
    flat = ours.flatten(2)
    assert torch.allclose(flat.amin(-1), torch.zeros(shape[:2]), atol=1e-6)
    assert torch.allclose(flat.amax(-1), torch.ones(shape[:2]), atol=1e-5)
    assert flat.std(-1).min() > 0.05


def test_plasma_draws_only_from_its_draw() -> None:
    torch.manual_seed(0)
    before = torch.rand(4)
    torch.manual_seed(0)
    u = plasma((2, 1, 32, 32), 0.75, partial(torch.rand, generator=torch.Generator()))
    assert torch.equal(torch.rand(4), before)  # torch's own stream untouched
    v = plasma((2, 1, 32, 32), 0.75, lambda shape: torch.full(shape, 0.5))
    assert not torch.isnan(v).any() and torch.isfinite(u).all()
