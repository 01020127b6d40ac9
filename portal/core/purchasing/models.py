"""Purchase orders: inbound orders, announced by a client or sent to a supplier."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy_utils import CountryType, CurrencyType

from portal.db import Timestamped, db, enum_type, utcnow
from portal.tenants.scoping import TenantOwned, tenant_collection, tenant_relationship


class PurchaseOrderStatus(enum.StrEnum):
    """The states of DOMAIN.md. Clients' announced deliveries use draft, booked and the
    receiving states; sending to suppliers adds the others."""

    DRAFT = "draft"
    BOOKED = "booked"
    SENT = "sent"
    TRANSFERRED = "transferred"
    ACKNOWLEDGED = "acknowledged"
    CONFIRMED = "confirmed"
    CHANGES_PROPOSED = "changes_proposed"
    IN_PRODUCTION = "in_production"
    # A dispatch notice announced part of the open quantities; the rest is still to come.
    PARTIALLY_DISPATCHED = "partially_dispatched"
    DISPATCHED = "dispatched"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class PurchaseOrder(TenantOwned, Timestamped, db.Model):
    """An inbound order for a client (or the tenant), delivered to a warehouse."""

    __tablename__ = "purchase_orders"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(["tenant_id", "client_id"], ["clients.tenant_id", "clients.id"]),
        ForeignKeyConstraint(["tenant_id", "supplier_id"], ["suppliers.tenant_id", "suppliers.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "warehouse_id"], ["warehouses.tenant_id", "warehouses.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["users.tenant_id", "users.id"]),
        Index(None, "tenant_id", "id"),
        Index(None, "tenant_id", "client_id", "id"),
        Index(None, "tenant_id", "status", "id"),
        Index(None, "tenant_id", "supplier_id", "id"),
        # One open (unbooked) draft per store and supplier: new items are added to it.
        Index(
            "uq_purchase_orders_open_draft",
            "tenant_id",
            "client_id",
            "supplier_id",
            unique=True,
            sqlite_where=text("status = 'draft' AND supplier_id IS NOT NULL"),
            postgresql_where=text("status = 'draft' AND supplier_id IS NOT NULL"),
        ),
    )

    number: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[uuid.UUID | None]
    supplier_id: Mapped[uuid.UUID | None]
    # Who delivers, when no supplier of the tenant is chosen (a client's own supplier).
    supplier_name: Mapped[str] = mapped_column(String(200), default="")
    warehouse_id: Mapped[uuid.UUID]
    status: Mapped[PurchaseOrderStatus] = mapped_column(
        enum_type(PurchaseOrderStatus), default=PurchaseOrderStatus.DRAFT
    )
    reference: Mapped[str] = mapped_column(String(100), default="")
    expected_date: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[uuid.UUID | None]
    cancelled_at: Mapped[datetime | None]
    currency = mapped_column(CurrencyType, nullable=False, default="EUR", server_default="EUR")

    # Where and how the supplier delivers, and whom it asks (orders to suppliers).
    delivery_method: Mapped[str] = mapped_column(
        String(20), default="standard", server_default="standard"
    )
    delivery_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    delivery_company: Mapped[str] = mapped_column(String(200), default="", server_default="")
    delivery_street: Mapped[str] = mapped_column(String(200), default="", server_default="")
    delivery_street2: Mapped[str] = mapped_column(String(200), default="", server_default="")
    delivery_postcode: Mapped[str] = mapped_column(String(20), default="", server_default="")
    delivery_city: Mapped[str] = mapped_column(String(100), default="", server_default="")
    delivery_state: Mapped[str] = mapped_column(String(100), default="", server_default="")
    delivery_country = mapped_column(CountryType, nullable=True)
    delivery_phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    delivery_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    contact_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    delivery_instructions: Mapped[str] = mapped_column(Text, default="", server_default="")

    # The supplier's side.
    supplier_order_number: Mapped[str] = mapped_column(String(64), default="", server_default="")
    supplier_situation: Mapped[str] = mapped_column(String(200), default="", server_default="")
    rejection_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The store's reason for turning down the supplier's proposed changes.
    changes_refusal_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Rises each time the order is sent again; part of the transfer's idempotency key.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent_at: Mapped[datetime | None]
    transferred_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    transfer_error: Mapped[str] = mapped_column(Text, default="", server_default="")

    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__ = {"version_id_col": version}

    client = tenant_relationship("Client", "PurchaseOrder.client_id")
    supplier = tenant_relationship("Supplier", "PurchaseOrder.supplier_id")
    warehouse = tenant_relationship("Warehouse", "PurchaseOrder.warehouse_id")
    lines: Mapped[list[PurchaseOrderLine]] = tenant_collection(
        "PurchaseOrder",
        "PurchaseOrderLine.purchase_order_id",
        order_by="PurchaseOrderLine.position",
        cascade="all, delete-orphan",
    )
    receipts: Mapped[list[GoodsReceipt]] = tenant_collection(
        "PurchaseOrder",
        "GoodsReceipt.purchase_order_id",
        order_by="GoodsReceipt.received_at",
        viewonly=True,
    )

    @property
    def supplier_label(self) -> str:
        # Checking the id first spares a query for purchase orders without a supplier.
        if self.supplier_id is not None and self.supplier is not None:
            return self.supplier.name
        return self.supplier_name

    @property
    def delivery_address_lines(self) -> list[str]:
        lines = [self.delivery_name, self.delivery_company, self.delivery_street]
        lines.append(self.delivery_street2)
        lines.append(" ".join(p for p in (self.delivery_postcode, self.delivery_city) if p))
        lines.append(self.delivery_state)
        lines.append(self.delivery_country.name if self.delivery_country else "")
        return [line for line in lines if line]

    @property
    def total_value(self) -> Decimal:
        return sum(
            (line.unit_price * line.quantity for line in self.lines if line.unit_price is not None),
            Decimal("0"),
        )

    def __repr__(self) -> str:
        return f"<PurchaseOrder {self.number}>"


class PurchaseOrderLine(TenantOwned, db.Model):
    """A product and quantity (in units) on a purchase order, and how much has arrived."""

    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "purchase_order_id"],
            ["purchase_orders.tenant_id", "purchase_orders.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"]),
        UniqueConstraint("tenant_id", "purchase_order_id", "product_id"),
        Index(None, "tenant_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("received >= 0", name="received_not_negative"),
    )

    purchase_order_id: Mapped[uuid.UUID]
    product_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Units: containers x container_amount for orders placed by container.
    quantity: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer, default=0)
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    container_amount: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    supplier_code: Mapped[str] = mapped_column(String(64), default="", server_default="")
    note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    delivery_date: Mapped[date | None] = mapped_column(Date)
    # What the store asked for when it sent the order; the supplier's confirmation may differ.
    ordered_quantity: Mapped[int | None] = mapped_column(Integer)
    ordered_unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    ordered_delivery_date: Mapped[date | None] = mapped_column(Date)
    # The supplier's proposal, while the store has not accepted or refused it.
    proposed_quantity: Mapped[int | None] = mapped_column(Integer)
    proposed_unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    proposed_delivery_date: Mapped[date | None] = mapped_column(Date)

    product = tenant_relationship("Product", "PurchaseOrderLine.product_id")

    @property
    def containers(self) -> int:
        """Whole containers in the quantity; :attr:`loose_units` holds what is left over."""
        return self.quantity // self.container_amount if self.container_amount else self.quantity

    @property
    def loose_units(self) -> int:
        """Units beyond the whole containers (0 for a line ordered in whole containers)."""
        return self.quantity % self.container_amount if self.container_amount else 0

    @property
    def in_containers(self) -> bool:
        """Tell whether the line was ordered in whole containers of more than one unit: then
        the supplier confirms whole containers too (docs/purchasing.md)."""
        ordered = self.ordered_quantity if self.ordered_quantity is not None else self.quantity
        return self.container_amount > 1 and ordered % self.container_amount == 0

    @property
    def changed_fields(self) -> set[str]:
        """The fields the supplier's confirmation changed against what was ordered."""
        changed = set()
        if self.ordered_quantity is not None and self.ordered_quantity != self.quantity:
            changed.add("quantity")
        if self.ordered_unit_price is not None and self.ordered_unit_price != self.unit_price:
            changed.add("unit_price")
        if self.ordered_delivery_date != self.delivery_date and self.ordered_quantity is not None:
            changed.add("delivery_date")
        return changed

    @property
    def has_proposal(self) -> bool:
        return (
            self.proposed_quantity is not None
            or self.proposed_unit_price is not None
            or self.proposed_delivery_date is not None
        )

    @property
    def outstanding(self) -> int:
        return max(self.quantity - self.received, 0)


class GoodsReceipt(TenantOwned, db.Model):
    """What the warehouse counted in against a purchase order; adds stock."""

    __tablename__ = "goods_receipts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "purchase_order_id"], ["purchase_orders.tenant_id", "purchase_orders.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "received_by_id"], ["users.tenant_id", "users.id"]),
        Index(None, "tenant_id", "purchase_order_id"),
    )

    purchase_order_id: Mapped[uuid.UUID]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_by_id: Mapped[uuid.UUID | None]
    note: Mapped[str] = mapped_column(String(500), default="")

    lines: Mapped[list[GoodsReceiptLine]] = tenant_collection(
        "GoodsReceipt", "GoodsReceiptLine.goods_receipt_id", cascade="all, delete-orphan"
    )


class GoodsReceiptLine(TenantOwned, db.Model):
    __tablename__ = "goods_receipt_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "goods_receipt_id"],
            ["goods_receipts.tenant_id", "goods_receipts.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "purchase_order_line_id"],
            ["purchase_order_lines.tenant_id", "purchase_order_lines.id"],
        ),
        Index(None, "tenant_id", "goods_receipt_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    goods_receipt_id: Mapped[uuid.UUID]
    purchase_order_line_id: Mapped[uuid.UUID]
    quantity: Mapped[int] = mapped_column(Integer)

    purchase_order_line = tenant_relationship(
        "PurchaseOrderLine", "GoodsReceiptLine.purchase_order_line_id"
    )


class DispatchNotice(TenantOwned, db.Model):
    """The supplier's message that goods are on their way (despatch advice, ASN)."""

    __tablename__ = "dispatch_notices"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "purchase_order_id"], ["purchase_orders.tenant_id", "purchase_orders.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "created_by_id"], ["users.tenant_id", "users.id"]),
        Index(None, "tenant_id", "purchase_order_id"),
    )

    purchase_order_id: Mapped[uuid.UUID]
    carrier: Mapped[str] = mapped_column(String(100), default="")
    tracking_code: Mapped[str] = mapped_column(String(100), default="")
    expected_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[uuid.UUID | None]

    lines: Mapped[list[DispatchNoticeLine]] = tenant_collection(
        "DispatchNotice", "DispatchNoticeLine.dispatch_notice_id", cascade="all, delete-orphan"
    )


class DispatchNoticeLine(TenantOwned, db.Model):
    __tablename__ = "dispatch_notice_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "dispatch_notice_id"],
            ["dispatch_notices.tenant_id", "dispatch_notices.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["tenant_id", "purchase_order_line_id"],
            ["purchase_order_lines.tenant_id", "purchase_order_lines.id"],
        ),
        Index(None, "tenant_id", "dispatch_notice_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    dispatch_notice_id: Mapped[uuid.UUID]
    purchase_order_line_id: Mapped[uuid.UUID]
    quantity: Mapped[int] = mapped_column(Integer)


class PurchaseOrderDocument(TenantOwned, db.Model):
    """A file the supplier attached to a purchase order: confirmation, invoice, certificate."""

    __tablename__ = "purchase_order_documents"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "purchase_order_id"], ["purchase_orders.tenant_id", "purchase_orders.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "uploaded_by_id"], ["users.tenant_id", "users.id"]),
        Index(None, "tenant_id", "purchase_order_id"),
    )

    purchase_order_id: Mapped[uuid.UUID]
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    description: Mapped[str] = mapped_column(String(200), default="")
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[uuid.UUID | None]
