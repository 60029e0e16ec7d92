"""The ground floor every room stands on: nothing here knows surveys, follow-ups or leads.

clock (the time, movable in tests), settings (CLOSELOOP_* variables), aws (lazy shared boto3
clients), secrets (SSM with rotation windows), telemetry (JSON logs, EMF metrics), i18n and
catalogs/ (customer-facing languages), rendering (Jinja2), fields (the validated field types
several rooms share), errors and validation (problems that name their field), jobs (the queue),
edge (the HTTP edge: reading requests, answering errors and pages), exports (how a room's
`__init__` exposes its public names). Import the modules themselves: `from chalicelib.platform import clock`.
"""
