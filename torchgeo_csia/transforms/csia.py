"""CSIA batch augmentations in Kornia style.

Each class paints one kind of structure into the samples of a batch that its mode
allows, with an inpainting network (or, for :class:`RandomCopyPaste`, the sample's own
pixels; for :class:`RandomTransplant`, another sample's), and rewrites the mask to
match. They follow Kornia's
:class:`~kornia.augmentation.RandomTransplantation`: random parameters (which samples,
which shapes, where the shadows fall) are drawn in :meth:`params_from_input` from the
image and mask, apart from the transform, which then applies them to the image and to
the mask separately. So they work alone (``aug(image, mask)``) and inside
``kornia.augmentation.AugmentationSequential(..., data_keys=None)`` on TorchGeo batch
dicts.

The six modes of the original method:

===========================================  ======================================
mode                                         class and arguments
===========================================  ======================================
1. cloud + shadow into label-free patches    ``RandomCloudShadow()``
2. the same into background-or-snow patches  ``RandomCloudShadow(allowed=(0, 2))``
3. snow into label-free patches              ``RandomSnow()``
4. snow into the background of any patch     ``RandomSnow(min_free=0.0)``
5. a shadow for existing clouds              ``RandomShadowForClouds()``
6. copy-paste of one class's pixels          ``RandomCopyPaste(cls)``
control: real structures of other samples    ``RandomTransplant('cloud_shadow')``,
moved in with their own pixels (no network)  ``RandomTransplant('snow')``
===========================================  ======================================

Kornia runs one mix augmentation per ``AugmentationSequential``; to chain several
CSIA modes, chain sequences (the datamodule does).

Labels follow the ``csia`` scheme (0 background, 1 shadow, 2 snow, 3 cloud) and are
written by priority (cloud over shadow over snow over background), never by adding
masks; the ignore index (any value outside the scheme, such as 255 or a stray 7) is
never painted and passes through unchanged. Images must be floating point in the
inpainters' value range (quicklooks: ``photo / 255``); a sample holding NaN or inf is
never selected, so it passes through unchanged and its values do not spread. Networks
run under :func:`torch.inference_mode`, batched, on a fixed number of slots per batch
size that hold the selected samples first (``capacity()``), so no call waits for the
device, and on CUDA they replay as CUDA graphs. All
random draws use torch's global generators on the batch's device, so
``torch.manual_seed`` makes a run reproducible; the one exception, the plasma
fractal of *cloud_texture*, draws from a generator of its own that is seeded from
torch's seed (:meth:`RandomCloudShadow.texture_rng`).

Shadows fall away from the sun: :func:`sun_geometry` hands each sample's sun azimuth
and elevation (carried by :class:`~torchgeo_csia.datasets.SPARCS` samples) to the
augmentations for one call, and a random cloud height gives the distance.
:class:`~torchgeo_csia.datamodules.SPARCSDataModule` does this for you. Without sun
geometry, shadows are shifted in a random direction.

Arguments are checked with :func:`~torchgeo_csia.transforms._checks.CSIA_CHECK`, in the
manner of Kornia's ``KORNIA_CHECK``: a bad argument raises Kornia's
:class:`~kornia.core.exceptions.ValueCheckError` (a :class:`ValueError`) or
:class:`~kornia.core.exceptions.TypeCheckError` (a :class:`TypeError`).

The method is :cite:`Belyakov2025` (entries in ``docs/references.bib``; the
documentation's references page lists them): Belyakov and Illarionova, CSIA (climate
structures inpainting augmentations), *Advances in Space Research*, 2025,
https://doi.org/10.1016/j.asr.2025.01.049.

.. versionadded:: 0.1
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, Literal

import kornia.augmentation as K
import torch
from kornia.constants import DataKey
from kornia.core.exceptions import TypeCheckError, ValueCheckError
from torch import Tensor, nn

from ..constants import (
    BACKGROUND,
    CLASS_INDEX,
    CLASSES,
    CLOUD,
    IGNORE_INDEX,
    NUM_CLASSES,
    SHADOW,
    SNOW,
    normalization_text,
)
from ..models.inpainter import Inpainter
from ._checks import CSIA_CHECK
from .sources import ProceduralStructures, StructureSource, sparcs_bank
from .structures import (
    PRIORITY,
    deepen,
    free_fraction,
    free_pixels,
    paint_regions,
    paintable,
    paste,
    plasma,
    random_offsets,
    shadow_offsets,
    shift,
    transplant,
    transplant_guard,
    unseen,
)

#: class index by name: :data:`torchgeo_csia.constants.CLASS_INDEX` (kept as an alias)
CLASS_NAMES = CLASS_INDEX
#: an Inpainter, a weights enum member, or its name (as YAML configs give it)
InpainterLike = Inpainter | Any


def _class_index(cls: int | str) -> int:
    if isinstance(cls, str):
        CSIA_CHECK(
            cls in CLASS_INDEX,
            lambda: f'unknown class {cls!r}; expected one of {list(CLASSES)}',
        )
        return CLASS_INDEX[cls]
    CSIA_CHECK(
        cls in range(NUM_CLASSES),
        lambda: (
            f'unknown class {cls!r}; expected 0-{NUM_CLASSES - 1} or {list(CLASSES)}'
        ),
    )
    return int(cls)


def _as_inpainter(net: InpainterLike, cls: int, caller: str) -> Inpainter:
    """*net* as an inpainter of class *cls*, loading weights given by name or enum.

    Raises:
        TypeError: If *net* is neither an inpainter nor inpainter weights.
        ValueError: If it paints another class than *cls*.
    """
    name = CLASSES[cls]
    if isinstance(net, Inpainter):
        CSIA_CHECK(
            net.structure is None or net.structure == name,
            lambda: (
                f'{caller} needs a {name} inpainter; got one that paints '
                f'{net.structure}'
            ),
        )
        return net
    if isinstance(net, str) or (
        hasattr(net, 'get_state_dict') and hasattr(net, 'meta')
    ):
        from ..models.weights import load_inpainter

        return load_inpainter(net, expected_class=name, caller=caller)
    raise TypeCheckError(
        f'the {name} inpainter of {caller} must be a torchgeo_csia.models.Inpainter '
        f'or inpainter weights (a CSIAInpainter_Weights member or its name), got '
        f'{type(net).__name__}'
    )


def _as_source(source: StructureSource | str | None) -> StructureSource:
    if source is None or source == 'procedural':
        return ProceduralStructures()
    if source == 'sparcs':
        return sparcs_bank()
    if isinstance(source, str):
        raise ValueCheckError(
            f"source must be a StructureSource, 'sparcs' (the shipped bank) or "
            f"'procedural', got {source!r}"
        )
    return source


def labels_of(mask: Tensor, check_values: bool = True) -> Tensor:
    """``B x H x W`` integer labels of a mask as given alone or by Kornia.

    Kornia's containers hand masks on as float, sometimes with a channel axis.

    Args:
        mask: the mask.
        check_values: check that a floating mask holds whole numbers (reads the
            values, so on an accelerator the call waits for the device).

    Raises:
        ValueError: If *mask* is not ``B x H x W`` (or ``B x 1 x H x W``) labels.
    """
    m = mask[:, 0] if mask.ndim == 4 and mask.shape[1] == 1 else mask
    if m.ndim != 3:
        raise ValueError(
            f'mask must be B x H x W class labels, got shape {tuple(mask.shape)}'
        )
    if m.dtype == torch.bool or m.is_complex():
        raise ValueError(f'mask must hold integer class labels, got dtype {m.dtype}')
    if m.is_floating_point():
        if check_values and not torch.equal(m, m.round()):
            raise ValueError('mask must hold integer class labels, got fractions')
        return m.long()
    return m.long()


@contextmanager
def sun_geometry(
    module: nn.Module, azimuth: Tensor | None, elevation: Tensor | None
) -> Iterator[None]:
    """Give the CSIA augmentations inside *module* the batch's sun geometry.

    It lasts for the calls made within the ``with`` block.

    Args:
        module: a CSIA augmentation, or a container (such as
            ``AugmentationSequential``) holding some.
        azimuth: ``B`` sun azimuths, degrees clockwise from north (or ``None``); a
            0-d tensor serves every sample. A sample whose angles are not finite
            gets a shadow in a random direction, as without sun geometry.
        elevation: ``B`` sun elevations, degrees (or ``None``).

    Raises:
        ValueError: If an angle is not a 0-d or 1-d tensor.
    """
    augs = [m for m in module.modules() if isinstance(m, CSIAAugmentationBase)]
    sun = None if azimuth is None or elevation is None else (azimuth, elevation)
    if sun is not None:
        for name, angle in zip(('azimuth', 'elevation'), sun, strict=True):
            if not isinstance(angle, Tensor) or angle.ndim > 1:
                raise ValueError(
                    f'sun {name} must be a 0-d or 1-d tensor (one angle per sample), '
                    f'got {angle if not isinstance(angle, Tensor) else angle.shape}'
                )
    for aug in augs:
        aug._sun = sun
    try:
        yield
    finally:
        for aug in augs:
            aug._sun = None


class CSIAAugmentationBase(K.RandomTransplantation):  # type: ignore[misc]
    """Base of the CSIA augmentations: selection, parameters, inpainting, labels.

    A mode says which samples it may change (:meth:`eligible`) and which structures
    it paints into them (:meth:`draw`); this class does the rest:

    1. draw which eligible samples change (each with probability ``p``), at most
       :meth:`capacity` of them, so that shapes stay fixed for a batch size;
    2. draw the mode's structures for them and limit each to the pixels its class
       may take (priority: cloud over shadow over snow over background; labels
       outside the scheme are never painted);
    3. fill each structure's region (the structure grown by its network's margin)
       with its inpainter, batched over the selected samples, under
       :func:`torch.inference_mode`, and paste the fill there only (a mode whose
       :attr:`shadow_depth` is not 1 first raises the shadow fill's gain over the
       ground to that power, :func:`~.structures.deepen`);
    4. write the structures' classes into the mask; with *min_change* > 0, the
       relabelled pixels whose brightness the painting changed by less than that
       share (:func:`~.structures.unseen`) take the ignore index instead, so the
       loss skips structure labels the image does not show.

    The parameters of the latest call are :attr:`last_params`; passing them back as
    ``params=`` replays the call. It subclasses
    :class:`~kornia.augmentation.RandomTransplantation` so that
    ``AugmentationSequential`` hands the image and the mask to
    :meth:`params_from_input`.

    Args:
        p: probability for each eligible sample to be augmented, in [0, 1].
        inpainters: the inpainter of each class index the mode paints
            (:class:`~torchgeo_csia.models.Inpainter`, weights or their name).
        source: structure shapes (:class:`~.sources.StructureSource`,
            ``'procedural'``, ``'sparcs'`` or ``None``).
        autocast: run the networks under autocast in this dtype on an accelerator,
            or ``None``; on the CPU they always run in fp32 (autocast is slower
            there).
        max_selected: the most samples one call changes (default: from *p* and the
            batch size, :meth:`capacity`).
        cuda_graphs: on CUDA, replay the networks as CUDA graphs.
        min_change: relabelled pixels that the painting changed by less than this
            share of their brightness get the ignore index (``0``: none; then the
            image and mask may be transformed apart, else the mask needs the
            parameters of a call that transformed the image).

    Raises:
        ValueError: If *p* is outside [0, 1], *max_selected* or *min_change* is
            negative, an inpainter paints another class or *source* is an unknown
            name.
        TypeError: If an inpainter is neither a network nor weights, or *autocast*
            is not a dtype.

    Shape:
        - Input: ``image`` ``B x C x H x W``, floating point in the inpainters' value
          range (SPARCS quicklooks: ``photo / 255``), and ``mask`` ``B x H x W`` (or
          ``B x 1 x H x W``) labels of the ``csia`` scheme.
        - Output: both, of the same shapes and dtypes (given alone with
          ``params``, either one).

    .. versionadded:: 0.1
    """

    #: inpainters by class index (``ModuleDict`` keys are strings)
    nets: nn.ModuleDict
    #: on CUDA, run the networks channels-last
    channels_last = True
    #: the power the shadow fill's gain over the ground is raised to
    #: (:func:`~.structures.deepen`; 1: as the network paints it); set by the modes
    #: that paint shadows; one number or one per band
    shadow_depth: float | tuple[float, ...] = 1.0
    #: how many times as thick the cloud network's opacity is made
    #: (:func:`~torchgeo_csia.models.inpainter.thicken`; 1: as the network paints
    #: it); set by the modes that paint clouds
    cloud_density: float | tuple[float, ...] = 1.0
    #: the resolution factor the shadow network runs at (1: full; 2: half, its
    #: opacity and radiance upsampled over the full-resolution ground); set by the
    #: modes that paint shadows
    shadow_scale: int = 1

    def density(self, device: torch.device) -> float | Tensor:
        """The cloud network's density on *device* (1: as the network paints)."""
        return 1.0

    def per_band(
        self, value: float | tuple[float, ...], device: torch.device
    ) -> float | Tensor:
        """*value* itself, or for one value per band ``1 x C x 1 x 1`` on *device*.

        The tensor is made once per value and device, so no call copies it there.
        """
        if isinstance(value, float):
            return value
        key = (value, device)
        if key not in self._per_band:
            self._per_band[key] = torch.tensor(value, device=device).view(1, -1, 1, 1)
        return self._per_band[key]

    def __init__(
        self,
        p: float,
        inpainters: dict[int, InpainterLike],
        source: StructureSource | str | None,
        autocast: torch.dtype | None,
        max_selected: int | None = None,
        cuda_graphs: bool = True,
        min_change: float = 0.0,
    ) -> None:
        CSIA_CHECK(0.0 <= p <= 1.0, lambda: f'p must be in [0, 1], got {p}')
        CSIA_CHECK(
            min_change >= 0.0, lambda: f'min_change must be >= 0, got {min_change}'
        )
        CSIA_CHECK(
            max_selected is None or max_selected >= 0,
            lambda: f'max_selected must be >= 0, got {max_selected}',
        )
        CSIA_CHECK(
            autocast is None or isinstance(autocast, torch.dtype),
            lambda: f'autocast must be a torch.dtype or None, got {autocast!r}',
            TypeCheckError,
        )
        super().__init__(p=p, p_batch=1.0)
        self.nets = nn.ModuleDict(
            {
                str(c): _as_inpainter(net, c, type(self).__name__)
                for c, net in inpainters.items()
            }
        )
        self.nets.eval()
        self.source = _as_source(source)
        self.autocast = autocast
        self._sun: tuple[Tensor, Tensor] | None = None
        self._checked = False
        self.max_selected = max_selected
        self.cuda_graphs = cuda_graphs
        self.min_change = float(min_change)
        self._graphs: dict[tuple[Any, ...], _GraphedFill] = {}
        self._per_band: dict[tuple[tuple[float, ...], torch.device], Tensor] = {}
        # during draw, the whole batch's labels and which samples' images are
        # finite: RandomTransplant draws its sources from them
        self._batch: tuple[Tensor, Tensor] | None = None

    @property
    def last_params(self) -> dict[str, Tensor]:
        """The parameters of the latest call (Kornia keeps them as ``_params``).

        Pass them back as ``params=`` to replay the call on other inputs. Besides
        Kornia's ``batch_prob`` and ``forward_input_shape``:

        * ``eligible``, ``selected``: ``B`` booleans, the samples the mode may
          change and those drawn with probability *p*;
        * ``indices``: the :meth:`capacity` slots (batch indices, the selected
          samples first), ``valid`` whether each slot is changed;
        * ``classes``: the class of each painted layer, in paint order;
        * ``holes``: ``L x K x H x W``, the pixels of each layer that take its class,
          per slot; ``paint``: the same grown by the networks' margins, where the
          image changes;
        * ``shadow_shift`` or ``shift``: ``K x 2`` (dy, dx) of moved structures,
          for the modes that move one;
        * ``unseen``: ``K x H x W``, with *min_change* > 0, the pixels the painting
          barely changed (written when the image is transformed).

        Raises:
            RuntimeError: Before the first call.
        """
        params: dict[str, Tensor] = self._params
        if 'indices' not in params:
            raise RuntimeError(
                f'{type(self).__name__} has not been called yet: no parameters'
            )
        return params

    def train(self, mode: bool = True) -> CSIAAugmentationBase:
        """Keep the inpainters in eval mode whatever the container does."""
        super().train(mode)
        self.nets.eval()
        return self

    # -- what a mode decides ------------------------------------------------------

    def eligible(self, labels: Tensor) -> Tensor:
        """``B`` boolean: which samples this mode may change.

        Args:
            labels: ``B x H x W`` labels.
        """
        raise NotImplementedError

    def draw(
        self, labels: Tensor, params: dict[str, Tensor]
    ) -> list[tuple[int, Tensor]]:
        """Shapes for the selected samples, as ``(class, pixels)`` layers.

        Layers come in paint order; the pixels are those that take the class
        (already limited by priority and by the mode's rule).

        Args:
            labels: ``S x H x W`` labels of the selected samples.
            params: parameters so far (subclasses may add to them).
        """
        raise NotImplementedError

    # -- Kornia protocol ----------------------------------------------------------

    def params_from_input(
        self,
        *input: Tensor,
        data_keys: list[DataKey],
        params: dict[str, Tensor],
        extra_args: dict[DataKey, dict[str, Any]] | None = None,
    ) -> dict[str, Tensor]:
        """Draw which samples change and the structures painted into them.

        Shapes stay fixed for a batch size: :meth:`capacity` slots are drawn, the
        selected samples first, and the slots left over get empty structures. So
        nothing waits for the device to say how many samples were selected.
        """
        self._check_mask_given(input, data_keys)
        check = self._checking(input[data_keys.index(DataKey.MASK)])
        labels = labels_of(input[data_keys.index(DataKey.MASK)], check)
        device, b = labels.device, len(labels)
        params['eligible'] = self.eligible(labels)
        selected = (torch.rand(b, device=device) < self.p) & params['eligible']
        finite = torch.ones(b, dtype=torch.bool, device=device)
        for x, key in zip(input, data_keys, strict=False):
            if key == DataKey.INPUT:
                if x.ndim != 4 or x.shape[-2:] != labels.shape[1:] or len(x) != b:
                    raise ValueError(
                        f'image must be B x C x H x W matching the mask; got image '
                        f'{tuple(x.shape)} and mask {tuple(labels.shape)}'
                    )
                self.check_image(x)
                # NaN or inf would spread through the networks' convolutions
                finite = finite & torch.isfinite(x).flatten(1).all(1)
        selected = selected & finite
        params['selected'] = selected
        k = self.capacity(b)
        # the selected samples first (in batch order), then the others
        slots = torch.argsort((~selected).to(torch.int32), stable=True)[:k]
        valid = selected[slots]
        params['indices'], params['valid'] = slots, valid
        sub = labels[slots]
        self._batch = labels, finite
        try:
            layers = self.draw(sub, params) if k else []
        finally:
            self._batch = None
        layers = [(c, pixels & valid[:, None, None]) for c, pixels in layers]
        params['classes'] = torch.tensor([c for c, _ in layers], dtype=torch.long)
        empty = torch.zeros(0, k, *labels.shape[1:], dtype=torch.bool, device=device)
        params['holes'] = torch.stack([h for _, h in layers]) if layers else empty
        margins = [self.margin(c) for c, _ in layers]
        regions = paint_regions(self.region_labels(sub, params), layers, margins)
        params['paint'] = torch.stack(regions) if layers else empty
        self._checked = True
        return params

    def region_labels(self, labels: Tensor, params: dict[str, Tensor]) -> Tensor:
        """The labels whose background a structure's ring may take: the slots'.

        Args:
            labels: ``K x H x W`` labels of the slots.
            params: the parameters :meth:`draw` has added to.
        """
        return labels

    def capacity(self, batch: int) -> int:
        """How many samples one call may change: a fixed number per batch size.

        ``p * batch`` plus two standard deviations of the binomial draw, rounded up
        to a multiple of 8 (at most *batch*): fixed shapes let the networks run
        without waiting for the host and replay as CUDA graphs. A call that selects
        more leaves the rest unchanged; at ``p = 0.5`` and batch 32 that happens in
        fewer than 0.4 % of calls even when every sample is eligible.
        """
        if self.max_selected is not None:
            return min(batch, self.max_selected)
        p = float(self.p)
        if p <= 0.0:
            return 0
        need = p * batch + 2.0 * math.sqrt(batch * p * (1.0 - p))
        return min(batch, 8 * math.ceil(need / 8))

    def _checking(self, x: Tensor) -> bool:
        """Whether this call reads values to check them (see :meth:`check_image`)."""
        return x.device.type == 'cpu' or not self._checked

    def check_image(self, image: Tensor) -> None:
        """Raise a clear error if *image* cannot be painted by this mode's networks.

        The value range (and a floating mask's whole numbers) are checked on every
        CPU call and on the first call on an accelerator: a check on every call
        would make each wait for the device.

        Raises:
            TypeError: If *image* is not floating point.
            ValueError: If its band count or value range do not fit the networks.
        """
        if not image.is_floating_point():
            raise TypeError(
                f'image must be a floating-point tensor normalised to the '
                f"inpainters' value range, got {image.dtype} (for SPARCS quicklooks: "
                f'{normalization_text("photo")}, as SPARCSDataModule does)'
            )
        nets = [n for n in self.nets.values() if isinstance(n, Inpainter)]
        for net in nets:
            net.check(image)
        if not nets or not self._checking(image):
            return
        low = min(n.value_range[0] for n in nets)
        high = max(n.value_range[1] for n in nets)
        finite = torch.isfinite(image)
        lo, hi = (
            torch.where(finite, image, low).amin(),
            torch.where(finite, image, high).amax(),
        )
        lo_v, hi_v = float(lo), float(hi)
        slack = 0.5 * (high - low)  # room for normalised reflectance below 0, say
        if lo_v < low - slack or hi_v > high + slack:
            raise ValueError(
                f'image values span [{lo_v:g}, {hi_v:g}] but the inpainters paint in '
                f'[{low:g}, {high:g}]: normalise the image first (SPARCS quicklooks: '
                f'{normalization_text("photo")}, as SPARCSDataModule does)'
            )

    def margin(self, cls: int) -> int:
        """How far beyond a structure of *cls* the fill reaches (its network's)."""
        net = self.nets[str(cls)] if str(cls) in self.nets else None
        return net.margin if isinstance(net, Inpainter) else 0

    def forward(
        self,
        *input: Tensor,
        params: dict[str, Tensor] | None = None,
        data_keys: Sequence[str | int | DataKey] | None = None,
        **kwargs: Any,
    ) -> Tensor | list[Tensor]:
        """Augment an image and its mask (or one of them, given *params*).

        Args:
            *input: tensors named by *data_keys* (default: image, mask).
            params: parameters from an earlier call (replays them).
            data_keys: what each input is.
            **kwargs: ignored (Kornia passes extra options).

        Returns:
            The augmented tensors, in the order given.
        """
        keys = (
            self.data_keys if data_keys is None else [DataKey.get(k) for k in data_keys]
        )
        if params is None:
            self._check_mask_given(input, keys)
            mask = input[keys.index(DataKey.MASK)]
            params = self.forward_parameters(tuple(labels_of(mask, False).shape))
        if 'indices' not in params:
            params = self.params_from_input(*input, data_keys=keys, params=params)
        self._params = params
        for key in keys:
            if key not in (DataKey.INPUT, DataKey.MASK):
                raise NotImplementedError(
                    f'{type(self).__name__} takes images and masks only'
                )
        # the image first: with min_change its painting decides the mask's labels
        order = sorted(range(len(keys)), key=lambda i: keys[i] != DataKey.INPUT)
        outputs: dict[int, Tensor] = {}
        for i in order:
            x = input[i]
            if keys[i] == DataKey.INPUT:
                outputs[i] = self.transform_image(x, params)
            else:
                outputs[i] = self.transform_labels(x, params)
        out = [outputs[i] for i in range(len(keys))]
        return out[0] if len(out) == 1 else out

    # -- applying the parameters ----------------------------------------------------

    def _run(
        self,
        net: Inpainter,
        image: Tensor,
        hole: Tensor,
        density: float | Tensor = 1.0,
        scale: int = 1,
    ) -> Tensor:
        """The network's fill for *image*, in inference mode, batched.

        *density* and *scale* go to the network (:meth:`Inpainter.forward`).

        On CUDA the network runs channels-last and, with :attr:`cuda_graphs`, as a
        CUDA graph captured once per input shape (the shapes are fixed per batch
        size, so a training run captures one or two).
        """
        p = next(net.parameters(), None)
        if p is not None and p.device != image.device:
            net.to(image.device)
        last = image.is_cuda and self.channels_last
        if last and not getattr(net, '_channels_last', False):
            net.to(memory_format=torch.channels_last)
            setattr(net, '_channels_last', True)  # noqa: B010
        if image.is_cuda and self.cuda_graphs:
            key = (
                id(net),
                image.shape,
                image.dtype,
                image.device,
                self.autocast,
                last,
                # a density map is an input of the graph, a number part of it
                density if isinstance(density, float) else tuple(density.shape),
                scale,
            )
            if key not in self._graphs:
                self._graphs[key] = _GraphedFill(
                    net, image, hole, self.autocast, last, density, scale
                )
            fill = self._graphs[key](image, hole, density)
        else:
            with torch.inference_mode():
                fill = _forward(net, image, hole, self.autocast, last, density, scale)
        # a normal tensor again, so the batch can feed a training step's autograd
        out: Tensor = fill.clone().to(image.dtype)
        return out

    def fill(
        self, image: Tensor, cls: int, hole: Tensor, params: dict[str, Tensor]
    ) -> Tensor:
        """``image`` (selected samples) with class *cls* painted into *hole*."""
        net = self.nets[str(cls)]
        assert isinstance(net, Inpainter)
        low, high = net.value_range
        density: float | Tensor = 1.0
        if cls == CLOUD:  # a drawn density map (cloud_texture), else the number
            density = params.get('cloud_density', self.density(image.device))
        scale = self.shadow_scale if cls == SHADOW else 1
        pred = self._run(net, image, hole, density, scale)
        if cls == SHADOW:  # deepen returns pred itself at depth 1
            pred = deepen(image, pred, self.per_band(self.shadow_depth, image.device))
        return paste(image, pred, hole, low, high)

    def transform_image(self, image: Tensor, params: dict[str, Tensor]) -> Tensor:
        """Apply drawn parameters to a ``B x C x H x W`` image (not modified)."""
        self.check_image(image)
        slots = params['indices'].to(image.device)
        if len(slots) == 0:  # p = 0: a fixed count, known without the device
            return image
        return image.index_put((slots,), self.paint(image, slots, params))

    def paint(self, image: Tensor, slots: Tensor, params: dict[str, Tensor]) -> Tensor:
        """The images of *slots* with the drawn layers painted in (:meth:`fill`).

        Args:
            image: ``B x C x H x W`` batch (not modified).
            slots: the batch indices of the slots, on *image*'s device.
            params: drawn parameters (``unseen`` is added with *min_change* > 0).
        """
        before = sub = image[slots]
        for cls, hole in zip(params['classes'].tolist(), params['paint'], strict=False):
            sub = self.fill(sub, cls, hole.to(image.device), params)
        if self.min_change > 0:  # for transform_labels: what the painting hardly shows
            params['unseen'] = unseen(before, sub, self.min_change)
        return sub

    def transform_labels(self, mask: Tensor, params: dict[str, Tensor]) -> Tensor:
        """Apply drawn parameters to a mask (not modified), keeping dtype and shape."""
        slots = params['indices'].to(mask.device)
        if len(slots) == 0:
            return mask
        sub = old = mask[slots]
        for cls, hole in zip(params['classes'].tolist(), params['holes'], strict=False):
            h = hole.to(mask.device)
            sub = torch.where(h[:, None] if sub.ndim == 4 else h, cls, sub)
        if self.min_change > 0:
            CSIA_CHECK(
                'unseen' in params,
                f'{type(self).__name__} with min_change > 0 labels by what the '
                'painting changed: transform the image with the mask, or pass the '
                'params of a call that did',
            )
            hidden = params['unseen'].to(mask.device)
            hidden = hidden[:, None] if sub.ndim == 4 else hidden
            sub = torch.where(hidden & (sub != old), IGNORE_INDEX, sub)
        return mask.index_put((slots,), sub)


def _forward(
    net: Inpainter,
    image: Tensor,
    hole: Tensor,
    autocast: torch.dtype | None,
    channels_last: bool = False,
    density: float | Tensor = 1.0,
    scale: int = 1,
) -> Tensor:
    """One forward pass of *net* under *autocast* (*density*, *scale*: its own)."""
    x = image.contiguous(memory_format=torch.channels_last) if channels_last else image
    # on the CPU, bf16 autocast made the shipped inpainters many times slower than fp32
    if autocast is None or image.device.type == 'cpu':
        out: Tensor = net(x, hole, density=density, scale=scale)
        return out
    # no weight-cast cache: a CUDA graph must not keep casts the cache frees
    with torch.autocast(image.device.type, dtype=autocast, cache_enabled=False):
        out = net(x, hole, density=density, scale=scale)
    return out


class _GraphedFill:
    """An inpainter's forward pass on one input shape, replayed as a CUDA graph.

    Replaying a captured graph launches the network's hundreds of kernels at once,
    which at these sizes costs about half of an eager pass (docs/results.rst).
    """

    def __init__(
        self,
        net: Inpainter,
        image: Tensor,
        hole: Tensor,
        autocast: torch.dtype | None,
        channels_last: bool,
        density: float | Tensor = 1.0,
        scale: int = 1,
    ) -> None:
        self.image, self.hole = image.clone(), hole.clone()
        self.density = density.clone() if isinstance(density, Tensor) else density
        stream = torch.cuda.Stream(image.device)  # type: ignore[no-untyped-call]
        stream.wait_stream(torch.cuda.current_stream(image.device))

        def run() -> Tensor:  # on the static inputs, which each call refills
            return _forward(
                net, self.image, self.hole, autocast, channels_last, self.density, scale
            )

        with torch.inference_mode(), torch.cuda.stream(stream):
            for _ in range(3):  # cuDNN picks its algorithms before the capture
                run()
        torch.cuda.current_stream(image.device).wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(self.graph):
            self.out = run()

    def __call__(
        self, image: Tensor, hole: Tensor, density: float | Tensor = 1.0
    ) -> Tensor:
        self.image.copy_(image)
        self.hole.copy_(hole)
        if isinstance(self.density, Tensor) and isinstance(density, Tensor):
            self.density.copy_(density)
        self.graph.replay()
        return self.out


def _check_allowed(allowed: Sequence[int | str]) -> tuple[int, ...]:
    out = tuple(_class_index(a) for a in allowed)
    CSIA_CHECK(len(out) > 0, 'allowed must name at least one class')
    return out


def _enough(free: Tensor, min_free: float) -> Tensor:
    """Samples whose free share reaches *min_free* and is not zero."""
    return (free >= min_free) & (free > 0)


def _check_fraction(name: str, value: float) -> float:
    CSIA_CHECK(0.0 <= value <= 1.0, lambda: f'{name} must be in [0, 1], got {value}')
    return value


def _bands(net: nn.Module) -> int:
    """The bands an inpainter paints (3 for a module that does not say)."""
    return int(getattr(net, 'bands', 3))


def _check_per_band(
    name: str, value: float | Sequence[float], bands: int
) -> float | tuple[float, ...]:
    """*value* > 0, one number or one per band: a float or a tuple of *bands*.

    One value per band, all the same, is that one number (so 1 everywhere is the
    neutral setting, as a plain 1 is).
    """
    one = isinstance(value, int | float)
    try:
        values = (
            [float(value)]
            if isinstance(value, int | float)
            else [float(v) for v in value]
        )
    except (TypeError, ValueError):  # neither a number nor numbers
        values = []
    CSIA_CHECK(
        bool(values) and all(v > 0 for v in values) and (one or len(values) == bands),
        lambda: (
            f'{name} must be > 0, one number or one per band ({bands}), got {value}'
        ),
    )
    return values[0] if len(set(values)) == 1 else tuple(values)


def _check_span(name: str, span: tuple[float, float]) -> tuple[float, float]:
    """A ``(low, high)`` range of distances or heights: ``0 <= low <= high``."""
    CSIA_CHECK(
        len(span) == 2 and 0.0 <= span[0] <= span[1],
        lambda: f'{name} must be (low, high) with 0 <= low <= high, got {span}',
    )
    return span


class _ShadowGeometry:
    """Where shadows fall: away from the sun when known, else a random direction."""

    _sun: tuple[Tensor, Tensor] | None
    nets: nn.ModuleDict
    shadow_mode: str
    cloud_height: tuple[float, float]
    shift: tuple[float, float]
    pixel_size: float
    shadow_depth: float | tuple[float, ...]
    shadow_scale: int

    def set_geometry(
        self,
        modes: tuple[str, ...],
        shadow_mode: str,
        cloud_height: tuple[float, float],
        shift: tuple[float, float],
        pixel_size: float,
        shadow_depth: float | Sequence[float],
        shadow_scale: int = 1,
    ) -> None:
        """Check and keep the shadow settings (per band: the shadow network's)."""
        CSIA_CHECK(
            shadow_mode in modes,
            lambda: f'shadow_mode must be one of {modes}, got {shadow_mode!r}',
        )
        CSIA_CHECK(pixel_size > 0, lambda: f'pixel_size must be > 0, got {pixel_size}')
        self.shadow_mode = shadow_mode
        bands = _bands(self.nets[str(SHADOW)])
        self.shadow_depth = _check_per_band('shadow_depth', shadow_depth, bands)
        mode = getattr(self.nets[str(SHADOW)], 'mode', 'fill')
        CSIA_CHECK(
            isinstance(shadow_scale, int)
            and shadow_scale >= 1
            and (shadow_scale == 1 or mode == 'over'),
            lambda: (
                f'shadow_scale must be an integer >= 1, and 1 unless the shadow '
                f"network paints over the ground (mode 'over'); got {shadow_scale!r} "
                f'for a network of mode {mode!r}'
            ),
        )
        self.shadow_scale = shadow_scale
        self.cloud_height = _check_span('cloud_height', cloud_height)
        self.shift = _check_span('shift', shift)
        self.pixel_size = pixel_size

    def offsets(
        self, n: int, index: Tensor, device: torch.device, batch: int
    ) -> tuple[Tensor, Tensor]:
        """Per-sample shadow offsets: from the sun when known, else random.

        Args:
            n: how many offsets.
            index: the batch sample each offset is for.
            device: where to draw them.
            batch: the batch size (the sun angles hold one per sample, or one).

        Raises:
            ValueError: If the sun angles hold neither one nor *batch* values.
        """
        dy, dx = random_offsets(n, *self.shift, device=device)
        if self.shadow_mode != 'sun' or self._sun is None:
            return dy, dx
        angles = []
        for name, t in zip(('azimuth', 'elevation'), self._sun, strict=True):
            if t.numel() not in (1, batch):
                raise ValueError(
                    f'sun {name} holds {t.numel()} values for a batch of {batch}; '
                    'expected one per sample (or one for all)'
                )
            angles.append(t.to(device).float().reshape(-1).expand(batch)[index])
        az, el = angles
        low, high = self.cloud_height
        height = low + torch.rand(n, device=device) * (high - low)
        sy, sx = shadow_offsets(az, el, height, self.pixel_size)
        # no usable sun (NaN in the metadata): a random direction, as without it
        known = torch.isfinite(sy) & torch.isfinite(sx)
        return torch.where(known, sy, dy), torch.where(known, sx, dx)


class RandomCloudShadow(_ShadowGeometry, CSIAAugmentationBase):
    """Paint clouds and their shadows into free patches (modes 1 and 2 of CSIA).

    Modes 1 and 2 of CSIA :cite:`Belyakov2025`, batched on the device. The augmentation
    works as follows:

        1. A patch is eligible when at least *min_free* of its pixels hold one of
           the *allowed* classes (default: background only, so label-free
           patches, as the original; ``allowed=(0, 2)`` is its background-or-snow
           mode). Each eligible patch is selected with probability *p*.
        2. For each selected patch a cloud shape is drawn from *source*.
        3. Its shadow is the cloud projected away from the sun from a random
           height in *cloud_height* (``shadow_mode='sun'``; a random direction
           where the sun is unknown), the cloud shifted a random distance in
           *shift* in a random direction (``'random'``), or the source's own
           paired shadow (``'paired'``).
        4. Both are limited to the allowed pixels, the shadow also to the pixels
           outside the cloud; snow under them is relabelled.
        5. The shadow inpainter fills the shadow, then the cloud inpainter the
           cloud, each over its structure grown by its network's margin, and each
           fill is pasted there only; the shadow's gain over the ground is raised
           to the power *shadow_depth* (1: as the network paints it;
           :func:`~.structures.deepen`) and the cloud's opacity made *cloud_density*
           times as thick (:func:`~torchgeo_csia.models.inpainter.thicken`), with
           *cloud_texture* times a plasma fractal per sample, ``cloud_density *
           exp(cloud_texture * (2 u - 1))`` for a fractal ``u`` in ``[0, 1]``, so
           the thickness varies in lumps as a real cloud's does. The
           shadow comes first, onto clear ground: a
           shadow inpainter that sees the new (often thin-looking) cloud paints a
           faint shadow, which a segmenter takes for ground (docs/results.rst,
           realism); ``shadow_first=False`` paints the cloud first.
        6. The mask takes shadow (1) and cloud (3) where they were painted, or
           the ignore index instead where the painting changed the brightness by
           less than *min_change* (it does not show there).

    Args:
        cloud: cloud inpainter (:class:`~torchgeo_csia.models.Inpainter` or weights).
        shadow: shadow inpainter.
        p: probability for each sample to be augmented (when eligible).
        source: structure shapes: a :class:`~.sources.StructureBank`,
            :class:`~.sources.ProceduralStructures` (the default, also ``None`` or
            ``'procedural'``), or ``'sparcs'`` for the shipped bank of real shapes.
        allowed: classes that may be painted over.
        min_free: share of allowed pixels that makes a patch eligible (lower it for
            more reach).
        shadow_mode: ``'sun'`` projects the cloud away from the sun (random direction
            without sun geometry), ``'random'`` shifts it in a random direction,
            ``'paired'`` uses the source's real paired shadow (projected when the
            source has none).
        cloud_height: range of cloud heights in metres for ``'sun'``.
        shift: range of shadow distances in pixels for ``'random'``.
        pixel_size: metres per pixel.
        autocast: run the networks under autocast in this dtype (``torch.bfloat16``)
            on an accelerator; on the CPU they run in fp32.
        shadow_first: paint the shadow before the cloud (``False``: the cloud first,
            so the shadow inpainter sees it).
        max_selected: the most samples one call changes (default: from *p* and
            the batch size, :meth:`capacity`).
        cuda_graphs: on CUDA, replay the networks as CUDA graphs.
        min_change: relabelled pixels that the painting changed by less than this
            share of their brightness get the ignore index (default 0: none), as
            :class:`CSIAAugmentationBase`.
        shadow_depth: the power, > 0, the shadow fill's gain over the ground is
            raised to (:func:`~.structures.deepen`): above 1 a darker shadow on
            the same texture (1.9 takes the shipped inpainter's shadows from a
            median darkening of 24 % to 40 %, near real ones' 41 %); one power
            per band darkens each band as far as real shadows darken it
            (:mod:`torchgeo_csia.experiments.shadow_depth` fits them); 1 (the
            default) as the network paints it.
        cloud_density: how many times as thick, > 0, the cloud network's opacity
            is made (:func:`~torchgeo_csia.models.inpainter.thicken`; a cloud
            network that paints over the ground only), one number or one per band
            (a band thickened more moves further toward the cloud's radiance, so
            the cloud's colour changes too): 1 / 1.5 / 1.5 gives the shipped
            inpainter's clouds the median brightness per band nearest real SPARCS
            clouds' on the train scenes
            (:mod:`torchgeo_csia.experiments.cloud_density`); 1 (the default) as
            the network paints it.
        cloud_texture: >= 0, how far the cloud's density varies across it: the
            log of the density moves by up to this much either way with a plasma
            fractal (:func:`~torchgeo_csia.transforms.structures.plasma`, Kornia's
            ``diamond_square`` kept on the device, roughness *cloud_roughness*)
            drawn per sample; 0 (the default): the same density everywhere. The
            fractal is drawn on the device with nothing copied from the host
            (Kornia's copies its kernels at every level, so the host waited).
        cloud_roughness: in ``(0, 1]``, the fractal's roughness (higher: more
            fine detail); the default 0.75 with *cloud_texture* 1 and
            *cloud_density* 2 gives the shipped inpainter's clouds the mean
            brightness gradient of real SPARCS clouds (0.030 against 0.032 between
            neighbouring pixels; 8 label-free patches of 6 train scenes).
        shadow_scale: run the shadow network at ``1 / shadow_scale`` of the
            patch's resolution, its opacity and radiance upsampled over the
            full-resolution ground (a network that paints over the ground only;
            :meth:`~torchgeo_csia.models.Inpainter.forward`): about
            ``1 / shadow_scale ** 2`` of its arithmetic, with the ground's texture
            kept under the shadow; 1 (the default): full resolution.

    Raises:
        ValueError: If an argument is out of its range, *allowed* names cloud or
            shadow, *shadow_mode* is unknown, an inpainter paints another class,
            or *cloud_density* is not 1 (or *cloud_texture* not 0) for a cloud
            network in the ``'fill'`` mode.
        TypeError: If an inpainter is neither a network nor inpainter weights.

    Shape:
        As :class:`CSIAAugmentationBase`: ``image`` ``B x C x H x W`` and ``mask``
        ``B x H x W`` in, both out.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from torchgeo_csia.models import Inpainter
        >>> from torchgeo_csia.transforms import RandomCloudShadow
        >>> _ = torch.manual_seed(0)
        >>> cloud = Inpainter(nn.Conv2d(4, 3, 3, padding=1), bands=3)
        >>> shadow = Inpainter(nn.Conv2d(4, 3, 3, padding=1), bands=3)
        >>> aug = RandomCloudShadow(cloud, shadow, p=1.0)
        >>> image = torch.rand(2, 3, 64, 64)
        >>> mask = torch.zeros(2, 64, 64, dtype=torch.long)  # label-free patches
        >>> out_image, out_mask = aug(image, mask)
        >>> out_image.shape, out_mask.unique().tolist()
        (torch.Size([2, 3, 64, 64]), [0, 1, 3])
        >>> aug.last_params['selected'].tolist()
        [True, True]

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        cloud: InpainterLike,
        shadow: InpainterLike,
        p: float = 0.5,
        source: StructureSource | str | None = None,
        allowed: Sequence[int | str] = (BACKGROUND,),
        min_free: float = 1.0,
        shadow_mode: Literal['sun', 'random', 'paired'] = 'sun',
        cloud_height: tuple[float, float] = (500.0, 2500.0),
        shift: tuple[float, float] = (8.0, 48.0),
        pixel_size: float = 30.0,
        autocast: torch.dtype | None = None,
        shadow_first: bool = True,
        max_selected: int | None = None,
        cuda_graphs: bool = True,
        min_change: float = 0.0,
        shadow_depth: float | Sequence[float] = 1.0,
        cloud_density: float | Sequence[float] = 1.0,
        cloud_texture: float = 0.0,
        cloud_roughness: float = 0.75,
        shadow_scale: int = 1,
    ) -> None:
        """Initialize the augmentation."""
        super().__init__(
            p,
            {CLOUD: cloud, SHADOW: shadow},
            source,
            autocast,
            max_selected,
            cuda_graphs,
            min_change,
        )
        self.shadow_first = shadow_first
        self.allowed = _check_allowed(allowed)
        CSIA_CHECK(
            CLOUD not in self.allowed and SHADOW not in self.allowed,
            'allowed may hold background and snow only',
        )
        self.min_free = _check_fraction('min_free', min_free)
        self.set_geometry(
            ('sun', 'random', 'paired'),
            shadow_mode,
            cloud_height,
            shift,
            pixel_size,
            shadow_depth,
            shadow_scale,
        )
        self.cloud_density = _check_per_band(
            'cloud_density', cloud_density, _bands(self.nets[str(CLOUD)])
        )
        CSIA_CHECK(
            cloud_texture >= 0,
            lambda: f'cloud_texture must be >= 0, got {cloud_texture}',
        )
        CSIA_CHECK(
            0 < cloud_roughness <= 1,
            lambda: f'cloud_roughness must be in (0, 1], got {cloud_roughness}',
        )
        mode = getattr(self.nets[str(CLOUD)], 'mode', 'fill')
        CSIA_CHECK(
            (self.cloud_density == 1.0 and cloud_texture == 0) or mode == 'over',
            lambda: (
                f'cloud_density and cloud_texture thicken the opacity of a cloud '
                f"network that paints over the ground (mode 'over'); this one has "
                f'mode {mode!r}'
            ),
        )
        self.cloud_texture = float(cloud_texture)
        self.cloud_roughness = float(cloud_roughness)
        self._texture_rng: dict[torch.device, tuple[int, torch.Generator]] = {}

    def density(self, device: torch.device) -> float | Tensor:
        """*cloud_density*: the number, or ``1 x C x 1 x 1`` on *device* per band."""
        return self.per_band(self.cloud_density, device)

    def texture_rng(self, device: torch.device) -> torch.Generator:
        """The fractal's own random stream on *device*, seeded from torch's seed.

        Its draws leave torch's global stream alone, so a mode with and without
        *cloud_texture* draws the same structures in the same places (paired runs),
        and seeding from :func:`torch.initial_seed` keeps a seeded run repeatable.
        It is seeded anew whenever torch's seed has changed since; seeding torch
        again with the same number does not restart it.
        """
        seed = torch.initial_seed()
        if self._texture_rng.get(device, (None,))[0] != seed:
            gen = torch.Generator(device).manual_seed((seed + 1) % 2**64)
            self._texture_rng[device] = (seed, gen)
        return self._texture_rng[device][1]

    def eligible(self, labels: Tensor) -> Tensor:
        """Patches with at least *min_free* allowed pixels (and some)."""
        return _enough(free_fraction(labels, self.allowed), self.min_free)

    def draw(
        self, labels: Tensor, params: dict[str, Tensor]
    ) -> list[tuple[int, Tensor]]:
        """A cloud and its shadow per selected sample."""
        n, h, w = labels.shape
        free = free_pixels(labels, self.allowed)
        cloud, paired = self.source.clouds(n, h, w, labels.device)
        if self.shadow_mode == 'paired' and paired is not None:
            shadow = paired
        else:
            dy, dx = self.offsets(
                n, params['indices'], labels.device, len(params['batch_prob'])
            )
            params['shadow_shift'] = torch.stack([dy, dx], 1)
            shadow = shift(cloud, dy, dx)
        cloud = cloud & free
        if self.cloud_texture > 0:
            draw = partial(
                torch.rand,
                generator=self.texture_rng(labels.device),
                device=labels.device,
            )
            u = plasma((n, 1, h, w), self.cloud_roughness, draw, labels.device)
            lumps = torch.exp(self.cloud_texture * (2 * u - 1))
            params['cloud_density'] = self.density(labels.device) * lumps
        layers = [(CLOUD, cloud), (SHADOW, shadow & free & ~cloud)]
        return layers[::-1] if self.shadow_first else layers


class RandomSnow(CSIAAugmentationBase):
    """Paint snow into free patches (modes 3 and 4 of CSIA).

    Modes 3 and 4 of CSIA :cite:`Belyakov2025`, batched on the device. The augmentation
    works as follows:

        1. A patch is eligible when at least *min_free* of its pixels are
           background (and some are): with the default ``min_free=1.0`` only
           label-free patches (mode 3), with ``min_free=0.0`` any patch that has
           background (mode 4). Each eligible patch is selected with
           probability *p*.
        2. For each selected patch a snow shape is drawn from *source* and limited
           to the patch's background pixels.
        3. The snow inpainter fills the shape grown by its network's margin, and
           the fill is pasted there only.
        4. The mask takes snow (2) on the shape, or the ignore index instead where
           the painting changed the brightness by less than *min_change* (it does
           not show there).

    Args:
        snow: snow inpainter.
        p: probability for each sample to be augmented (when eligible).
        source: structure shapes, as in :class:`RandomCloudShadow`.
        min_free: share of background pixels that makes a patch eligible.
        autocast: autocast dtype for the network on an accelerator (the CPU runs
            fp32).
        max_selected: the most samples one call changes (default: from *p* and
            the batch size, :meth:`capacity`).
        cuda_graphs: on CUDA, replay the networks as CUDA graphs.
        min_change: relabelled pixels that the painting changed by less than this
            share of their brightness get the ignore index (default 0: none), as
            :class:`CSIAAugmentationBase`.

    Raises:
        ValueError: If *p* or *min_free* is outside [0, 1], or the inpainter
            paints another class.
        TypeError: If the inpainter is neither a network nor inpainter weights.

    Shape:
        As :class:`CSIAAugmentationBase`: ``image`` ``B x C x H x W`` and ``mask``
        ``B x H x W`` in, both out.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from torchgeo_csia.models import Inpainter
        >>> from torchgeo_csia.transforms import RandomSnow
        >>> _ = torch.manual_seed(0)
        >>> snow = Inpainter(nn.Conv2d(4, 3, 3, padding=1), bands=3)
        >>> aug = RandomSnow(snow, p=1.0)
        >>> image = torch.rand(2, 3, 64, 64)
        >>> mask = torch.zeros(2, 64, 64, dtype=torch.long)
        >>> out_image, out_mask = aug(image, mask)
        >>> out_mask.unique().tolist()
        [0, 2]

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        snow: InpainterLike,
        p: float = 0.5,
        source: StructureSource | str | None = None,
        min_free: float = 1.0,
        autocast: torch.dtype | None = None,
        max_selected: int | None = None,
        cuda_graphs: bool = True,
        min_change: float = 0.0,
    ) -> None:
        """Initialize the augmentation."""
        super().__init__(
            p, {SNOW: snow}, source, autocast, max_selected, cuda_graphs, min_change
        )
        self.min_free = _check_fraction('min_free', min_free)

    def eligible(self, labels: Tensor) -> Tensor:
        """Patches with at least *min_free* background pixels (and some)."""
        return _enough(free_fraction(labels), self.min_free)

    def draw(
        self, labels: Tensor, params: dict[str, Tensor]
    ) -> list[tuple[int, Tensor]]:
        """A snow shape per selected sample, on its background."""
        n, h, w = labels.shape
        snow = self.source.snow(n, h, w, labels.device)
        return [(SNOW, snow & (labels == BACKGROUND))]


class _Shifted(CSIAAugmentationBase):
    """Modes that move a class's own pixels: try a few shifts, keep the best."""

    tries = 4

    def offsets(
        self, n: int, index: Tensor, device: torch.device, batch: int
    ) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def best_shift(
        self, labels: Tensor, params: dict[str, Tensor], source: Tensor, cls: int
    ) -> Tensor:
        """The shifted *source* pixels that take *cls*.

        Of :attr:`tries` offsets, the one that paints the most pixels is kept (and
        stored in *params*).
        """
        n = len(labels)
        k = self.tries
        index = params['indices'].repeat(k)
        dy, dx = self.offsets(n * k, index, labels.device, len(params['batch_prob']))
        moved = shift(source.repeat(k, 1, 1), dy, dx)
        taken = moved & paintable(labels.repeat(k, 1, 1), cls)
        best = taken.flatten(1).sum(1).reshape(k, n).argmax(0)
        pick = best * n + torch.arange(n, device=labels.device)
        params['shift'] = torch.stack([dy[pick], dx[pick]], 1)
        return taken[pick]


class RandomShadowForClouds(_ShadowGeometry, _Shifted):
    """Give existing clouds a shadow (mode 5 of CSIA).

    Mode 5 of CSIA :cite:`Belyakov2025`, batched on the device. The augmentation
    works as follows:

        1. A patch is eligible when it holds some cloud, at most *max_cloud* of
           it, and pixels a shadow may take (background or snow). Each eligible
           patch is selected with probability *p*.
        2. The patch's cloud mask is projected away from the sun from a random
           height in *cloud_height* (``shadow_mode='sun'``; a random direction
           where the sun is unknown) or shifted a random distance in *shift* in a
           random direction (``'random'``). Of four draws, the one whose shadow
           lands on the most pixels is kept, so the shadow stays in the patch
           where it can.
        3. The moved mask is limited to the pixels a shadow may take.
        4. The shadow inpainter fills it, grown by its network's margin, its gain
           over the ground raised to the power *shadow_depth* (1: as the network
           paints it; :func:`~.structures.deepen`), and the fill is pasted there
           only.
        5. The mask takes shadow (1) there, or the ignore index instead where
           the painting changed the brightness by less than *min_change* (it does
           not show there).

    Args:
        shadow: shadow inpainter.
        p: probability for each sample to be augmented (when eligible).
        max_cloud: the largest cloud share of an eligible patch.
        shadow_mode: ``'sun'`` or ``'random'``, as in :class:`RandomCloudShadow`.
        cloud_height: range of cloud heights in metres for ``'sun'``.
        shift: range of shadow distances in pixels for ``'random'``.
        pixel_size: metres per pixel.
        autocast: autocast dtype for the network on an accelerator (the CPU runs
            fp32).
        max_selected: the most samples one call changes (default: from *p* and
            the batch size, :meth:`capacity`).
        cuda_graphs: on CUDA, replay the networks as CUDA graphs.
        min_change: relabelled pixels that the painting changed by less than this
            share of their brightness get the ignore index (default 0: none), as
            :class:`CSIAAugmentationBase`.
        shadow_depth: the power, > 0, the shadow fill's gain over the ground is
            raised to, one number or one per band, as in :class:`RandomCloudShadow`
            (1, the default: as the network paints it).
        shadow_scale: the shadow network's resolution factor, as in
            :class:`RandomCloudShadow` (1, the default: full resolution).

    Raises:
        ValueError: If an argument is out of its range, *shadow_mode* is unknown,
            or the inpainter paints another class.
        TypeError: If the inpainter is neither a network nor inpainter weights.

    Shape:
        As :class:`CSIAAugmentationBase`: ``image`` ``B x C x H x W`` and ``mask``
        ``B x H x W`` in, both out.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from torchgeo_csia.models import Inpainter
        >>> from torchgeo_csia.transforms import RandomShadowForClouds
        >>> _ = torch.manual_seed(0)
        >>> shadow = Inpainter(nn.Conv2d(4, 3, 3, padding=1), bands=3)
        >>> aug = RandomShadowForClouds(shadow, p=1.0, shadow_mode='random')
        >>> image = torch.rand(2, 3, 64, 64)
        >>> mask = torch.zeros(2, 64, 64, dtype=torch.long)
        >>> mask[:, 24:40, 24:40] = 3  # a cloud in each patch
        >>> out_image, out_mask = aug(image, mask)
        >>> out_mask.unique().tolist()
        [0, 1, 3]

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        shadow: InpainterLike,
        p: float = 0.5,
        max_cloud: float = 0.5,
        shadow_mode: Literal['sun', 'random'] = 'sun',
        cloud_height: tuple[float, float] = (500.0, 2500.0),
        shift: tuple[float, float] = (8.0, 48.0),
        pixel_size: float = 30.0,
        autocast: torch.dtype | None = None,
        max_selected: int | None = None,
        cuda_graphs: bool = True,
        min_change: float = 0.0,
        shadow_depth: float | Sequence[float] = 1.0,
        shadow_scale: int = 1,
    ) -> None:
        """Initialize the augmentation."""
        super().__init__(
            p, {SHADOW: shadow}, None, autocast, max_selected, cuda_graphs, min_change
        )
        self.max_cloud = _check_fraction('max_cloud', max_cloud)
        self.set_geometry(
            ('sun', 'random'),
            shadow_mode,
            cloud_height,
            shift,
            pixel_size,
            shadow_depth,
            shadow_scale,
        )

    def eligible(self, labels: Tensor) -> Tensor:
        """Patches with some cloud, at most *max_cloud*, and room for a shadow."""
        cloud = (labels == CLOUD).flatten(1).float().mean(1)
        room = paintable(labels, SHADOW).flatten(1).any(1)
        return (cloud > 0) & (cloud <= self.max_cloud) & room

    def draw(
        self, labels: Tensor, params: dict[str, Tensor]
    ) -> list[tuple[int, Tensor]]:
        """The projected cloud, where a shadow may go."""
        return [(SHADOW, self.best_shift(labels, params, labels == CLOUD, SHADOW))]


class RandomCopyPaste(_Shifted):
    """Copy a class's own pixels to a shifted place in the same patch (mode 6).

    Mode 6 of CSIA :cite:`Belyakov2025`, batched on the device and with no network. The
    augmentation works as follows:

        1. A patch is eligible when it holds at least *min_pixels* pixels of
           *cls*. Each eligible patch is selected with probability *p*.
        2. The patch's pixels of *cls* are moved a random distance in *shift* in a
           random direction. Of four draws, the one that lands on the most pixels
           is kept.
        3. The moved pixels are limited to those where *cls* outranks the label
           (cloud over shadow over snow over background).
        4. The image's own pixels, moved alike, are pasted there, and the mask
           takes *cls* there.

    Args:
        cls: the class copied (name or index; not background).
        p: probability for each sample to be augmented (when eligible).
        shift: range of distances in pixels.
        min_pixels: the fewest pixels of *cls* that make a patch eligible.
        max_selected: the most samples one call changes (default: from *p* and
            the batch size).

    Raises:
        ValueError: If *cls* is unknown or background, or an argument is out of
            its range.

    Shape:
        As :class:`CSIAAugmentationBase`: ``image`` ``B x C x H x W`` and ``mask``
        ``B x H x W`` in, both out.

    Example:
        >>> import torch
        >>> from torchgeo_csia.transforms import RandomCopyPaste
        >>> _ = torch.manual_seed(0)
        >>> aug = RandomCopyPaste('cloud', p=1.0)
        >>> image = torch.rand(2, 3, 64, 64)
        >>> mask = torch.zeros(2, 64, 64, dtype=torch.long)
        >>> mask[:, 24:40, 24:40] = 3  # a cloud in each patch
        >>> out_image, out_mask = aug(image, mask)
        >>> bool((out_mask == 3).sum() > (mask == 3).sum())
        True

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        cls: int | str,
        p: float = 0.5,
        shift: tuple[float, float] = (16.0, 96.0),
        min_pixels: int = 16,
        max_selected: int | None = None,
    ) -> None:
        """Initialize the augmentation."""
        super().__init__(p, {}, None, None, max_selected)
        self.cls = _class_index(cls)
        CSIA_CHECK(
            self.cls != BACKGROUND,
            'copy-paste of background is not a structure; pick 1-3',
        )
        CSIA_CHECK(
            min_pixels >= 0, lambda: f'min_pixels must be >= 0, got {min_pixels}'
        )
        self.shift = _check_span('shift', shift)
        self.min_pixels = min_pixels

    def offsets(
        self, n: int, index: Tensor, device: torch.device, batch: int
    ) -> tuple[Tensor, Tensor]:
        """Random offsets."""
        return random_offsets(n, *self.shift, device=device)

    def eligible(self, labels: Tensor) -> Tensor:
        """Patches with at least *min_pixels* of the class."""
        return (labels == self.cls).flatten(1).sum(1) >= self.min_pixels

    def draw(
        self, labels: Tensor, params: dict[str, Tensor]
    ) -> list[tuple[int, Tensor]]:
        """The class's pixels, shifted."""
        return [
            (self.cls, self.best_shift(labels, params, labels == self.cls, self.cls))
        ]

    def fill(
        self, image: Tensor, cls: int, hole: Tensor, params: dict[str, Tensor]
    ) -> Tensor:
        """The shifted image inside the hole."""
        dy, dx = params['shift'].to(image.device).unbind(1)
        return torch.where(hole[:, None], shift(image, dy, dx), image)


#: the classes each :class:`RandomTransplant` structure moves, in paint order (a
#: cloud comes with its shadows, as :class:`RandomCloudShadow` paints them)
TRANSPLANTED: dict[str, tuple[int, ...]] = {
    'cloud_shadow': (SHADOW, CLOUD),
    'snow': (SNOW,),
}


class RandomTransplant(CSIAAugmentationBase):
    """Move real structures of other samples onto free patches (the no-network control).

    The control of CSIA :cite:`Belyakov2025`: the same placement as its modes 1 and
    3, with real structures instead of painted ones, batched on the device and with
    no network. Whether painted structures help where moved real ones do (or do not)
    says whether the inpainters or the idea fail. The augmentation works as follows:

        1. A patch is eligible, as for :class:`RandomCloudShadow` and
           :class:`RandomSnow`, when at least *min_free* of its pixels hold one of
           the *allowed* classes (and some do). Each eligible patch is selected
           with probability *p*, at most :meth:`capacity` of them.
        2. A patch can be a source when the pixels of the moved classes (cloud and
           shadow for ``'cloud_shadow'``, which also needs some cloud; snow for
           ``'snow'``) make up a share of it within *share*, and it holds no NaN or
           inf. Each selected patch draws its source uniformly among the batch's
           possible sources other than itself; a patch with none is left unchanged.
        3. The source's structures keep their place; they are limited to the
           target's *allowed* pixels that their class outranks (cloud over shadow
           over snow over background).
        4. Their pixels, and a ring of *margin* pixels of the source's own
           surroundings (on pixels that are background in both patches), replace
           the target's (:func:`~.structures.transplant`); the ring keeps its
           label.
        5. The mask takes the structures' classes there, by priority.

    Sun geometry is not used: a real cloud comes with the shadow the sun of its own
    scene cast. Sources are read from the batch as it came in, so a structure moved
    in by this call is never moved on.

    Args:
        structure: what moves: ``'cloud_shadow'`` (a cloud with its shadows) or
            ``'snow'``.
        p: probability for each eligible sample to be augmented, in [0, 1].
        min_free: share of *allowed* pixels that makes a patch eligible.
        allowed: classes the structures may cover (background; for
            ``'cloud_shadow'`` also snow, which is then relabelled).
        margin: width in pixels of the ring of the source's surroundings moved
            with a structure.
        share: ``(low, high)``: the share of a patch the moved classes cover for
            it to be a source.
        max_selected: the most samples one call changes (default: from *p* and the
            batch size, :meth:`capacity`).

    Raises:
        ValueError: If *structure* is unknown, *allowed* names a class the
            structure does not outrank, or an argument is out of its range.

    Shape:
        As :class:`CSIAAugmentationBase`: ``image`` ``B x C x H x W`` and ``mask``
        ``B x H x W`` in, both out. Besides the base's, :attr:`last_params` holds
        ``source`` (the batch index each slot's structures come from),
        ``source_labels`` and ``target_labels`` (``K x H x W``: what
        :func:`~.structures.transplant` is given; pixels a structure may not
        take are marked outside the scheme in ``target_labels``).

    Example:
        >>> import torch
        >>> from torchgeo_csia.transforms import RandomTransplant
        >>> _ = torch.manual_seed(0)
        >>> aug = RandomTransplant('cloud_shadow', p=1.0)
        >>> image = torch.rand(2, 3, 64, 64)
        >>> mask = torch.zeros(2, 64, 64, dtype=torch.long)
        >>> mask[1, 8:24, 8:24] = 3  # a cloud in the second patch
        >>> mask[1, 30:46, 20:36] = 1  # and its shadow
        >>> out_image, out_mask = aug(image, mask)
        >>> out_mask[0].unique().tolist()  # the label-free patch took both
        [0, 1, 3]
        >>> torch.equal(out_image[0, :, 8:24, 8:24], image[1, :, 8:24, 8:24])
        True
        >>> aug.last_params['valid'].tolist()  # the cloudy patch is not free
        [True, False]

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        structure: Literal['cloud_shadow', 'snow'] = 'cloud_shadow',
        p: float = 0.5,
        min_free: float = 1.0,
        allowed: Sequence[int | str] = (BACKGROUND,),
        margin: int = 4,
        share: tuple[float, float] = (0.01, 0.5),
        max_selected: int | None = None,
    ) -> None:
        """Initialize the augmentation."""
        super().__init__(p, {}, None, None, max_selected)
        CSIA_CHECK(
            structure in TRANSPLANTED,
            lambda: f'structure must be one of {list(TRANSPLANTED)}, got {structure!r}',
        )
        self.structure = structure
        self.classes = TRANSPLANTED[structure]
        self.allowed = _check_allowed(allowed)
        lowest = min(PRIORITY[c] for c in self.classes)
        under = [CLASSES[c] for c in range(NUM_CLASSES) if PRIORITY[c] < lowest]
        CSIA_CHECK(
            all(PRIORITY[a] < lowest for a in self.allowed),
            lambda: (
                f'allowed may hold only classes a {structure} transplant covers '
                f'({", ".join(under)}), got {list(allowed)}'
            ),
        )
        self.min_free = _check_fraction('min_free', min_free)
        CSIA_CHECK(
            isinstance(margin, int) and margin >= 0,
            lambda: f'margin must be an int >= 0, got {margin!r}',
        )
        self.ring = margin
        self.share = _check_span('share', share)
        CSIA_CHECK(share[1] <= 1.0, lambda: f'share must lie in [0, 1], got {share}')

    def margin(self, cls: int) -> int:
        """The ring of the source's surroundings moved with a structure."""
        return self.ring

    def eligible(self, labels: Tensor) -> Tensor:
        """Patches with at least *min_free* allowed pixels (and some)."""
        return _enough(free_fraction(labels, self.allowed), self.min_free)

    def sources(self, labels: Tensor, finite: Tensor) -> Tensor:
        """``B`` boolean: which samples may give their structures.

        Args:
            labels: ``B x H x W`` labels.
            finite: ``B`` boolean, the samples whose image is finite.
        """
        share = free_pixels(labels, self.classes).flatten(1).float().mean(1)
        low, high = self.share
        ok = (share >= low) & (share <= high) & (share > 0) & finite
        if CLOUD in self.classes:
            ok = ok & (labels == CLOUD).flatten(1).any(1)
        return ok

    def region_labels(self, labels: Tensor, params: dict[str, Tensor]) -> Tensor:
        """The targets' labels as :meth:`draw` marked them.

        So a ring covers only pixels that are background in both patches (with no
        slots nothing is drawn, and the slots' own labels serve).
        """
        return params.get('target_labels', labels)

    def draw(
        self, labels: Tensor, params: dict[str, Tensor]
    ) -> list[tuple[int, Tensor]]:
        """The structures of each slot's source, where the slot may take them."""
        assert self._batch is not None, 'draw runs inside params_from_input'
        batch, finite = self._batch
        n, b, device = len(labels), len(batch), labels.device
        slots = params['indices']
        # a uniform draw among the possible sources other than the target itself
        others = torch.arange(b, device=device)[None, :] != slots[:, None]
        possible = self.sources(batch, finite)[None, :] & others
        score = torch.where(possible, torch.rand(n, b, device=device), -1.0)
        best, source = score.max(1)
        valid = params['valid'] & (best >= 0)
        params['valid'], params['source'] = valid, source
        src = batch[source]
        # pixels a structure may not take, and those beside it that are not clear
        # ground in the source (its ring would carry another class's pixels there),
        # are marked outside the scheme, so transplant leaves them alone
        guard = transplant_guard(labels, src, self.allowed, self.classes)
        target = torch.where(guard, IGNORE_INDEX, labels)
        src = torch.where(valid[:, None, None], src, BACKGROUND)
        params['source_labels'], params['target_labels'] = src, target
        return [(c, (src == c) & paintable(target, c)) for c in self.classes]

    def paint(self, image: Tensor, slots: Tensor, params: dict[str, Tensor]) -> Tensor:
        """Move the sources' pixels in (:func:`~.structures.transplant`)."""
        moved, _ = transplant(
            image[slots],
            params['target_labels'].to(image.device),
            image[params['source'].to(image.device)],
            params['source_labels'].to(image.device),
            self.classes,
            self.ring,
        )
        return moved
