"""The analytic kinds as the site check sees them: their outputs, role and hyper-parameters."""

from __future__ import annotations

from valueloop.analytics.kinds import check_params, kind_outputs, kind_role


class KindRegistry:
    """The installed detectors and models (entry points), for :func:`valueloop.config.load_site`."""

    def outputs(self, kind: str) -> tuple[str, ...]:
        """The derived outputs a binding of ``kind`` writes."""
        return kind_outputs(kind)

    def role(self, kind: str) -> str:
        """``detector``, ``expected_value`` or ``forecaster``."""
        return kind_role(kind)

    def check_params(
        self, kind: str, params: dict[str, object], signals: list[str] | None = None
    ) -> None:
        """ConfigError naming a hyper-parameter ``kind`` does not take (or, for a detector, one
        that does not fit its ``signals``)."""
        check_params(kind, params, signals=signals)


KINDS = KindRegistry()
"""The registry every face passes to the site check."""
