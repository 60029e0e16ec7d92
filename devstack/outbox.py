"""The local outbox: everything the app sent, as a page for people and as /outbox.json.

It reads what the emulated SES and SNS accepted (moto runs in this process) and records the
POSTs the app makes to the alert and escalation webhooks, which point here in the local stack.
Messages on the alert topic and on the escalation topic are both channel "alert"; webhook posts
keep their signature headers (X-Closeloop-Signature, X-Closeloop-Timestamp) in "headers".
The fake helpdesk APIs (devstack/helpdesks.py) add each ticket write-back as channel "helpdesk".
`POST /sms/inbound` with {"from": "+1...", "body": "STOP"} plays a customer texting the app: it
publishes End User Messaging's inbound-SMS JSON to the replies topic, whose queue the pump feeds
to the app's SNS handler; the app's answers show up here as channel "sms".
Lifecycle events put on the local event bus arrive through a queue a rule copies them to: channel
"event", `to` the bus, `subject` the detail-type, `text` the detail as JSON.
"""
from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import uuid
from datetime import datetime, timezone
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler
from typing import Optional

from jinja2 import Environment, select_autoescape
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from devstack.servers import BurstHTTPServer

REGION = "us-east-1"
WEBHOOK_PATH = "/webhooks/alerts"
ESCALATION_WEBHOOK_PATH = "/webhooks/escalations"
# Where `python -m devstack.sign slack` points a press's response_url: the message updates land here.
SLACK_RESPONSE_PATH = "/webhooks/slack-responses"
# POST {"from": "+1...", "body": "STOP"} here: a customer texts the app (published to the replies topic).
SMS_INBOUND_PATH = "/sms/inbound"
LOCAL_SMS_NUMBER = "+18885550100"  # the number our survey texts come from, locally
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_WEBHOOK_PATHS = (WEBHOOK_PATH, ESCALATION_WEBHOOK_PATH, SLACK_RESPONSE_PATH)
# Headers every email has; the rest are the app's own ("extra") headers.
_STANDARD_HEADERS = {"from", "to", "subject", "date", "mime-version", "content-type", "content-transfer-encoding",
                     "message-id", "cc", "bcc", "reply-to"}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Outbox:
    def __init__(self, alert_topic_arn: str, *other_topic_arns: str):
        self.alert_topic_arn = alert_topic_arn
        self.topic_arns = (alert_topic_arn, *other_topic_arns)
        self.sms_replies_topic_arn: Optional[str] = None  # set by devstack: where /sms/inbound publishes
        # Set by devstack: the queue a rule copies the event bus's closeloop events to (channel "event").
        self.event_queue_url: Optional[str] = None
        self.event_bus_name = ""
        self.messages: list[dict] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def add(self, key: str, channel: str, to: str, text: str, subject: Optional[str] = None,
            html: Optional[str] = None, headers: Optional[dict] = None) -> None:
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            self.messages.append({"id": str(len(self.messages) + 1), "channel": channel, "to": to,
                                  "subject": subject, "text": text, "html": html, "headers": headers,
                                  "sent_at": _now()})

    def collect(self) -> None:
        """Pick up what the emulated SES and SNS accepted since the last look."""
        ses = ses_backends[DEFAULT_ACCOUNT_ID][REGION]
        for sent in list(ses.sent_messages):
            if hasattr(sent, "raw_data"):
                self._add_email(sent.id, sent.raw_data)
        sns = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
        for message_id, (phone, text) in list(sns.sms_messages.items()):
            self.add(f"sms:{message_id}", "sms", phone, text)
        for topic_arn in self.topic_arns:
            topic = sns.topics.get(topic_arn)
            for notification in list(topic.sent_notifications if topic else []):
                message_id, text, subject = notification[0], notification[1], notification[2]
                self.add(f"alert:{message_id}", "alert", topic_arn, text, subject=subject)
        if self.event_queue_url:
            self._collect_events()

    def _collect_events(self) -> None:
        """Lifecycle events, as EventBridge delivered them to the queue: subject the detail-type, text the detail."""
        from chalicelib.platform import aws

        sqs = aws.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self.event_queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return
            for message in messages:
                event = json.loads(message["Body"])
                self.add(f"event:{event['id']}", "event", self.event_bus_name, json.dumps(event["detail"]),
                         subject=event["detail-type"])
                sqs.delete_message(QueueUrl=self.event_queue_url, ReceiptHandle=message["ReceiptHandle"])

    def _add_email(self, message_id: str, raw: str) -> None:
        if f"email:{message_id}" in self._seen:
            return
        message = email.message_from_string(raw, policy=email.policy.default)
        text_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        headers = {name: str(value) for name, value in message.items() if name.lower() not in _STANDARD_HEADERS}
        addresses = ", ".join(address for _, address in getaddresses([str(message["To"])]))
        self.add(f"email:{message_id}", "email", addresses,
                 text_part.get_content() if text_part else "", subject=str(message["Subject"]),
                 html=html_part.get_content() if html_part else None, headers=headers)

    def receive_sms(self, sender: str, body: str) -> dict:
        """Publish an inbound SMS to the replies topic as AWS End User Messaging does."""
        from chalicelib.platform import aws

        message = {"originationNumber": sender, "destinationNumber": LOCAL_SMS_NUMBER,
                   "messageKeyword": "KEYWORD_000000000000", "messageBody": body,
                   "inboundMessageId": str(uuid.uuid4()), "previousPublishedMessageId": None}
        aws.client("sns").publish(TopicArn=self.sms_replies_topic_arn, Message=json.dumps(message))
        return message

    def snapshot(self) -> list[dict]:
        self.collect()
        with self._lock:
            return list(self.messages)


_PAGE = Environment(autoescape=select_autoescape(default_for_string=True)).from_string("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5"><title>closeloop outbox</title>
<style>
 body{font-family:system-ui,sans-serif;margin:0;background:#f3f4f6;color:#1f2937}
 main{max-width:60rem;margin:0 auto;padding:1rem}
 article{background:#fff;border-radius:.5rem;padding:1rem;margin:0 0 1rem;box-shadow:0 1px 2px rgba(0,0,0,.1)}
 .ch{display:inline-block;padding:.1rem .5rem;border-radius:1rem;background:#1e40af;color:#fff;font-size:.8rem}
 .alert .ch{background:#b91c1c}.webhook .ch{background:#7c3aed}.sms .ch{background:#047857}
 .event .ch{background:#92400e}
 pre{white-space:pre-wrap;background:#f9fafb;padding:.75rem;border-radius:.25rem}
 iframe{width:100%;height:30rem;border:1px solid #d1d5db;border-radius:.25rem;background:#fff}
 .meta{color:#4b5563;font-size:.875rem}
</style></head><body><main>
<h1>closeloop outbox</h1>
<p class="meta">{{ messages|length }} message(s), newest first. JSON: <a href="/outbox.json">/outbox.json</a>.
This page refreshes every 5 s.</p>
{% for m in messages|reverse %}
<article class="{{ m.channel }}" id="m{{ m.id }}">
 <p><span class="ch">{{ m.channel }}</span> <strong>{{ m.subject or "" }}</strong></p>
 <p class="meta">#{{ m.id }} to {{ m.to }} at {{ m.sent_at }}</p>
 {% if m.html %}<p><a href="/messages/{{ m.id }}" target="_blank">Open this email</a></p>
 <iframe title="email {{ m.id }}" sandbox="allow-popups allow-popups-to-escape-sandbox" src="/messages/{{ m.id }}"></iframe>{% endif %}
 <pre>{{ linkify(m.text) }}</pre>
</article>
{% else %}<p>Nothing sent yet. Post an interaction to http://127.0.0.1:8000/v1/interactions.</p>{% endfor %}
</main></body></html>""")
_URL = re.compile(r"https?://[^\s<>\"]+")


def _linkify(text: str):
    from markupsafe import Markup, escape

    parts, last = [], 0
    for match in _URL.finditer(text or ""):
        parts.append(escape(text[last:match.start()]))
        url = escape(match.group(0))
        parts.append(Markup(f'<a href="{url}" target="_blank" rel="noopener">{url}</a>'))
        last = match.end()
    parts.append(escape((text or "")[last:]))
    return Markup("").join(parts)


def make_server(outbox: Outbox, host: str, port: int) -> BurstHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/outbox.json":
                return self._send(200, "application/json", json.dumps(outbox.snapshot(), indent=1))
            if path == "/":
                return self._send(200, "text/html; charset=utf-8",
                                  _PAGE.render(messages=outbox.snapshot(), linkify=_linkify))
            match = re.fullmatch(r"/messages/(\d+)", path)
            found = [m for m in outbox.snapshot() if match and m["id"] == match.group(1) and m["html"]]
            if found:
                # Links of an email open in a new tab, like a mail client does.
                html = found[0]["html"].replace("<head>", '<head><base target="_blank">', 1)
                return self._send(200, "text/html; charset=utf-8", html)
            self._send(404, "text/plain", "not found")

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode("utf-8", "replace")
            path = self.path.split("?", 1)[0]
            if path == SMS_INBOUND_PATH:
                return self._inbound_sms(body)
            if path not in _WEBHOOK_PATHS:
                return self._send(404, "text/plain", "not found")
            to = f"http://{self.headers.get('host', '')}{path}"
            headers = {"Content-Type": self.headers.get("content-type", "")}
            # Header names are case-insensitive (urllib sends "X-closeloop-signature"): shown canonically.
            headers.update({"-".join(part.capitalize() for part in name.split("-")): value
                            for name, value in self.headers.items() if name.lower().startswith("x-closeloop-")})
            outbox.add(f"webhook:{len(outbox.messages)}:{hash(body)}", "webhook", to, body, headers=headers)
            self._send(200, "text/plain", "ok")

        def _inbound_sms(self, body: str) -> None:
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):  # deep nesting too: a 400, not a dropped connection
                data = None
            if not isinstance(data, dict) or not isinstance(data.get("from"), str) \
                    or not _E164.match(data["from"]):
                return self._send(400, "application/json", json.dumps(
                    {"error": "from must be an E.164 phone number such as +14155550123", "field": "from"}))
            if not isinstance(data.get("body"), str) or len(data["body"]) > 1600:
                return self._send(400, "application/json", json.dumps(
                    {"error": "body must be the text of the SMS (up to 1600 characters)", "field": "body"}))
            if not outbox.sms_replies_topic_arn:
                return self._send(503, "application/json", json.dumps({"error": "no SMS replies topic"}))
            message = outbox.receive_sms(data["from"], data["body"])
            self._send(202, "application/json", json.dumps(message))

        def _send(self, status: int, content_type: str, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return BurstHTTPServer((host, port), Handler)
