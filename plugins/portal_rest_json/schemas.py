"""The JSON Schemas (draft 2020-12) of both directions of the REST/JSON integration.

``ORDER`` is what the portal POSTs to the supplier, ``ANSWER`` what the supplier may answer
to that POST at once, ``INBOUND`` what it POSTs later to the portal's inbound address.
docs/integrations-rest.md publishes them verbatim (a test compares the two).
"""

from __future__ import annotations

_TEXT = {"type": "string"}
_DATE = {"type": ["string", "null"], "format": "date"}
_AMOUNT = {
    "type": ["string", "null"],
    "pattern": r"^[0-9]+(\.[0-9]{1,4})?$",
    "description": 'A decimal amount as text, such as "12.50".',
}

ORDER = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://portal.example/schemas/rest-json/purchase-order-1.json",
    "title": "Purchase order (portal to supplier)",
    "type": "object",
    "required": ["schema_version", "type", "number", "revision", "currency", "lines"],
    "properties": {
        "schema_version": {"const": 1},
        "type": {"const": "purchase_order"},
        "number": {**_TEXT, "description": "Our purchase order number; name it in answers."},
        "revision": {
            "type": "integer",
            "minimum": 1,
            "description": "Counts the sends of the order; a higher revision replaces a lower.",
        },
        "currency": {**_TEXT, "pattern": "^[A-Z]{3}$"},
        "customer_number": {**_TEXT, "description": "The store's number at the supplier."},
        "client_name": _TEXT,
        "reference": _TEXT,
        "delivery_date": _DATE,
        "delivery_method": _TEXT,
        "delivery_address": {
            "type": "object",
            "properties": dict.fromkeys(
                (
                    "name",
                    "company",
                    "street",
                    "street2",
                    "postcode",
                    "city",
                    "state",
                    "country",
                    "phone",
                    "email",
                ),
                _TEXT,
            ),
        },
        "contact": {
            "type": "object",
            "properties": {"name": _TEXT, "phone": _TEXT, "email": _TEXT},
        },
        "delivery_instructions": _TEXT,
        "notes": _TEXT,
        "lines": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["position", "quantity"],
                "properties": {
                    "position": {"type": "integer", "minimum": 1},
                    "product_code": _TEXT,
                    "supplier_code": _TEXT,
                    "barcode": _TEXT,
                    "name": _TEXT,
                    "quantity": {"type": "integer", "minimum": 0},
                    "containers": {"type": "integer", "minimum": 0},
                    "container_amount": {"type": "integer", "minimum": 1},
                    "unit_price": _AMOUNT,
                    "delivery_date": _DATE,
                    "note": _TEXT,
                },
            },
        },
    },
}

_LINE_CHANGE = {
    "type": "object",
    "required": ["position"],
    "properties": {
        "position": {"type": "integer", "minimum": 1},
        "quantity": {"type": "integer", "minimum": 0},
        "unit_price": _AMOUNT,
        "delivery_date": _DATE,
    },
}

ANSWER = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://portal.example/schemas/rest-json/answer-1.json",
    "title": "Immediate answer to a purchase order (supplier to portal, optional)",
    "type": "object",
    "properties": {
        "status": {
            "enum": ["received", "acknowledged", "confirmed", "changes_proposed", "rejected"]
        },
        "order_number": {**_TEXT, "description": "Optional: the order just sent."},
        "supplier_order_number": {**_TEXT, "maxLength": 64},
        "lines": {"type": "array", "items": _LINE_CHANGE},
        "reason": {**_TEXT, "maxLength": 2000},
    },
}

INBOUND = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://portal.example/schemas/rest-json/inbound-1.json",
    "title": "Message from the supplier's system (supplier to portal)",
    "type": "object",
    "required": ["type", "order_number"],
    "properties": {
        "type": {
            "enum": [
                "order.acknowledged",
                "order.confirmed",
                "order.changes_proposed",
                "order.rejected",
                "order.status",
                "order.dispatched",
            ]
        },
        "order_number": {**_TEXT, "minLength": 1, "maxLength": 32},
        "occurred_at": {"type": "string", "format": "date-time"},
        "supplier_order_number": {**_TEXT, "maxLength": 64},
        "situation": {**_TEXT, "maxLength": 200},
        "lines": {"type": "array", "items": _LINE_CHANGE},
        "reason": {**_TEXT, "maxLength": 2000},
        "dispatch": {
            "type": "object",
            "properties": {
                "carrier": {**_TEXT, "maxLength": 100},
                "tracking_code": {**_TEXT, "maxLength": 100},
                "expected_date": _DATE,
                "note": {**_TEXT, "maxLength": 2000},
                "lines": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["position", "quantity"],
                        "properties": {
                            "position": {"type": "integer", "minimum": 1},
                            "quantity": {"type": "integer", "minimum": 1},
                        },
                    },
                },
            },
        },
    },
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "order.rejected"}}},
            "then": {"required": ["reason"]},
        },
        {
            "if": {"properties": {"type": {"const": "order.dispatched"}}},
            "then": {"required": ["dispatch"]},
        },
    ],
}

ALL = {"purchase-order": ORDER, "answer": ANSWER, "inbound": INBOUND}
