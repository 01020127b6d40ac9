"""The plugin host: pluggy, project ``portal``, entry-point group ``portal.plugins``.

Plugin authors import everything they need from here::

    from portal.plugins import RuleSet, Violation, hookimpl
"""

from portal.plugins.contracts import (
    ORDER_FIELDS,
    AddressData,
    ConfigurationError,
    DispatchData,
    EventKind,
    IntegrationError,
    LineChange,
    LineData,
    OrderEvent,
    OutboundMessage,
    PermanentError,
    PurchaseOrderData,
    PurchaseOrderEvent,
    RetryableError,
    RuleContext,
    RuleSet,
    Severity,
    SupplierEvent,
    SupplierIntegration,
    TransmitOutcome,
    TransmitResult,
    Violation,
)
from portal.plugins.hookspecs import hookimpl

ENTRY_POINT_GROUP = "portal.plugins"

__all__ = [
    "ENTRY_POINT_GROUP",
    "ORDER_FIELDS",
    "AddressData",
    "ConfigurationError",
    "DispatchData",
    "EventKind",
    "IntegrationError",
    "LineChange",
    "LineData",
    "OrderEvent",
    "OutboundMessage",
    "PermanentError",
    "PurchaseOrderData",
    "PurchaseOrderEvent",
    "RetryableError",
    "RuleContext",
    "RuleSet",
    "Severity",
    "SupplierEvent",
    "SupplierIntegration",
    "TransmitOutcome",
    "TransmitResult",
    "Violation",
    "hookimpl",
]
