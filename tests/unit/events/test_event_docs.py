"""docs/events.md documents every event with the JSON schema its model has: they cannot drift."""
from __future__ import annotations

import json
import re

from chalicelib.events import DETAIL_TYPES, detail_schemas
from ops import event_docs


def documented() -> dict[str, dict]:
    """detail-type -> the schema in the doc's ```json block under its heading."""
    text = event_docs.DOC.read_text()
    return {name: json.loads(block) for name, block in
            re.findall(r"^### `(closeloop\.[a-z.]+)`\n.*?```json\n(.*?)\n```", text, re.M | re.S)}


def test_the_doc_shows_each_event_with_its_models_schema():
    assert documented() == detail_schemas()
    assert event_docs.with_schemas(event_docs.DOC.read_text()) == event_docs.DOC.read_text()


def test_every_detail_is_version_1_with_an_id_a_time_and_the_stage():
    for name, schema in detail_schemas().items():
        assert name.startswith("closeloop.") and DETAIL_TYPES[name].__doc__.startswith(name), name
        assert {"version", "id", "occurred_at", "stage"} <= set(schema["required"]), name
        assert schema["properties"]["version"]["const"] == 1, name


def test_no_event_has_a_field_for_a_name_an_address_or_a_phone():
    for name, schema in detail_schemas().items():
        assert not {"email", "phone", "name", "customer_name", "address"} & set(schema["properties"]), name
