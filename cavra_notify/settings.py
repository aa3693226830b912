"""Settings: a flag wins, else its ``CAVRA_*`` environment variable, else the default (SPEC §3)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import SettingsError
from .timeutil import MAX_SPAN_DAYS

MODES = ("disabled", "shadow", "enforce", "promoted")
ENV_MODE = "CAVRA_GO_BACKEND_MODE"
ENV_HISTORY = "CAVRA_GO_ROLLBACK_DRILL_HISTORY"
ENV_SCHEDULE = "CAVRA_GO_ROLLBACK_DRILL_SCHEDULE"
ENV_DUE_SOON = "CAVRA_GO_ROLLBACK_DRILL_DUE_SOON_DAYS"
ENV_MAX_AGE = "CAVRA_GO_ROLLBACK_DRILL_MAX_AGE_DAYS"
ENV_CONNECTORS = "CAVRA_CONNECTOR_CONFIG"
DEFAULT_DUE_SOON_DAYS = 14
DEFAULT_MAX_AGE_DAYS = 90


@dataclass(frozen=True)
class Settings:
    mode: str = "disabled"
    history_path: str | None = None
    schedule_path: str | None = None
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS
    max_age_days: int = DEFAULT_MAX_AGE_DAYS
    connector_config_path: str | None = None


def _pick(flag: object, env: Mapping[str, str], name: str) -> tuple[str | None, str]:
    if flag is not None:
        return str(flag), "--" + _FLAG_NAMES[name]
    value = env.get(name)
    return (value if value else None), name


_FLAG_NAMES = {
    ENV_MODE: "mode",
    ENV_HISTORY: "rollback-drill-history-path",
    ENV_SCHEDULE: "rollback-drill-schedule-path",
    ENV_DUE_SOON: "rollback-drill-due-soon-days",
    ENV_MAX_AGE: "rollback-drill-max-age-days",
    ENV_CONNECTORS: "connector-config",
}


def _days(flag: object, env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw, source = _pick(flag, env, name)
    if raw is None:
        return default
    text = raw.strip()
    if not _WHOLE.fullmatch(text):
        shown = raw if len(raw) <= 20 else raw[:20] + "..."
        raise SettingsError(f"{source}: expected a whole number of days, got {shown!r}")
    value = int(text)
    if not minimum <= value <= MAX_SPAN_DAYS:
        raise SettingsError(f"{source}: must be within {minimum}..{MAX_SPAN_DAYS} days, got {value}")
    return value


_WHOLE = re.compile(r"[+-]?[0-9]{1,12}")


def resolve(
    *,
    mode: str | None = None,
    history_path: str | None = None,
    schedule_path: str | None = None,
    due_soon_days: int | str | None = None,
    max_age_days: int | str | None = None,
    connector_config_path: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting; an invalid value raises :class:`SettingsError` naming its source."""
    env = os.environ if env is None else env
    raw_mode, source = _pick(mode, env, ENV_MODE)
    chosen = (raw_mode or "disabled").strip().lower()
    if chosen not in MODES:
        raise SettingsError(f"{source}: unknown mode {raw_mode!r}; expected one of {', '.join(MODES)}")
    return Settings(
        mode=chosen,
        history_path=_pick(history_path, env, ENV_HISTORY)[0],
        schedule_path=_pick(schedule_path, env, ENV_SCHEDULE)[0],
        due_soon_days=_days(due_soon_days, env, ENV_DUE_SOON, DEFAULT_DUE_SOON_DAYS, 0),
        max_age_days=_days(max_age_days, env, ENV_MAX_AGE, DEFAULT_MAX_AGE_DAYS, 1),
        connector_config_path=_pick(connector_config_path, env, ENV_CONNECTORS)[0],
    )
