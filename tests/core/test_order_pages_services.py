"""Services the order pages added: allocating again, editing a draft's lines, tracking links,
and checking an address field by field."""

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.core.addresses.services import address_errors, clean_address
from portal.core.errors import DomainError, TransitionRefused
from portal.core.orders import services
from portal.core.orders.carriers import CARRIERS, tracking_url
from portal.core.orders.models import Order, OrderStatus
from portal.core.orders.services import LineInput
from portal.testing.factories import DEFAULT_ADDRESS


@pytest.fixture
def shop(tenant, create_client, create_product):
    client = create_client(tenant)
    return {
        "client": client,
        "stocked": create_product(tenant, client, stock=10, code="STK"),
        "other": create_product(tenant, client, code="OTH"),
    }


def load(session, order_id):
    return session.scalar(select(Order).where(Order.id == order_id))


def test_allocate_again_promises_stock_that_became_free(in_tenant, tenant, shop, create_order):
    first = create_order(tenant, shop["client"], [(shop["stocked"], 10)])
    waiting = create_order(tenant, shop["client"], [(shop["stocked"], 4)])
    with in_tenant(tenant) as session:
        assert services.allocate_again(load(session, waiting.id)) == 0
        services.cancel_order(load(session, first.id))
        order = load(session, waiting.id)
        assert services.allocate_again(order, order.version) == 4
        assert order.status == OrderStatus.PROCESSING
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.object_id == str(waiting.id),
                AuditEntry.action == "order.allocated_again",
            )
        )
        assert entry.details == {"STK": 4}


@pytest.mark.parametrize("make", ["draft", "picking"])
def test_allocate_again_is_refused_for_drafts_and_picked_orders(
    in_tenant, tenant, shop, create_order, make
):
    order = create_order(tenant, shop["client"], [(shop["stocked"], 1)], submit=make != "draft")
    with in_tenant(tenant) as session:
        loaded = load(session, order.id)
        if make == "picking":
            services.pick_order(loaded)
        with pytest.raises(TransitionRefused):
            services.allocate_again(loaded)
        assert loaded.lines[0].allocated == (1 if make == "picking" else 0)


def test_replacing_lines_keeps_products_that_stay(in_tenant, tenant, shop, create_order):
    draft = create_order(tenant, shop["client"], [(shop["stocked"], 1)], submit=False)
    with in_tenant(tenant) as session:
        order = load(session, draft.id)
        kept_id = order.lines[0].id
        services.replace_lines(
            order,
            [LineInput(shop["other"].id, 2), LineInput(shop["stocked"].id, 5)],
            order.version,
        )
        session.commit()
        order = load(session, draft.id)
        assert [(line.product_id, line.quantity) for line in order.lines] == [
            (shop["other"].id, 2),
            (shop["stocked"].id, 5),
        ]
        assert order.lines[1].id == kept_id


@pytest.mark.parametrize(
    ("carrier", "code", "expected"),
    [
        (
            "DHL",
            "JD01",
            "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?submit=1&tracking-id=JD01",
        ),
        (
            "dhl",
            " JD01 ",
            "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?submit=1&tracking-id=JD01",
        ),
        ("UPS", "1Z/../x?y=1#z", "https://www.ups.com/track?tracknum=1Z%2F..%2Fx%3Fy%3D1%23z"),
        ("DPD", "a b", "https://tracking.dpd.de/status/en_US/parcel/a%20b"),
        ("PostNL", "3S", "https://jouw.postnl.nl/track-and-trace/3S"),
        ("DB Schenker", "123", None),
        ("Other", "123", None),
        ("DHL", "", None),
        (None, None, None),
    ],
)
def test_tracking_urls(carrier, code, expected):
    assert tracking_url(carrier, code) == expected


def test_every_carrier_but_two_has_a_tracking_page():
    assert [c for c in CARRIERS if tracking_url(c, "X") is None] == ["DB Schenker", "Other"]


def test_address_errors_names_every_field_at_once(app):
    with app.test_request_context():
        problems = address_errors({**DEFAULT_ADDRESS, "name": " ", "city": "", "country": "XX"})
        assert [p.field for p in problems] == ["name", "city", "country"]
        assert address_errors(DEFAULT_ADDRESS) == []
        with pytest.raises(DomainError) as refused:
            clean_address({**DEFAULT_ADDRESS, "name": "", "city": ""})
        assert refused.value.field == "name"
