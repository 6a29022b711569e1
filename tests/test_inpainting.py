import torch

from torchgeo_csia.inpainting import critic_loss, fill_loss, hole_of, patch_critic


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
