from torchgeo_csia.experiments.networks import load_inpainters
from torchgeo_csia.experiments.reach import reach, reach_table
from torchgeo_csia.experiments.scenes import Scenes


def test_reach_counts_eligible_and_changed(scenes: Scenes) -> None:
    nets = load_inpainters('cpu')
    rows = []
    for p in (0.0, 1.0):
        for free in (0.0, 1.0):
            out = reach(scenes, nets, p, free, count=6, size=32)
            assert set(out) == {
                'RandomCloudShadow',
                'RandomShadowForClouds',
                'RandomSnow',
            }
            for mode, v in out.items():
                rows.append({'p': p, 'min_free': free, 'mode': mode, **v})
    for row in rows:
        assert 0.0 <= row['changed'] <= row['eligible'] <= 1.0
        if row['p'] == 0:
            assert row['changed'] == 0.0
    # at p 1 with no background rule every eligible crop changes
    full = [r for r in rows if r['p'] == 1 and r['min_free'] == 0]
    assert all(r['changed'] == r['eligible'] for r in full)
    assert any(r['changed'] > 0 for r in full)
    assert '| 1 | 0 | RandomSnow |' in reach_table(rows)
