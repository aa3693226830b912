"""Request bodies. Every model forbids extra keys: nothing in a request can name a URL, host or secret."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

Name = Field(min_length=1, max_length=200)
FIRST_YEAR, LAST_YEAR = 1970, 9000


def _plausible(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_plausible)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanRequest(_Body):
    provider: str = Field(default="all", min_length=1, max_length=500,
                          description="all, one provider, or a comma list of the schedule's providers")
    force: bool = Field(default=False, description="notify even a healthy schedule / within the repeat interval")
    now: Instant | None = Field(default=None, description="evaluate at this time instead of the clock")
    routing_policy: dict[str, Any] | None = Field(
        default=None, description="a routing policy document; guarded and validated like the --routing-policy file")


class DeliverRequest(PlanRequest):
    retries: int = Field(default=2, ge=0, le=5, description="retries after the first attempt")
    timeout_seconds: float = Field(default=10.0, ge=0.5, le=60, description="per-attempt timeout in seconds")


AckState = Literal["acknowledged", "dismissed", "escalated", "resolved"]


class _AckFields(_Body):
    route_key: str | None = Field(default=None, min_length=1, max_length=500,
                                  description="the route <schedule>:<owner>:<provider>")
    provider: str | None = Field(default=None, min_length=1, max_length=100,
                                 description="the route's provider; without owner or route_key: every owner it reached")
    owner: str | None = Field(default=None, min_length=1, max_length=200, description="the route's owner")
    acknowledged_by: str | None = Field(default=None, min_length=1, max_length=200,
                                        description="must be the verified actor when given")
    acknowledgement_state: AckState | None = Field(default=None, description="default acknowledged")
    state: AckState | None = Field(default=None, description="alias of acknowledgement_state")
    plan_id: str | None = Field(default=None, min_length=1, max_length=200)
    external_ref: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)


class AckRequest(_AckFields):
    now: Instant | None = None


class BulkAck(_AckFields):
    schedule_id: str = Name


class BulkAckRequest(_Body):
    acknowledgements: list[BulkAck] = Field(min_length=1, max_length=100)
    now: Instant | None = None


class NowRequest(_Body):
    now: Instant | None = None


class EscalateRequest(_Body):
    now: Instant | None = Field(default=None, description="escalate as of this time instead of the clock")
    retries: int = Field(default=2, ge=0, le=5, description="retries after the first attempt")
    timeout_seconds: float = Field(default=10.0, ge=0.5, le=60, description="per-attempt timeout in seconds")


class EvaluateRequest(_Body):
    action: str = Name
    target: str = Field(min_length=1, max_length=2000)
    now: Instant | None = None


class Error(BaseModel):
    error: str
    detail: Any = None
