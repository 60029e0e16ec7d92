"""The local stack behind `make run`: AWS emulation, the app, its event pump and the outbox.

Dev tooling only; nothing here is deployed.
"""
