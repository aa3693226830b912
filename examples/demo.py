#!/usr/bin/env python3
"""The quickstart's main job: evaluate, plan and deliver the bundled examples.

Starts local fakes of Slack, Teams, Jira, ServiceNow and a webhook receiver on 127.0.0.1, points a
throwaway private connector config at them (secrets are random and passed as environment variables),
and runs the real ``cavra`` commands. No credentials and no network beyond loopback are needed.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from cavra_notify_jira.fake import FakeJira
from cavra_notify_servicenow.fake import FakeServiceNow
from cavra_notify_slack.fake import FakeSlack
from cavra_notify_teams.fake import FakeTeams
from cavra_notify_webhook.fake import FakeWebhookReceiver

EX = Path(__file__).resolve().parent
NOW = "2026-11-27T09:00:00Z"
PUBLIC = ["--mode", "promoted", "--rollback-drill-history-path", str(EX / "history.json"),
          "--rollback-drill-schedule-path", str(EX / "schedule.json"), "--now", NOW]


def cavra(*argv: str, env: dict[str, str]) -> int:
    print(f"\n$ cavra {' '.join(argv)}", flush=True)
    return subprocess.call([sys.executable, "-m", "cavra_notify", *argv], env=env)


def main() -> int:
    secret = {name: secrets.token_hex(16) for name in ("slack", "teams", "jira", "servicenow", "webhook")}
    with ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
        slack = stack.enter_context(FakeSlack("xoxb-" + "demo-" + secret["slack"]))
        teams = stack.enter_context(FakeTeams(sig=secret["teams"]))
        jira = stack.enter_context(FakeJira(api_token=secret["jira"]))
        snow = stack.enter_context(FakeServiceNow(password=secret["servicenow"]))
        hook = stack.enter_context(FakeWebhookReceiver(signing_secret=secret["webhook"]))
        config = Path(folder) / "connectors.json"
        config.write_text(json.dumps({"connectors": {
            "slack": {"token": {"env": "DEMO_SLACK_TOKEN"}, "channel": "#release-governance",
                      "base_url": slack.api_base},
            "teams": {"webhook_url": {"env": "DEMO_TEAMS_WEBHOOK_URL"}},
            "jira": {"server": jira.url, "email": "cavra-bot@example.invalid", "api_token": {"env": "DEMO_JIRA_TOKEN"},
                     "project": "OPS"},
            "servicenow": {"instance_url": snow.url, "user": "cavra.bot", "password": {"env": "DEMO_SNOW_PASSWORD"}},
            "webhook": {"url": {"env": "DEMO_WEBHOOK_URL"}, "signing_secret": {"env": "DEMO_WEBHOOK_SECRET"}},
        }}))
        env = {**os.environ, "DEMO_SLACK_TOKEN": "xoxb-" + "demo-" + secret["slack"],
               "DEMO_TEAMS_WEBHOOK_URL": teams.workflow_url, "DEMO_JIRA_TOKEN": secret["jira"],
               "DEMO_SNOW_PASSWORD": secret["servicenow"], "DEMO_WEBHOOK_URL": hook.url,
               "DEMO_WEBHOOK_SECRET": secret["webhook"], "CAVRA_CONNECTOR_CONFIG": str(config),
               "CAVRA_EVIDENCE_DB": str(Path(folder) / "evidence.db")}
        cavra("runtime", "go-rollback-drill-schedule", *PUBLIC, env=env)
        cavra("runtime", "go-rollback-drill-notification-plan", *PUBLIC, "--routing-policy",
              str(EX / "routing-policy.json"), env=env)
        code = cavra("runtime", "go-rollback-drill-notification-deliver", *PUBLIC, "--routing-policy",
                     str(EX / "routing-policy.json"), env=env)
        cavra("runtime", "go-rollback-drill-notification-deliver", *PUBLIC, "--routing-policy",
              str(EX / "routing-policy.json"), env=env)  # again: the notification log prevents duplicates
        print(f"\nfakes received: slack {len(slack.messages)} message(s), teams {len(teams.requests)} card(s), "
              f"jira {len(jira.issues)} issue(s), servicenow {len(snow.records)} record(s), "
              f"webhook {len(hook.events)} event(s)")
        return code


if __name__ == "__main__":
    sys.exit(main())
