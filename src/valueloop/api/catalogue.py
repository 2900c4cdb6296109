"""Answers that depend only on a site's model and series catalogue, kept until a series is
registered: the asset tree, say, is built once and not on every request."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

import pyarrow as pa

from valueloop.model.assets import SeriesRegistry
from valueloop.site import Site

T = TypeVar("T")


class PerCatalogue(Generic[T]):
    """``derive(site)``, computed again only when the site's series catalogue has changed.

    The registry answers the same catalogue table until a series is registered, so the table a
    value was derived beside tells whether the value is current. A value derived while a series
    was being registered is kept beside the older table, and so derived again at the next call.
    The site's model does not change while it is open. Kept values are shared between requests:
    nothing may change them.
    """

    def __init__(self, derive: Callable[[Site], T]) -> None:
        self.derive = derive
        self._kept: weakref.WeakKeyDictionary[SeriesRegistry, tuple[pa.Table, T]] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, site: Site) -> T:
        """The value for ``site``'s model and current catalogue."""
        catalogue = site.registry.catalogue()
        kept = self._kept.get(site.registry)
        if kept is not None and kept[0] is catalogue:
            return kept[1]
        value = self.derive(site)
        self._kept[site.registry] = (catalogue, value)
        return value
