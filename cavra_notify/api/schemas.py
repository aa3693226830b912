"""Request bodies. Every model forbids extra keys: nothing in a request can name a URL, host or secret."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Name = Field(min_length=1, max_length=200)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanRequest(_Body):
    provider: str = Field(default="all", min_length=1, max_length=500,
                          description="all, one provider, or a comma list of the schedule's providers")
    force: bool = Field(default=False, description="notify even a healthy schedule / within the repeat interval")
    now: AwareDatetime | None = Field(default=None, description="evaluate at this time instead of the clock")
    routing_policy: dict[str, Any] | None = Field(
        default=None, description="a routing policy document; guarded and validated like the --routing-policy file")


class DeliverRequest(PlanRequest):
    retries: int = Field(default=2, ge=0, le=5, description="retries after the first attempt")
    timeout_seconds: float = Field(default=10.0, gt=0, le=60, description="per-attempt timeout")


class AckRequest(_Body):
    provider: str = Name
    acknowledged_by: str = Name
    state: Literal["acknowledged", "dismissed", "escalated", "resolved"] = "acknowledged"
    plan_id: str | None = Field(default=None, min_length=1, max_length=200)
    external_ref: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)
    now: AwareDatetime | None = None


class NowRequest(_Body):
    now: AwareDatetime | None = None


class EvaluateRequest(_Body):
    action: str = Name
    target: str = Field(min_length=1, max_length=2000)
    now: AwareDatetime | None = None


class Error(BaseModel):
    error: str
    detail: Any = None
