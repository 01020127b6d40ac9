"""Return services: registration checks every line; restocked units go back into stock."""

import pytest
from sqlalchemy import select

from portal.core.errors import DomainError, LineErrors
from portal.core.returns import services
from portal.core.returns.models import Disposition, ReturnStatus
from portal.core.returns.services import ReturnLineInput
from portal.core.stock.models import MovementReason, StockMovement


@pytest.fixture
def shop(tenant, create_client, create_product):
    client = create_client(tenant)
    return {"client": client, "a": create_product(tenant, client, code="A-1")}


def test_every_bad_line_is_named_by_its_row(in_tenant, tenant, shop, create_client, create_product):
    other = create_product(tenant, create_client(tenant), code="THEIRS")
    with in_tenant(tenant) as session:
        client = session.merge(shop["client"])
        with pytest.raises(LineErrors) as refused:
            services.register_return(
                client,
                [
                    ReturnLineInput(shop["a"].id, "two", row=3),
                    ReturnLineInput(other.id, 1, row=4),
                    ReturnLineInput(shop["a"].id, 1, other.id, 1, row=5),
                    ReturnLineInput(shop["a"].id, 1, shop["a"].id, 0, row=6),
                ],
            )
        assert [str(e) for e in refused.value.errors] == [
            "Line 3: the quantity must be a positive whole number.",
            "Line 4: unknown product.",
            "Line 5: unknown replacement product.",
            "Line 6: enter how many replacement units are wanted.",
        ]


def test_an_order_of_another_client_is_refused(
    in_tenant, tenant, shop, create_client, create_product, create_order
):
    other = create_client(tenant)
    order = create_order(tenant, other, [(create_product(tenant, other, stock=1), 1)])
    with (
        in_tenant(tenant) as session,
        pytest.raises(DomainError, match="belongs to another client"),
    ):
        services.register_return(
            session.merge(shop["client"]),
            [ReturnLineInput(shop["a"].id, 1)],
            order=session.merge(order),
        )


def test_processing_restocks_with_reason_return(in_tenant, tenant, shop):
    with in_tenant(tenant) as session:
        ret = services.register_return(
            session.merge(shop["client"]), [ReturnLineInput(shop["a"].id, 2)]
        )
        services.receive_return(ret, "in")
        services.process_return(ret, {ret.lines[0].id: Disposition.RESTOCK}, "ok")
        session.flush()
        assert ret.status == ReturnStatus.COMPLETED
        assert [change.status for change in ret.history] == [
            ReturnStatus.REGISTERED,
            ReturnStatus.RECEIVED,
            ReturnStatus.COMPLETED,
        ]
        [movement] = session.scalars(select(StockMovement)).all()
        assert (movement.quantity, movement.reason, movement.reference) == (
            2,
            MovementReason.RETURN,
            ret.number,
        )
