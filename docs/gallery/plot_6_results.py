"""
What we measured, as charts
===========================

Three of the measures on the :doc:`/results` page, drawn from where they are
recorded: the paired ablation that says whether CSIA pays (its runs' metrics in
``docs/results/``), the realism of the shipped inpainters (a two-sample classifier
test, in each inpainter's card) and the CSIA benchmark on an H200 (its record).
"""

import re

import matplotlib.pyplot as plt

from torchgeo_csia.experiments.ablation import ablation_table, collect
from torchgeo_csia.models.weights import CSIAInpainter_Weights

# %%
# Does CSIA pay? The paired ablation
# ----------------------------------
# Every row trained through ``torchgeo fit`` with the same seeds as BASE (the same
# initialisation and crops within a seed), scored on whole val scenes (where rows are
# chosen) and test scenes (reported once). Each bar is a row's mean paired difference
# to BASE in IoU with its 95 % t-interval over the seeds; a bar whose interval
# crosses zero is no evidence either way.
runs = collect(
    '../results/ablation-h200-2026-12-01', '../results/ablation-h200-2026-12-02'
)
columns = ['background', 'shadow', 'snow', 'cloud', 'mIoU']
fig, axes = plt.subplots(1, 2, figsize=(8, 3.5), sharey=True)
for ax, split in zip(axes, ('val', 'test'), strict=True):
    table = ablation_table(runs, split)
    rows = [row for row in table if row != 'base']
    width = 0.8 / len(rows)
    for k, row in enumerate(rows):
        diffs = [table[row][c].diff for c in columns]
        means = [d.mean if d else float('nan') for d in diffs]
        errors = [
            [d.mean - d.low if d else 0.0 for d in diffs],
            [d.high - d.mean if d else 0.0 for d in diffs],
        ]
        pairs = max(d.n for d in diffs if d)
        xs = [i + (k - (len(rows) - 1) / 2) * width for i in range(len(columns))]
        ax.bar(xs, means, width, yerr=errors, capsize=3, label=f'{row} ({pairs} seeds)')
        print(split, row, [f'{m:+.3f}' for m in means])
    ax.axhline(0.0, color='k', lw=0.8)
    ax.set_xticks(range(len(columns)), columns, rotation=30)
    ax.set_title(split)
axes[0].set_ylabel('IoU difference to BASE')
axes[1].legend(loc='lower right', fontsize=8)  # test's lower half is empty
fig.tight_layout()

# %%
# Can a classifier tell painted structures from real ones?
# --------------------------------------------------------
# A small CNN is trained to tell 64 px crops of painted structures from real ones
# (train scenes) and scored on val scenes: 0.5 means it cannot tell them apart.
# Each bar is the mean of three seeds with its standard deviation; the grey bar is
# the zeroed-hole inpainter each one replaced, in the same test.
classes, now, sd, before = [], [], [], []
for member in CSIAInpainter_Weights:
    two = member.meta['scores']['two_sample']
    classes.append(f'{member.meta["class"]} ({member.meta["mode"]})')
    now.append(two['accuracy'])
    sd.append(two['sd'])
    before.append(two.get('before', {}).get('accuracy', float('nan')))
    print(classes[-1], two['accuracy'], '+-', two['sd'], two['record'])

x = range(len(classes))
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.bar([i - 0.2 for i in x], before, 0.4, color='0.7', label='replaced inpainter')
ax.bar([i + 0.2 for i in x], now, 0.4, yerr=sd, capsize=4, label='shipped')
ax.axhline(0.5, color='k', lw=0.8, ls='--')
ax.set_xticks(list(x), classes)
ax.set_ylim(0.4, 1.0)
ax.set_ylabel('painted vs real accuracy')
ax.legend(loc='upper right')
fig.tight_layout()

# %%
# The CSIA modes against a training step (H200, batch 32)
# -------------------------------------------------------
# The benchmark's record holds one table row per measure: median milliseconds, peak
# MiB and host synchronisations per call, with the inpainters shipped now (cloud and
# shadow painting over the ground); its first table is batch 32.
record = '../results/bench-h200-2026-12-01d.md'
first = open(record).read().split('| what | batch 128')[0]
rows = re.findall(r'^\| (.+?) \| ([\d.]+), (\d+), (\d+) \|$', first, re.M)
names = [name for name, *_ in rows]
ms = [float(value) for _, value, _, _ in rows]
print(len(rows), 'rows from', record)

fig, ax = plt.subplots(figsize=(7, 5))
ax.barh(names[::-1], ms[::-1])
ax.set_xlabel('ms per call (median)')
fig.tight_layout()
