import torch

from torchgeo_csia.inpainting import (
    critic_loss,
    crop_sites,
    fill_loss,
    hole_of,
    patch_critic,
    site_shares,
    swap_context,
)


def test_patch_critic_scores_patches() -> None:
    critic = patch_critic(3, width=8)
    score = critic(torch.rand(2, 4, 64, 64))
    assert score.shape == (2, 1, 6, 6)


def test_critic_losses_count_hole_patches_only() -> None:
    torch.manual_seed(0)
    critic = patch_critic(3, width=8)
    real = torch.rand(1, 3, 64, 64)
    fake = real.clone().requires_grad_()
    hole = torch.zeros(1, 64, 64, dtype=torch.bool)
    hole[:, :16, :16] = True
    d_loss, w = critic_loss(critic, real, fake, hole)
    assert 0 < w.sum() < w.numel()  # patches away from the hole carry no weight
    assert torch.isfinite(d_loss) and d_loss >= 0
    # the critic's loss sees the fill detached; the fill's loss reaches the fill
    d_loss.backward()
    assert fake.grad is None
    fill_loss(critic, fake, hole, w).backward()
    assert fake.grad is not None and fake.grad[..., :16, :16].abs().sum() > 0


def test_hole_of_dilates_the_class() -> None:
    labels = torch.zeros(1, 9, 9, dtype=torch.uint8)
    labels[0, 4, 4] = 3
    assert hole_of(labels, 3, 0).sum() == 1 and hole_of(labels, 3, 2).sum() == 25


def test_swap_context_keeps_the_structure_on_new_ground() -> None:
    img = torch.rand(4, 3, 8, 8)
    ground = torch.rand(4, 3, 8, 8)
    structure = torch.zeros(4, 8, 8, dtype=torch.bool)
    structure[:, 2:5, 3:6] = True
    out = swap_context(img, structure, ground, 0.5)
    s = structure[:, None].expand_as(img)
    # the first half: structure from the crop, everything else from the ground
    assert torch.equal(out[:2][s[:2]], img[:2][s[:2]])
    assert torch.equal(out[:2][~s[:2]], ground[:2][~s[:2]])
    assert torch.equal(out[2:], img[2:])
    assert torch.equal(swap_context(img, structure, ground, 0.0), img)


def test_site_shares_match_the_crops() -> None:
    torch.manual_seed(0)
    labels = (torch.rand(3, 100, 100) < 0.3).to(torch.uint8) * 2
    sites = crop_sites(labels, [0, 2], 2, 32, (0.0, 1.0))
    crops = [labels[s, y : y + 32, x : x + 32] == 2 for s, y, x in sites.tolist()]
    truth = torch.stack([c.float().mean() for c in crops])
    assert len(sites) == 50 and set(sites[:, 0].tolist()) == {0, 2}
    assert torch.allclose(site_shares(labels, sites, 2, 32), truth)
