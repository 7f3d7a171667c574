"""Configuration of the local stack: ports, paths, and the few facts about the project that
the template cannot tell (which variables name prerequisites that live outside the stack)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"  # moto's default account
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"  # noqa: S105 - moto accepts any credentials

# Prerequisites that AWS deployments create outside the template ("create it before
# deploying"). The stack creates them from the value of these function variables.
SES_SENDER_VARIABLES = ("SENDER_ADDRESS",)  # SES domain identity of the address
SECURE_KEY_PARAMETER_VARIABLES = ("TOKEN_KEY_PARAMETER",)  # SSM SecureString, random key

# Template parameters the local stack sets unless LOCAL_TEMPLATE_PARAMETERS does: values
# whose deployed default is empty but that the local demo needs. The seed list of test
# sends (POST /admin/messages/{name}/test) is the local team's inbox.
LOCAL_PARAMETER_DEFAULTS = {"TestSeedList": "qa@talent.example.com"}

# Process-wide defaults for the handlers' environment (the template's values win).
HANDLER_ENV_DEFAULTS = {
    "POWERTOOLS_METRICS_DISABLED": "true",  # metrics would flush EMF to stdout
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
}

# The application's one clock ("module:attribute", with now() and advance(seconds)); the
# stack's schedules and POST /_local/clock use it.
APPLICATION_CLOCK = "talentops.clock:SYSTEM_CLOCK"

# Local static mounts: URL prefix -> directory relative to the repository.
STATIC_MOUNTS = {"/careers/": "examples/careers-site"}


@dataclass(frozen=True)
class LocalConfig:
    repo: Path
    template_path: Path
    aws_port: int = 4566
    api_port: int = 3000
    host: str = "127.0.0.1"
    region: str = REGION
    account_id: str = ACCOUNT_ID
    stack_name: str = "local"
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    poll_wait_seconds: int = 1
    schedule_tick_seconds: float = 1.0
    # The stack's own AWS calls go to moto in this process, without HTTP (devstack/inprocess.py);
    # LOCAL_AWS_IN_PROCESS=0 sends them over the socket like any other client's.
    in_process: bool = True
    # The stack's files (LOCAL_DATA_DIR, default out/): its event lake (what the emulated
    # Firehose writes, devstack/firehose.py) under <data_dir>/lake, emptied at every start
    # like the rest of its state; and the event log of every event put on the buses
    # (devstack/eventlog.py), <data_dir>/events.jsonl, which make simulate replays.
    data_dir: Path | None = None

    @property
    def event_log(self) -> Path:
        return (self.data_dir or self.repo / "out") / "events.jsonl"

    @property
    def aws_url(self) -> str:
        return f"http://{self.host}:{self.aws_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def lake_dir(self) -> Path:
        return (self.data_dir or self.repo / "out") / "lake"

    @property
    def template_dir(self) -> Path:
        return self.template_path.parent

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> LocalConfig:
        env = dict(os.environ if env is None else env)
        repo = Path(env.get("LOCAL_REPO") or Path(__file__).resolve().parents[1])
        template = Path(env.get("LOCAL_TEMPLATE") or repo / "template.yaml")
        overrides = json.loads(env.get("LOCAL_TEMPLATE_PARAMETERS") or "{}")
        if not isinstance(overrides, dict):
            raise ValueError("LOCAL_TEMPLATE_PARAMETERS must be a JSON object")
        return cls(
            repo=repo.resolve(),
            template_path=template.resolve(),
            aws_port=int(env.get("LOCAL_AWS_PORT") or 4566),
            api_port=int(env.get("LOCAL_API_PORT") or 3000),
            stack_name=env.get("LOCAL_STACK_NAME") or "local",
            parameter_overrides={str(k): str(v) for k, v in overrides.items()},
            in_process=(env.get("LOCAL_AWS_IN_PROCESS") or "1").strip().lower()
            not in ("0", "false", "no", "off"),
            data_dir=Path(env["LOCAL_DATA_DIR"]).resolve() if env.get("LOCAL_DATA_DIR") else None,
        )
