"""The anchors of one append-only log checked against its rows.

The anchor lines of a log (:mod:`valueloop.store.seal`) start with its creation (sequence number
0), never go back, and each names a row that exists with the hash it had; the last one names the
log's head. An anchor line not sealed by the key is forged: the entries after the head it claims
cannot be trusted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from valueloop.store.seal import Anchor


class Problem(NamedTuple):
    """The first sequence number of a log that cannot be trusted, and why."""

    seq: int
    reason: str


def first_problem(*problems: Problem | None) -> Problem | None:
    """The problem at the lowest sequence number; the earlier one given on a tie."""
    found = [problem for problem in problems if problem is not None]
    return min(found, key=lambda problem: problem.seq) if found else None


class AnchorCheck:
    """Checks anchor lines of ``table`` against its rows: ``hashes`` by sequence number.

    ``head`` is the log's last sequence number; ``anchored``, the sequence number anchored by the
    lines checked before (None to check from the first line).
    """

    def __init__(
        self,
        table: str,
        head: int,
        hashes: Mapping[int, str],
        file_name: str,
        *,
        anchored: int | None = None,
    ) -> None:
        self.table = table
        self.head = head
        self.hashes = hashes
        self.file_name = file_name
        self.anchored = anchored

    def run(self, anchors: Iterable[Anchor]) -> Problem | None:
        """The first problem the lines show, or None; remembers the highest anchor."""
        for anchor in anchors:
            problem = self._check(anchor)
            if problem is not None:
                return problem
        return None

    def finish(self, *, has_file: bool) -> Problem | None:
        """The problem of a log whose anchors end before or after its head, or have not begun."""
        if self.anchored is None:
            if not has_file:
                return Problem(
                    1,
                    f"the anchor file {self.file_name} is missing: the log's entries cannot be "
                    "shown complete",
                )
            return Problem(1, f"no line of {self.file_name} anchors this log")
        if self.anchored > self.head:
            return Problem(
                self.head + 1,
                f"rows after seq {self.head} are missing: anchored head is seq {self.anchored}",
            )
        if self.anchored < self.head:
            return Problem(self.anchored + 1, f"rows after seq {self.anchored} are not anchored")
        return None

    def _check(self, anchor: Anchor) -> Problem | None:
        if not anchor.sealed:
            if anchor.table is None or anchor.table == self.table:
                claimed = anchor.seq if anchor.seq is not None else self.head
                claim = "" if anchor.seq is None else f" (head seq {anchor.seq})"
                return Problem(
                    max(claimed, 0) + 1,
                    f"anchor forged: line {anchor.line} of {self.file_name}{claim} is not sealed "
                    "by the site key",
                )
            return None
        if anchor.table != self.table or anchor.seq is None:
            return None
        seq = anchor.seq
        if self.anchored is None and seq != 0:
            return Problem(
                1,
                f"the anchors of this log start at seq {seq}, not at its creation: "
                f"{self.file_name} was removed or replaced",
            )
        if self.anchored is not None and seq < self.anchored:
            return Problem(
                seq + 1,
                f"anchors go back from seq {self.anchored} to seq {seq}: the log was cut and "
                "started again",
            )
        self.anchored = seq
        stored = self.hashes.get(seq)
        if seq <= self.head and stored is None:
            return Problem(seq, f"entry {seq}, anchored, is missing")
        if stored is not None and stored != anchor.hash:
            return Problem(seq, f"entry {seq} differs from its anchor")
        return None
