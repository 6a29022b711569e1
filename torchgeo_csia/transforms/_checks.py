"""Argument checks of the CSIA transforms, in the manner of Kornia's ``KORNIA_CHECK``.

.. versionadded:: 0.1
"""

from __future__ import annotations

from collections.abc import Callable

from kornia.core.exceptions import BaseError, ValueCheckError


def CSIA_CHECK(  # named after kornia.core.check.KORNIA_CHECK
    condition: bool,
    msg: str | Callable[[], str],
    error: type[BaseError] = ValueCheckError,
) -> bool:
    """Check a condition on an argument, as :func:`kornia.core.check.KORNIA_CHECK`.

    Unlike ``KORNIA_CHECK``, which raises Kornia's bare ``BaseError`` and can be
    switched off (``KORNIA_CHECKS=0``), this check always runs, since it guards what an
    argument means rather than a tensor's shape. It raises one of Kornia's errors that
    is also a built-in one: :class:`~kornia.core.exceptions.ValueCheckError` (a
    :class:`ValueError`) by default, or
    :class:`~kornia.core.exceptions.TypeCheckError` (a :class:`TypeError`).

    Args:
        condition: what must hold.
        msg: the error message, or a function without arguments that returns it
            (called only when the check fails).
        error: the error to raise.

    Returns:
        ``True`` (when it returns at all).

    Raises:
        BaseError: *error* with *msg*, if *condition* does not hold.
    """
    if not condition:
        raise error(msg() if callable(msg) else msg)
    return True
