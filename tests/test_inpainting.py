import torch

from torchgeo_csia.inpainting import crop_sites, hole_of, site_shares


def test_hole_of_dilates_the_class() -> None:
    labels = torch.zeros(1, 9, 9, dtype=torch.uint8)
    labels[0, 4, 4] = 3
    assert hole_of(labels, 3, 0).sum() == 1 and hole_of(labels, 3, 2).sum() == 25


def test_site_shares_match_the_crops() -> None:
    torch.manual_seed(0)
    labels = (torch.rand(3, 100, 100) < 0.3).to(torch.uint8) * 2
    sites = crop_sites(labels, [0, 2], 2, 32, (0.0, 1.0))
    crops = [labels[s, y : y + 32, x : x + 32] == 2 for s, y, x in sites.tolist()]
    truth = torch.stack([c.float().mean() for c in crops])
    assert len(sites) == 50 and set(sites[:, 0].tolist()) == {0, 2}
    assert torch.allclose(site_shares(labels, sites, 2, 32), truth)
