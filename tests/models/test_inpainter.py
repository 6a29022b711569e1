import pytest
import torch
from torch import Tensor, nn

from torchgeo_csia.models.inpainter import (
    Inpainter,
    holed_input,
    inpainter,
    smooth_fill,
    thicken,
)
from torchgeo_csia.transforms import RandomCloudShadow

#: a small smp network, so the tests stay fast on a CPU
SMALL = {'encoder': 'tu-tinynet_c', 'decoder_channels': (16, 16, 16, 16, 16)}


def square(b: int, size: int, lo: int, hi: int) -> Tensor:
    hole = torch.zeros(b, size, size, dtype=torch.bool)
    hole[:, lo:hi, lo:hi] = True
    return hole


def constant(bands: int, alpha: float, radiance: float) -> Inpainter:
    """An 'over' inpainter whose opacity and radiance are the same everywhere."""
    net = nn.Conv2d(bands + 1, 2 * bands, 1)
    nn.init.zeros_(net.weight)
    with torch.no_grad():
        # +-1e4: the sigmoid is exactly 1 or 0
        logit = torch.tensor(alpha).logit().clamp(-1e4, 1e4)
        net.bias[:bands] = logit
        net.bias[bands:] = radiance
    return Inpainter(net, bands, mode='over')


# -------------------------------------------------------------- smooth_fill
def test_smooth_fill_exact_on_a_constant_image() -> None:
    g = torch.Generator().manual_seed(0)
    image = torch.full((2, 3, 37, 41), 0.3)  # odd sizes: ceil-mode pyramid levels
    hole = torch.rand(2, 37, 41, generator=g) < 0.6
    out = smooth_fill(image, hole)
    assert torch.allclose(out, image, atol=1e-6)


def test_smooth_fill_keeps_the_outside_and_ignores_the_inside() -> None:
    g = torch.Generator().manual_seed(0)
    image = torch.rand(3, 3, 64, 64, generator=g)
    hole = square(3, 64, 10, 40)
    out = smooth_fill(image, hole)
    outside = ~hole[:, None].expand_as(image)
    assert torch.equal(out[outside], image[outside])
    # the pixels inside the hole are never read: other values, even NaN, change
    # nothing
    other = torch.where(hole[:, None], torch.rand(image.shape, generator=g), image)
    assert torch.equal(smooth_fill(other, hole), out)
    nan = torch.where(hole[:, None], torch.nan, image)
    assert torch.equal(smooth_fill(nan, hole), out)
    # a channel axis on the hole is accepted
    assert torch.equal(smooth_fill(image, hole[:, None]), out)


def test_smooth_fill_is_smooth_and_bounded() -> None:
    g = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 64, 64, generator=g) * 0.5 + 0.2  # in [0.2, 0.7]
    hole = square(2, 64, 16, 48)
    out = smooth_fill(image, hole)
    h = hole[:, None].expand_as(image)
    assert out[h].min() >= 0.2 and out[h].max() <= 0.7
    # far less texture inside the hole than the noise it was filled from
    inner = out[..., 20:44, 20:44]
    assert inner.diff(dim=-1).abs().mean() < 0.1 * image.diff(dim=-1).abs().mean()
    # samples do not mix: a brighter second sample leaves the first one's fill
    brighter = image.clone()
    brighter[1] += 0.2
    assert torch.equal(smooth_fill(brighter, hole)[0], out[0])


def test_smooth_fill_without_known_pixels() -> None:
    image = torch.rand(1, 3, 16, 16)
    out = smooth_fill(image, torch.ones(1, 16, 16, dtype=torch.bool))
    assert torch.equal(out, torch.zeros_like(image))


# ---------------------------------------------------------------- 'fill' mode
def test_fill_mode_is_the_holed_prediction() -> None:
    torch.manual_seed(0)
    net = inpainter(3, **SMALL).eval()  # type: ignore[arg-type]
    assert net.mode == 'fill' and net.net.segmentation_head[0].out_channels == 3
    image, hole = torch.rand(2, 3, 64, 64), square(2, 64, 8, 40)
    with torch.no_grad():
        expected = net.net(holed_input(image, hole, True))
        assert torch.equal(net(image, hole), expected)


# ---------------------------------------------------------------- 'over' mode
def test_over_mode_alpha_zero_keeps_the_image_and_one_gives_the_radiance() -> None:
    image, hole = torch.rand(2, 3, 40, 40), square(2, 40, 5, 30)
    with torch.no_grad():
        assert torch.equal(constant(3, 0.0, 0.7)(image, hole), image)
        assert torch.equal(
            constant(3, 1.0, 0.7)(image, hole), torch.full_like(image, 0.7)
        )
        # a shadow: the ground times the gain 1 - alpha, its texture kept
        half = constant(3, 0.5, 0.0)(image, hole)
    assert torch.allclose(half, 0.5 * image)


def test_over_mode_network_never_sees_the_hole() -> None:
    torch.manual_seed(0)
    net = inpainter(3, mode='over', **SMALL).eval()  # type: ignore[arg-type]
    assert net.mode == 'over' and net.net.segmentation_head[0].out_channels == 6
    seen: list[Tensor] = []
    net.net.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    image, hole = torch.rand(2, 3, 64, 64), square(2, 64, 8, 40)
    other = torch.where(hole[:, None], torch.rand(image.shape), image)
    with torch.no_grad():
        out = net(image, hole)
        net(other, hole)
    assert out.shape == image.shape
    assert torch.equal(seen[0], seen[1])
    assert torch.equal(seen[0][:, :3], smooth_fill(image, hole))
    assert torch.equal(seen[0][:, 3], hole.float())


def test_over_mode_arguments() -> None:
    with pytest.raises(ValueError, match='mode'):
        inpainter(3, mode='under', **SMALL)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='mode'):
        Inpainter(nn.Identity(), 3, mode='under')  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='hole_value'):
        Inpainter(nn.Identity(), 3, hole_value=[0.5] * 3, mode='over')
    net = constant(3, 0.5, 0.5)
    with pytest.raises(ValueError, match='fill'):
        net(torch.rand(1, 3, 8, 8), square(1, 8, 2, 4), torch.zeros(1, 3))


def test_over_mode_through_the_augmentation() -> None:
    torch.manual_seed(0)
    cloud = inpainter(3, mode='over', **SMALL).eval()  # type: ignore[arg-type]
    shadow = constant(3, 0.5, 0.0)  # the ground at half its brightness
    aug = RandomCloudShadow(cloud, shadow, p=1.0)
    image = torch.rand(2, 3, 64, 64) * 0.8 + 0.1
    mask = torch.zeros(2, 64, 64, dtype=torch.long)
    out, labels = aug(image, mask)
    assert torch.isfinite(out).all()
    cloudy, shadowed = labels == 3, labels == 1
    assert cloudy.any() and shadowed.any()
    # painted over the ground: the shadow keeps the ground's texture
    s = shadowed[:, None].expand_as(image)
    assert torch.allclose(out[s], 0.5 * image[s])
    assert not torch.equal(
        out[cloudy[:, None].expand_as(image)], image[cloudy[:, None].expand_as(image)]
    )
    untouched = (labels == 0)[:, None].expand_as(image)
    assert torch.equal(out[untouched], image[untouched])


# -------------------------------------------------------------- density
def test_thicken_stacks_layers() -> None:
    alpha = torch.tensor([0.0, 0.1, 0.5, 1.0])
    assert thicken(alpha, 1.0) is alpha
    # two layers of 0.5 let a quarter through
    assert thicken(alpha, 2.0).tolist() == pytest.approx([0.0, 0.19, 0.75, 1.0])
    thin = thicken(alpha, 0.5)
    assert (thin[1:3] < alpha[1:3]).all() and thin[[0, 3]].tolist() == [0.0, 1.0]


def test_density_thickens_the_opacity_over_the_ground() -> None:
    torch.manual_seed(0)
    image = torch.rand(2, 3, 32, 32)
    hole = square(2, 32, 8, 24)
    net = constant(3, 0.2, 0.9)
    plain, dense = net(image, hole), net(image, hole, density=3.0)
    alpha = 1 - 0.8**3
    torch.testing.assert_close(dense, (1 - alpha) * image + alpha * 0.9)
    torch.testing.assert_close(net(image, hole, density=1.0), plain)
    # brighter where the radiance is above the ground
    assert (dense[image < 0.9] > plain[image < 0.9]).all()


@pytest.mark.parametrize(
    ('option', 'match'),
    [
        ({'density': 0.0}, 'density must be > 0'),
        ({'density': -1.0}, 'density must be > 0'),
        ({'scale': 0}, 'scale must be an integer >= 1'),
        ({'scale': -1}, 'scale must be an integer >= 1'),
        ({'scale': 1.5}, 'scale must be an integer >= 1'),
    ],
)
def test_density_and_scale_must_be_in_range(
    option: dict[str, float], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        constant(3, 0.2, 0.9)(torch.rand(1, 3, 32, 32), square(1, 32, 8, 24), **option)


@pytest.mark.parametrize('option', [{'density': 2.0}, {'scale': 2}])
def test_density_and_scale_are_for_the_over_mode(option: dict[str, float]) -> None:
    net = Inpainter(nn.Conv2d(4, 3, 1), 3)
    with pytest.raises(ValueError, match="1 unless mode is 'over'"):
        net(torch.rand(1, 3, 32, 32), square(1, 32, 8, 24), **option)


def test_density_may_vary_across_the_image() -> None:
    image = torch.full((1, 3, 8, 8), 0.2)
    hole = torch.ones(1, 8, 8, dtype=torch.bool)
    density = torch.ones(1, 1, 8, 8)
    density[..., 4:] = 2.0
    out = constant(3, 0.5, 1.0)(image, hole, density=density)
    torch.testing.assert_close(out[..., :4], torch.full((1, 3, 8, 4), 0.6))
    torch.testing.assert_close(out[..., 4:], torch.full((1, 3, 8, 4), 0.8))
    assert torch.equal(
        thicken(torch.tensor([0.5]), torch.tensor([2.0])), torch.tensor([0.75])
    )


# -------------------------------------------------------------- scale
def test_scale_runs_the_network_smaller_and_composites_at_full_resolution() -> None:
    torch.manual_seed(0)
    net = inpainter(3, mode='over', **SMALL).eval()  # type: ignore[arg-type]
    seen: list[Tensor] = []
    net.net.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    image, hole = torch.rand(2, 3, 64, 64), square(2, 64, 9, 40)
    with torch.no_grad():
        full, half = net(image, hole), net(image, hole, scale=2)
        odd = net(image[..., :63, :63], hole[:, :63, :63], scale=2)
    assert seen[0].shape[-2:] == (64, 64) and seen[1].shape[-2:] == (32, 32)
    # the hole max-pooled: a half-resolution pixel is hole where any of its 4 is
    low_hole = seen[1][:, 3]
    expected = hole.view(2, 32, 2, 32, 2).any(4).any(2).float()
    assert torch.equal(low_hole, expected)
    assert half.shape == full.shape and odd.shape == (2, 3, 63, 63)
    assert not torch.equal(half, full)
    assert torch.equal(net(image, hole, scale=1), full)


def test_scale_keeps_the_ground_under_a_smooth_opacity() -> None:
    # a constant opacity and radiance upsample to themselves: the composite at half
    # resolution is the full one, the ground's texture kept to the pixel
    image, hole = torch.rand(2, 3, 32, 32), square(2, 32, 8, 24)
    net = constant(3, 0.5, 0.1)
    torch.testing.assert_close(net(image, hole, scale=2), net(image, hole))
    torch.testing.assert_close(net(image, hole, scale=4), 0.5 * image + 0.05)
