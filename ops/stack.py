"""The names of a stage's AWS resources: one place decides them, so bootstrap, teardown, the
CloudFormation template, the alarms and the IAM policies all agree on what `closeloop-dev-jobs` is.
"""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.platform import secrets

APP = "closeloop"
# The secrets the app reads from SSM (SecureString `<parameter_prefix><name>`): the app's own list.
# The bootstrap creates each missing one with a random value and never overwrites one an operator has set.
SECRET_NAMES = secrets.NAMES
OPERATOR_SET = secrets.OPERATOR_SET  # the bootstrap leaves these to the operator


@dataclass(frozen=True)
class StackNames:
    stage: str
    table: str
    jobs_queue: str
    jobs_dlq: str
    # Where the SNS and schedule handlers' async invocations go after their retries (Lambda
    # on-failure destination); the jobs queue has its own DLQ.
    handlers_dlq: str
    alert_topic: str
    escalation_topic: str
    ses_notices_topic: str
    sms_replies_topic: str
    ses_configuration_set: str
    parameter_prefix: str
    # The EventBridge bus of the lifecycle events (chalicelib/events/); the stage's teams route from it.
    event_bus: str = ""

    @property
    def topics(self) -> tuple[str, ...]:
        return (self.alert_topic, self.escalation_topic, self.ses_notices_topic, self.sms_replies_topic)

    def parameter(self, name: str) -> str:
        return f"{self.parameter_prefix}{name}"


def names(stage: str) -> StackNames:
    base = f"{APP}-{stage}"
    return StackNames(
        stage=stage,
        table=base,
        jobs_queue=f"{base}-jobs",
        jobs_dlq=f"{base}-jobs-dlq",
        handlers_dlq=f"{base}-handlers-dlq",
        alert_topic=f"{base}-alerts",
        escalation_topic=f"{base}-escalations",
        ses_notices_topic=f"{base}-ses-notices",
        sms_replies_topic=f"{base}-sms-replies",
        ses_configuration_set=base,
        parameter_prefix=f"/{APP}/{stage}/",
        event_bus=f"{base}-events",
    )
