"""Import every model module, so metadata and mappers are complete wherever one is used."""

from portal.accounts.models import (
    LoginAttempt,
    PasskeyCredential,
    RecoveryCode,
    Role,
    TotpAuthenticator,
    User,
    UserSession,
)
from portal.api.models import ApiToken, IdempotentRequest
from portal.audit.models import AuditEntry
from portal.branding.models import BrandingAsset
from portal.core.addresses.models import Address
from portal.core.clients.models import Client
from portal.core.numbering import NumberSequence
from portal.core.orders.models import Order, OrderLine, Shipment, ShipmentLine
from portal.core.products.models import Product, ProductImage
from portal.core.purchasing.models import (
    DispatchNotice,
    DispatchNoticeLine,
    GoodsReceipt,
    GoodsReceiptLine,
    PurchaseOrder,
    PurchaseOrderDocument,
    PurchaseOrderLine,
)
from portal.core.returns.models import Return, ReturnLine, ReturnStatusChange
from portal.core.stock.models import StockLevel, StockMovement
from portal.core.suppliers.models import (
    CartLine,
    CatalogueItem,
    CatalogueMatch,
    Supplier,
    SupplierClient,
    SupplierEventReceipt,
    SupplierRuleSet,
)
from portal.core.warehouses.models import Warehouse
from portal.jobs.models import Job
from portal.outbox.models import OutboxMessage
from portal.plugins.models import PluginActivation
from portal.tenants.models import Tenant, TenantDomain
from portal.web.submissions import FormSubmission
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from portal.worker.models import WorkerHeartbeat

__all__ = [
    "Address",
    "ApiToken",
    "AuditEntry",
    "BrandingAsset",
    "CartLine",
    "CatalogueItem",
    "CatalogueMatch",
    "Client",
    "DispatchNotice",
    "DispatchNoticeLine",
    "FormSubmission",
    "GoodsReceipt",
    "GoodsReceiptLine",
    "IdempotentRequest",
    "Job",
    "LoginAttempt",
    "NumberSequence",
    "Order",
    "OrderLine",
    "OutboxMessage",
    "PasskeyCredential",
    "PluginActivation",
    "Product",
    "ProductImage",
    "PurchaseOrder",
    "PurchaseOrderDocument",
    "PurchaseOrderLine",
    "RecoveryCode",
    "Return",
    "ReturnLine",
    "ReturnStatusChange",
    "Role",
    "Shipment",
    "ShipmentLine",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "SupplierClient",
    "SupplierEventReceipt",
    "SupplierRuleSet",
    "Tenant",
    "TenantDomain",
    "TotpAuthenticator",
    "User",
    "UserSession",
    "Warehouse",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WorkerHeartbeat",
]
