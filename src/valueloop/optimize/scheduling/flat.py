"""The operations of a shop in one flat list, with the per-operation facts every stage needs."""

from __future__ import annotations

from dataclasses import dataclass

from valueloop.optimize.scheduling.problem import ShopProblem


@dataclass(frozen=True)
class FlatShop:
    """Operations numbered 0.. job by job, in processing order.

    Attributes:
        job: job index of each operation.
        position: index of each operation within its job.
        options: eligible ``(machine, duration)`` pairs of each operation.
        last: index of the last operation of each job.
        head: earliest start of each operation: the job's release plus the shortest processing
            times of the operations before it, in time units.
        tail: shortest processing time of the operations after it in its job, in time units.
    """

    job: list[int]
    position: list[int]
    options: list[list[tuple[int, int]]]
    last: list[int]
    head: list[int]
    tail: list[int]

    @classmethod
    def of(cls, problem: ShopProblem) -> FlatShop:
        """Flatten ``problem``'s jobs into numbered operations."""
        job: list[int] = []
        position: list[int] = []
        options: list[list[tuple[int, int]]] = []
        last: list[int] = []
        head: list[int] = []
        tail: list[int] = []
        for j, spec in enumerate(problem.jobs):
            shortest = [min((o.duration for o in op.options), default=0) for op in spec.operations]
            clock, remaining = spec.release, sum(shortest)
            for k, operation in enumerate(spec.operations):
                job.append(j)
                position.append(k)
                options.append([(o.machine, o.duration) for o in operation.options])
                head.append(clock)
                remaining -= shortest[k]
                tail.append(remaining)
                clock += shortest[k]
            last.append(len(job) - 1)
        return cls(job=job, position=position, options=options, last=last, head=head, tail=tail)

    def __len__(self) -> int:
        return len(self.job)

    def first(self, job: int) -> int:
        """Index of the first operation of ``job``."""
        return self.last[job - 1] + 1 if job > 0 else 0

    def shortest(self, operation: int) -> int:
        """Shortest processing time of ``operation`` over its options, in time units."""
        return min((d for _, d in self.options[operation]), default=0)
