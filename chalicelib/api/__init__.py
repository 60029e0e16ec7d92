"""The HTTP layer and the entry points: one blueprint per area, each route thin, registered by app.py.

auth (the API-key authorizer), admin (/v1/), webhooks (/v1/webhooks/), pages (the customer's survey
and opt-out pages), signin and sessions (the leads' sign-in and session guards), dashboard, health,
events (the queue, SNS and schedule handlers). Nothing below this package imports it.
"""
