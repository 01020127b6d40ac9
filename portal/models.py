"""Import every model module, so metadata and mappers are complete wherever one is used."""

from portal.accounts.models import LoginAttempt, Role, User, UserSession
from portal.audit.models import AuditEntry
from portal.branding.models import BrandingAsset
from portal.core.addresses.models import Address
from portal.core.clients.models import Client
from portal.core.numbering import NumberSequence
from portal.core.orders.models import Order, OrderLine, Shipment, ShipmentLine
from portal.core.products.models import Product, ProductImage
from portal.core.purchasing.models import (
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
)
from portal.core.returns.models import Return, ReturnLine, ReturnStatusChange
from portal.core.stock.models import StockLevel, StockMovement
from portal.core.suppliers.models import Supplier
from portal.core.warehouses.models import Warehouse
from portal.jobs.models import Job
from portal.outbox.models import OutboxMessage
from portal.tenants.models import Tenant, TenantDomain

__all__ = [
    "Address",
    "AuditEntry",
    "BrandingAsset",
    "Client",
    "GoodsReceipt",
    "GoodsReceiptLine",
    "Job",
    "LoginAttempt",
    "NumberSequence",
    "Order",
    "OrderLine",
    "OutboxMessage",
    "Product",
    "ProductImage",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Return",
    "ReturnLine",
    "ReturnStatusChange",
    "Role",
    "Shipment",
    "ShipmentLine",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "Tenant",
    "TenantDomain",
    "User",
    "UserSession",
    "Warehouse",
]
