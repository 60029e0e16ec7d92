"""Storage: the one table helper and what every repository shares; no domain rule lives here.

table (Table: conditional writes, transactions, paging, retention, ConditionFailed), schema
(the table's keys and indexes, create_table), repository (the base of each room's repository,
and the map of who owns which items), steps (once-only steps on any item: run_once), named_counters.
"""
