"""One object per live owner (a store's database, a registry), made at the first call and
dropped with its owner; shared by every thread of the process."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerOwner(Generic[T]):
    """``per_owner(owner)`` gives the object ``make()`` made for ``owner`` at the first call."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._kept: weakref.WeakKeyDictionary[object, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, owner: object) -> T:
        """The object of ``owner``."""
        with self._lock:
            kept = self._kept.get(owner)
            if kept is None:
                kept = self._kept[owner] = self._make()
            return kept

    def get(self, owner: object) -> T | None:
        """The object of ``owner`` if one was made, else None (nothing is made)."""
        with self._lock:
            return self._kept.get(owner)
