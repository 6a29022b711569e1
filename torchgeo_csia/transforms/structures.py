"""Pure batched tensor functions behind the CSIA augmentations.

Everything here works on whole batches on any device, never modifies its inputs and
holds no state: label compositing by priority, shadow projection from the sun,
batched shifts, procedural structure shapes, plasma fractals, eligibility, a painted
shadow's depth and pasting. Class indices follow the ``csia`` scheme of
:class:`~torchgeo_csia.datasets.SPARCS`: 0 background, 1 shadow, 2 snow, 3 cloud; any
other value (such as the ignore index 255) is never overwritten.

.. versionadded:: 0.1
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from kornia.enhance import normalize_min_max
from torch import Tensor

# re-exported: the scheme's indices, from the one definition
from ..constants import BACKGROUND as BACKGROUND
from ..constants import CLASSES
from ..constants import CLOUD as CLOUD
from ..constants import NUM_CLASSES as NUM_CLASSES
from ..constants import SHADOW as SHADOW
from ..constants import SNOW as SNOW

#: The classes from the bottom of a stack of overlapping structures to its top: cloud
#: over shadow over snow over background (a cloud hides what is under it; a shadow
#: darkens snow).
PAINT_ORDER = ('background', 'snow', 'shadow', 'cloud')
#: Rank of each class of :data:`~torchgeo_csia.constants.CLASSES` when structures
#: overlap (its place in :data:`PAINT_ORDER`).
PRIORITY = tuple(PAINT_ORDER.index(name) for name in CLASSES)


def _rank(mask: Tensor) -> Tensor:
    """Priority of each label; labels outside the scheme rank above everything."""
    # element-wise, with no lookup table: a table copied to the device would make
    # every call wait for the host
    rank = torch.full_like(mask, 99)
    for cls, r in enumerate(PRIORITY):
        rank = torch.where(mask == cls, r, rank)
    return rank


def check_mask(mask: Tensor, image: Tensor | None = None) -> None:
    """Validate a batch mask (and image) for CSIA.

    Args:
        mask: ``B x H x W`` integer labels.
        image: optional ``B x C x H x W`` floating image.

    Raises:
        ValueError: If shapes or dtypes do not fit.
    """
    if mask.ndim != 3 or mask.dtype not in (torch.int64, torch.int32, torch.uint8):
        raise ValueError(
            f'mask must be B x H x W of integer labels, got shape '
            f'{tuple(mask.shape)} and dtype {mask.dtype}'
        )
    if image is not None:
        if image.ndim != 4 or not image.is_floating_point():
            raise ValueError(
                f'image must be a floating B x C x H x W tensor, got shape '
                f'{tuple(image.shape)} and dtype {image.dtype}'
            )
        if image.shape[0] != mask.shape[0] or image.shape[2:] != mask.shape[1:]:
            raise ValueError(
                f'image {tuple(image.shape)} and mask {tuple(mask.shape)} differ in '
                'batch size or height and width'
            )


def paintable(mask: Tensor, cls: int | Tensor) -> Tensor:
    """Pixels where class *cls* may be painted: it outranks the current label.

    Args:
        mask: ``B x H x W`` labels.
        cls: class to paint, an int or a ``B`` tensor.

    Returns:
        ``B x H x W`` boolean.
    """
    if isinstance(cls, int):
        return _rank(mask) < PRIORITY[cls]
    return _rank(mask) < _rank(cls.to(mask.device).reshape(-1, 1, 1).expand_as(mask))


def paint_labels(
    mask: Tensor, hole: Tensor, cls: int | Tensor
) -> tuple[Tensor, Tensor]:
    """Write class *cls* into *hole* by priority, never by addition.

    Args:
        mask: ``B x H x W`` labels (not modified).
        hole: ``B x H x W`` boolean, where the structure is.
        cls: class painted, an int or a ``B`` tensor.

    Returns:
        The new mask, and the pixels that actually took the class (the hole less
        the pixels held by a class of higher rank or outside the scheme).
    """
    taken = hole & paintable(mask, cls)
    value = cls if isinstance(cls, int) else cls.to(mask).reshape(-1, 1, 1)
    return torch.where(taken, value, mask), taken


def shadow_offsets(
    sun_azimuth: Tensor,
    sun_elevation: Tensor,
    cloud_height: Tensor,
    pixel_size: float = 30.0,
) -> tuple[Tensor, Tensor]:
    """Where a cloud's shadow falls, in pixels, for a north-up image.

    The shadow lies away from the sun, at ``height / tan(elevation)`` on the ground.

    Args:
        sun_azimuth: ``B`` degrees clockwise from north.
        sun_elevation: ``B`` degrees above the horizon (clamped to >= 5).
        cloud_height: ``B`` metres above ground.
        pixel_size: metres per pixel.

    Returns:
        ``(dy, dx)``: ``B`` row and column shifts (rows grow southwards).
    """
    elevation = torch.deg2rad(sun_elevation.clamp(min=5.0, max=90.0))
    azimuth = torch.deg2rad(sun_azimuth)
    length = cloud_height / torch.tan(elevation) / pixel_size
    return length * torch.cos(azimuth), -length * torch.sin(azimuth)


def shift(x: Tensor, dy: Tensor, dx: Tensor) -> Tensor:
    """Shift each sample by its own whole-pixel offset, filling with zeros (False).

    Args:
        x: ``B x H x W`` or ``B x C x H x W`` (masks or images).
        dy: ``B`` row shifts (rounded).
        dx: ``B`` column shifts (rounded).

    Returns:
        Shifted *x*, same shape and dtype: ``out[..., i, j] = x[..., i - dy, j - dx]``.
    """
    x4 = x if x.ndim == 4 else x[:, None]
    b, c, h, w = x4.shape
    dev = x.device
    rows = torch.arange(h, device=dev)[None] - dy.to(dev).round().long()[:, None]
    cols = torch.arange(w, device=dev)[None] - dx.to(dev).round().long()[:, None]
    valid = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None]
    out = x4[
        torch.arange(b, device=dev)[:, None, None, None],
        torch.arange(c, device=dev)[None, :, None, None],
        rows.clamp(0, h - 1)[:, None, :, None],
        cols.clamp(0, w - 1)[:, None, None, :],
    ]
    out = torch.where(valid[:, None], out, torch.zeros((), dtype=x.dtype, device=dev))
    return out if x.ndim == 4 else out[:, 0]


def random_offsets(
    n: int, low: float, high: float, device: torch.device | str = 'cpu'
) -> tuple[Tensor, Tensor]:
    """Offsets in a random direction at a random distance in ``[low, high]`` pixels.

    Args:
        n: number of offsets.
        low: shortest distance.
        high: longest distance.
        device: where to draw them.

    Returns:
        ``(dy, dx)``, each ``n``.
    """
    angle = torch.rand(n, device=device) * (2 * math.pi)
    dist = low + torch.rand(n, device=device) * (high - low)
    return dist * torch.cos(angle), dist * torch.sin(angle)


def blob_masks(
    n: int,
    height: int,
    width: int,
    coverage: Tensor,
    scale: int = 48,
    device: torch.device | str = 'cpu',
    generator: torch.Generator | None = None,
) -> Tensor:
    """Procedural structure shapes: smooth random fields cut at a coverage.

    Args:
        n: number of masks.
        height: mask height.
        width: mask width.
        coverage: ``n`` fractions of pixels to cover, in (0, 1).
        scale: typical structure size in pixels.
        device: where to build them.
        generator: random generator (on *device*).

    Returns:
        ``n x height x width`` boolean.
    """
    gh, gw = max(2, math.ceil(height / scale) + 1), max(2, math.ceil(width / scale) + 1)
    noise = torch.rand(n, 1, gh, gw, device=device, generator=generator)
    field = F.interpolate(
        noise, size=(height, width), mode='bicubic', align_corners=True
    )
    flat = field.reshape(n, -1)
    k = ((1 - coverage.to(device).clamp(0.0, 1.0)) * (flat.shape[1] - 1)).long()
    threshold = flat.sort(dim=1).values.gather(1, k[:, None])
    return (flat > threshold).reshape(n, height, width)


def random_flips(*xs: Tensor) -> tuple[Tensor, ...]:
    """Random horizontal and vertical flips and transposes, per sample.

    Every tensor is ``B x ... x H x W`` and gets the same draws (an image and its
    mask, say); the transpose only when ``H == W``.

    Returns:
        The tensors, flipped.
    """
    n, dev = len(xs[0]), xs[0].device
    square = xs[0].shape[-1] == xs[0].shape[-2]
    moves: list[Callable[[Tensor], Tensor]] = [
        lambda x: x.flip(-1),
        lambda x: x.flip(-2),
    ]
    moves += [lambda x: x.transpose(-1, -2)] if square else []
    for move in moves:
        do = torch.rand(n, device=dev) < 0.5
        xs = tuple(
            torch.where(do.reshape(-1, *[1] * (x.ndim - 1)), move(x), x) for x in xs
        )
    return xs


def free_pixels(mask: Tensor, allowed: tuple[int, ...] = (BACKGROUND,)) -> Tensor:
    """Pixels whose label is in *allowed* (``B x H x W`` boolean)."""
    free = torch.zeros_like(mask, dtype=torch.bool)
    for cls in allowed:  # comparisons, not isin: its table would cost a host copy
        free = free | (mask == cls)
    return free


def transplant_guard(
    labels: Tensor,
    src_labels: Tensor,
    allowed: tuple[int, ...],
    classes: tuple[int, ...],
) -> Tensor:
    """Pixels a transplant must leave alone (``B x H x W`` boolean).

    Those a structure may not take (not in *allowed* in *labels*) and those where
    the source is neither clear ground nor a moved class (its ring would carry
    another class's or nodata pixels there, labelled as ground). Mark them outside
    the scheme in *labels* before :func:`transplant`.

    Args:
        labels: ``B x H x W`` labels of the crops that receive the structures.
        src_labels: ``B x H x W`` labels of the crops they come from.
        allowed: classes the structures may cover.
        classes: the classes moved.

    Returns:
        The pixels to guard.
    """
    return ~free_pixels(labels, allowed) | ~free_pixels(
        src_labels, (BACKGROUND, *classes)
    )


def free_fraction(mask: Tensor, allowed: tuple[int, ...] = (BACKGROUND,)) -> Tensor:
    """Share of each sample's pixels whose label is in *allowed*.

    Args:
        mask: ``B x H x W`` labels.
        allowed: the classes that count as free.

    Returns:
        ``B`` fractions.
    """
    return free_pixels(mask, allowed).flatten(1).float().mean(1)


def dilate(mask: Tensor, pixels: int) -> Tensor:
    """Grow ``B x H x W`` boolean masks by *pixels* (a square neighbourhood)."""
    if pixels <= 0:
        return mask
    grown = F.max_pool2d(mask[:, None].float(), 2 * pixels + 1, 1, pixels)
    return grown[:, 0] > 0


def paint_regions(
    labels: Tensor, layers: list[tuple[int, Tensor]], margins: list[int]
) -> list[Tensor]:
    """The pixels each painted layer's inpainter fills.

    A layer's own pixels, plus a ring of *margin* pixels around them on background
    that no earlier layer painted: the inpainters were trained on holes reaching
    that far beyond the structure, so they paint its edge fading into the ground.
    The ring keeps its label, as the pixels around real structures do.

    Args:
        labels: ``B x H x W`` labels before painting.
        layers: ``(class, pixels)`` in paint order, pixels ``B x H x W`` boolean.
        margins: ring width of each layer.

    Returns:
        One ``B x H x W`` boolean per layer.
    """
    # earlier layers' pixels lie inside `painted`, so the labels before painting
    # tell where background is left
    free = labels == BACKGROUND
    painted, regions = torch.zeros_like(free), []
    for (_, pixels), margin in zip(layers, margins, strict=True):
        region = pixels | (dilate(pixels, margin) & free & ~painted)
        regions.append(region)
        painted = painted | region
    return regions


def transplant(
    image: Tensor,
    labels: Tensor,
    src_image: Tensor,
    src_labels: Tensor,
    classes: tuple[int, ...],
    margin: int,
) -> tuple[Tensor, Tensor]:
    """Real structures of other crops moved in with their pixels (copy-paste).

    The counterpart of painting with an inpainter, for a reference: the pixels of
    *classes* in *src_labels*, plus a ring of *margin* pixels of their own
    surroundings on background (as :func:`paint_regions` holes), take
    *src_image*'s pixels; the labels take the classes by priority.

    Args:
        image: ``B x C x H x W`` crops that receive the structures.
        labels: ``B x H x W`` their labels.
        src_image: ``B x C x H x W`` crops the structures come from.
        src_labels: ``B x H x W`` their labels.
        classes: classes moved, in paint order.
        margin: ring width in pixels.

    Returns:
        The new image and labels (the inputs are not modified).
    """
    layers = [(c, (src_labels == c) & paintable(labels, c)) for c in classes]
    regions = paint_regions(labels, layers, [margin] * len(layers))
    for (cls, pixels), region in zip(layers, regions, strict=True):
        image = torch.where(region[:, None], src_image, image)
        labels = paint_labels(labels, pixels, cls)[0]
    return image, labels


def paste(
    image: Tensor, filled: Tensor, hole: Tensor, low: float, high: float
) -> Tensor:
    """``image`` outside the hole, the clipped fill inside it (the authors' paste).

    Args:
        image: ``B x C x H x W``.
        filled: ``B x C x H x W`` network output.
        hole: ``B x H x W`` boolean.
        low: lower clip of the fill.
        high: upper clip of the fill.

    Returns:
        ``B x C x H x W``.
    """
    return torch.where(hole[:, None], filled.clamp(low, high).to(image.dtype), image)


def unseen(before: Tensor, after: Tensor, min_change: float) -> Tensor:
    """Pixels a painting barely changed: brightness moved by under *min_change*.

    Brightness is the mean over bands; the change is relative to the brightness
    before (at least 0.02, so near-black ground does not make every change count).
    A structure painted there does not show, so a label for it would teach a
    segmenter to see one where the image holds none.

    Args:
        before: ``B x C x H x W`` image before painting.
        after: ``B x C x H x W`` image after painting.
        min_change: the smallest relative change that counts as seen, >= 0.

    Returns:
        ``B x H x W`` boolean (all ``False`` for ``min_change == 0``).

    .. versionadded:: 0.1
    """
    b0, b1 = before.mean(1), after.mean(1)
    return (b1 - b0).abs() < min_change * b0.clamp_min(0.02)


#: the least value :func:`deepen` takes a pixel for (so the log of near-black is finite)
DEEPEN_FLOOR = 1e-3


def deepen(before: Tensor, after: Tensor, depth: float | Tensor) -> Tensor:
    """A painting's gain over the ground raised to the power *depth*.

    Each value becomes ``before * (after / before) ** depth``, computed in log space
    with both clamped to at least ``1e-3`` (:data:`DEEPEN_FLOOR`), so near-black
    pixels stay finite. The shipped shadow inpainter darkens the ground less than
    real shadows do (median 24 % against 41 % of its brightness); a depth above 1
    darkens its shadows further (and brightens what it brightened) while keeping the
    ground's texture, which a plain offset would wash out. The result is not
    clipped: :func:`paste` clips the fill.

    Args:
        before: ``B x C x H x W`` image before painting.
        after: ``B x C x H x W`` the painting (the network's fill).
        depth: the power, > 0 (1: *after* itself; 2: the gain squared), or a
            tensor that broadcasts against the images (``1 x C x 1 x 1``: one power
            per band).

    Returns:
        ``B x C x H x W``: *after* itself for ``depth == 1``, *before* where *after*
        equals it.

    .. versionadded:: 0.1
    """
    if isinstance(depth, float | int) and depth == 1:
        return after
    b = before.clamp_min(DEEPEN_FLOOR)
    gain = after.clamp_min(DEEPEN_FLOOR).log() - b.log()
    out = b * (depth * gain).exp()
    # exactly the ground where the painting left it (the exp/log round trip is not)
    return torch.where(after == before, before, out.to(after.dtype))


def swap_context(
    image: Tensor, structure: Tensor, ground: Tensor, share: float
) -> Tensor:
    """The first ``round(share * B)`` crops moved onto *ground*, structure kept.

    Outside *structure* those crops take *ground*'s pixels, so the hole's margin
    ring and the whole context come from another scene, as when CSIA paints onto
    clear ground (for training the inpainters).

    Args:
        image: ``B x C x H x W`` crops holding the structures.
        structure: ``B x H x W`` boolean: the structures' own pixels.
        ground: ``B x C x H x W`` clear crops.
        share: share of the batch to move, in ``[0, 1]``.

    Returns:
        ``B x C x H x W``.

    .. versionadded:: 0.1
    """
    k = round(share * len(image))
    moved = torch.where(structure[:k, None], image[:k], ground[:k])
    return torch.cat([moved, image[k:]])


def pack_masks(masks: Tensor) -> Tensor:
    """Pack boolean masks eight pixels to a byte (for compact structure banks).

    Args:
        masks: ``N x H x W`` boolean, ``W`` a multiple of 8.

    Returns:
        ``N x H x W/8`` uint8.
    """
    if masks.shape[-1] % 8:
        raise ValueError(f'mask width must be a multiple of 8, got {masks.shape[-1]}')
    bits = masks.reshape(*masks.shape[:-1], -1, 8).to(torch.uint8)
    weights = torch.tensor([1, 2, 4, 8, 16, 32, 64, 128], dtype=torch.uint8)
    return (bits * weights.to(masks.device)).sum(-1, dtype=torch.uint8)


def unpack_masks(packed: Tensor) -> Tensor:
    """Inverse of :func:`pack_masks`.

    Args:
        packed: ``N x H x W/8`` uint8.

    Returns:
        ``N x H x W`` boolean.
    """
    shifts = torch.arange(8, dtype=torch.uint8, device=packed.device)
    bits = (packed[..., None] >> shifts) & 1
    return bits.reshape(*packed.shape[:-1], -1).bool()


#: ``draw(shape)``: a tensor of that shape of uniform draws in [0, 1]
Draw = Callable[[list[int]], Tensor]


def _stencil(corners: bool, like: Tensor) -> Tensor:
    """The diamond (*corners*) or square step's ``1 x 1 x 3 x 3`` averaging kernel.

    Written on *like*'s device: a kernel made from a list on the host and copied
    over makes the host wait for the device at every level.
    """
    k = like.new_zeros(1, 1, 3, 3)
    if corners:
        k[..., ::2, ::2] = 0.25
    else:
        k[..., 1, ::2] = 0.25
        k[..., ::2, 1] = 0.25
    return k


def _fractal_seed(n: int, width: int, height: int, draw: Draw, like: Tensor) -> Tensor:
    """The ``n x 1 x width x height`` seed grid (one side 3) of :func:`plasma`."""
    transpose = height == 3
    if transpose:
        width, height = height, width
    res = like.new_zeros(n, 1, width, height)
    res[..., ::2, ::2] = draw([n, 1, 2, (height + 1) // 2])
    # the other nodes: means of their neighbours, as Kornia's seed
    res[..., 1, 1::2] = (
        res[..., 0, :-2:2] + res[..., 0, 2::2] + res[..., 2, :-2:2] + res[..., 2, 2::2]
    ) / 4.0
    res[..., 0, 1::2] = (res[..., 0, :-2:2] + res[..., 0, 2::2] + res[..., 1, 1::2]) / 3
    res[..., 2, 1::2] = (res[..., 2, :-2:2] + res[..., 2, 2::2] + res[..., 1, 1::2]) / 3
    res[..., 1, 0] = (res[..., 0, 0] + res[..., 2, 0] + res[..., 1, 1]) / 3.0
    res[..., 1, -1] = (res[..., 0, -1] + res[..., 2, -1] + res[..., 1, -2]) / 3.0
    if height > 3:
        res[..., 1, 2:-1:2] = (
            res[..., 0, 2:-1:2]
            + res[..., 2, 2:-1:2]
            + res[..., 1, 1:-2:2]
            + res[..., 1, 3::2]
        ) / 4.0
    return res.transpose(2, 3) if transpose else res


def _diamond_square_step(img: Tensor, scale: float, draw: Draw) -> Tensor:
    """One level of :func:`plasma`: the grid's resolution doubled."""
    n, _, height, width = img.shape
    new = img.new_zeros(n, 1, 2 * height - 1, 2 * width - 1)
    new[:, :, ::2, ::2] = img
    noise = draw(list(new.shape)) * scale
    rows = torch.arange(new.shape[-2], device=img.device).view(-1, 1) % 2
    cols = torch.arange(new.shape[-1], device=img.device).view(1, -1) % 2
    diamond = ((rows == 1) & (cols == 1)).to(img.dtype)
    square = ((rows + cols) == 1).to(img.dtype)
    # diamond nodes are interior: the padding never reaches them
    mean = F.conv2d(F.pad(new, (1, 1, 1, 1), mode='reflect'), _stencil(True, img))
    new = new + (1 - scale) * mean * diamond + diamond * noise
    # a border node of the square step averages its three neighbours
    mean = F.conv2d(F.pad(new, (1, 1, 1, 1)), _stencil(False, img))
    edge = torch.ones_like(new[0, 0])
    edge[:, 0] = edge[:, -1] = edge[0, :] = edge[-1, :] = 1 / 0.75
    return new + square * noise + (1 - scale) * square * mean * edge


def plasma(
    shape: tuple[int, int, int, int],
    roughness: float,
    draw: Draw,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Plasma fractals, each ``B x C`` plane min-max normalised to [0, 1].

    Kornia's :func:`~kornia.contrib.diamond_square` (tormentor's variant of the
    diamond-square algorithm, ``random_scale`` 1, ``normalize_range=(0, 1)``), value
    for value for the same draws, with nothing made on the host: its kernels and
    weights are written on the device, so the host never waits for it (Kornia 0.9
    copies two 3 x 3 kernels from the host at every level).

    Args:
        shape: ``B x C x H x W`` of the maps.
        roughness: in ``(0, 1]``: level *k* mixes a node's neighbours' mean with a
            draw by the weight ``roughness ** k``.
        draw: the only source of randomness (e.g. ``torch.rand`` with a generator,
            on *device*, in *dtype*).
        device: the maps' device.
        dtype: the maps' dtype.

    Returns:
        The ``B x C x H x W`` maps.
    """
    like = torch.empty((), device=device, dtype=dtype)
    width, height = shape[-2:]
    n = math.prod(shape[:-2])
    p2_width = 2 ** math.ceil(math.log2(max(width, 3) - 1)) + 1
    p2_height = 2 ** math.ceil(math.log2(max(height, 3) - 1)) + 1
    depth = int(min(math.log2(p2_width - 1) - 1, math.log2(p2_height - 1) - 1))
    img = _fractal_seed(
        n,
        (p2_width - 1) // 2**depth + 1,
        (p2_height - 1) // 2**depth + 1,
        draw,
        like,
    )
    scale = 1.0
    for _ in range(depth):
        scale *= roughness
        img = _diamond_square_step(img, scale, draw)
    return normalize_min_max(img[..., :width, :height].reshape(shape), 0.0, 1.0)
