"""The request and response bodies of the alarm routes (times ISO 8601 in UTC)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from valueloop.alarms import AlarmState, Priority
from valueloop.config.yamlio import parse_duration


class AlarmOut(BaseModel):
    """One alarm: an activation of an alarm point, its ISA-18.2 state and its point's flags."""

    model_config = ConfigDict(frozen=True)

    alarm_id: str
    key: str = Field(description="the alarm point, name:level@asset")
    name: str
    asset: str
    level: str = Field(description="hi, hihi, lo, lolo or stale")
    signal: str
    priority: Priority
    state: AlarmState
    raised_at: datetime
    value_at_raise: float | None
    cleared_at: datetime | None
    value_at_clear: float | None
    acked_at: datetime | None
    acked_by: str | None
    ack_comment: str | None
    suppressed: bool = Field(description="raised while its point was shelved or out of service")
    description: str
    shelved: bool
    shelved_until: datetime | None
    shelved_by: str | None
    out_of_service: bool


class AlarmCommentIn(BaseModel):
    """An operator's comment on an acknowledgement or an unshelving."""

    comment: str = Field(default="", max_length=2000)


class ShelveIn(BaseModel):
    """Shelve an alarm's point for ``duration`` (``8h``, ``30min``) or until ``until``."""

    duration: str | None = Field(None, description="how long, e.g. 8h, 30min, 1d")
    until: AwareDatetime | None = Field(None, description="when the shelf ends")
    comment: str = Field(default="", max_length=2000)

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) <= timedelta(0):
            raise ValueError("a shelf must last more than 0s")
        return value

    @model_validator(mode="after")
    def _one_end(self) -> Self:
        if (self.duration is None) == (self.until is None):
            raise ValueError("give exactly one of duration or until")
        return self

    def ends(self, now: datetime) -> datetime:
        """When the shelf ends, for a request made at ``now``."""
        if self.until is not None:
            return self.until
        assert self.duration is not None  # checked by _one_end
        return now + parse_duration(self.duration)
