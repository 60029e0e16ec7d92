"""closeloop: survey customers after a support interaction and follow up with the unhappy ones.

The rooms, bottom to top: platform (the ground floor), storage (the table), the domain rooms
(surveys, delivery, followups, insight, leads, contacts, integrations, apikeys), api (the HTTP
layer and event handlers). Each package's __init__ says what lives there; docs/architecture.md
is the map.
"""
