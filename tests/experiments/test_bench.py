import segmentation_models_pytorch as smp
import torch

from torchgeo_csia.experiments.bench import CANDIDATES, at_scale, untrained
from torchgeo_csia.models.weights import CSIAInpainter_Weights, load_inpainter
from torchgeo_csia.transforms import (
    RandomCloudShadow,
    RandomShadowForClouds,
    RandomSnow,
)

METAS = {w.name: w.meta for w in CSIAInpainter_Weights}


def test_untrained_keeps_each_cards_architecture() -> None:
    nets = untrained(METAS, 3)
    for name, net in nets.items():
        assert net.mode == METAS[name]['mode']
        assert isinstance(net.net, smp.UnetPlusPlus)
        # the same architecture: the shipped weights fit it exactly
        net.load_state_dict(load_inpainter(CSIAInpainter_Weights[name]).state_dict())


def test_untrained_candidates_change_only_what_they_name() -> None:
    unet = untrained(METAS, 3, **CANDIDATES['U-Net, decoder (64, 32, 16, 16, 8)'])
    narrow = untrained(METAS, 10, decoder_channels=(64, 32, 16, 8, 8))
    for name in METAS:
        assert isinstance(unet[name].net, smp.Unet)
        assert unet[name].mode == narrow[name].mode == METAS[name]['mode']
        x = torch.rand(1, 10, 64, 64)
        hole = torch.zeros(1, 1, 64, 64, dtype=torch.bool)
        with torch.no_grad():
            assert narrow[name](x, hole).shape == x.shape
    assert all(
        sum(p.numel() for p in unet[n].parameters())
        < sum(p.numel() for p in untrained(METAS, 3)[n].parameters())
        for n in METAS
    )


def test_at_scale_changes_the_shadow_modes_only() -> None:
    nets = {
        k.split('_')[0].lower(): load_inpainter(CSIAInpainter_Weights[k]) for k in METAS
    }
    modes = at_scale(
        [
            RandomCloudShadow(nets['cloud'], nets['shadow']),
            RandomShadowForClouds(nets['shadow']),
            RandomSnow(nets['snow']),
        ],
        2,
    )
    assert [m.shadow_scale for m in modes] == [2, 2, 1]
