"""Webhooks end to end: a real receiver on 127.0.0.1 verifies the Standard Webhooks
signature, fails twice and sees the retries, then gets the event once more by hand; 410,
five days of failures, three days of retries, Retry-After, rotation, private addresses."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook
from web.test_supplier_portal import order_from

from portal.core.errors import DomainError
from portal.db import utcnow
from portal.outbox.models import OutboxMessage, OutboxStatus
from portal.outbox.services import deliver_due
from portal.webhooks import delivery as sending
from portal.webhooks import services
from portal.webhooks.models import (
    DeliveryStatus,
    DisabledReason,
    OwnerKind,
    WebhookDelivery,
    WebhookEndpoint,
)

TENANT = services.Owner(OwnerKind.TENANT)


def supplier_owner(trade) -> services.Owner:
    return services.Owner(OwnerKind.SUPPLIER, supplier_id=trade.supplier.id)


def add_endpoint(in_tenant, tenant, owner, url, events):
    with in_tenant(tenant) as session:
        endpoint, secret = services.create_endpoint(owner, url, events)
        session.commit()
        return endpoint.id, secret


def deliveries_of(in_tenant, tenant, endpoint_id) -> list[WebhookDelivery]:
    with in_tenant(tenant) as session:
        return list(
            session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint_id)
                .order_by(WebhookDelivery.created_at)
            )
        )


def endpoint_of(in_tenant, tenant, endpoint_id) -> WebhookEndpoint:
    with in_tenant(tenant) as session:
        return session.get(WebhookEndpoint, (tenant.id, endpoint_id))


def deliver(app) -> int:
    with app.app_context():
        return deliver_due()


def clock_moves_on(in_tenant, tenant) -> None:
    """Make the waiting webhook rows due now: the retry wait has passed."""
    with in_tenant(tenant) as session:
        for row in session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "webhook", OutboxMessage.status == OutboxStatus.PENDING
            )
        ):
            row.next_attempt_at = utcnow() - timedelta(seconds=1)
        session.commit()


def verified(secret: str, request) -> dict:
    headers, body = request
    return Webhook(secret).verify(body, headers)


def send_ping(app, in_tenant, tenant, endpoint_id) -> WebhookDelivery:
    with in_tenant(tenant) as session:
        endpoint = session.get(WebhookEndpoint, (tenant.id, endpoint_id))
        found = services.send_test_event(endpoint)
        session.commit()
        return found


def test_a_receiver_verifies_fails_twice_sees_the_retries_and_a_replay(
    app, in_tenant, trade, receiver, allow_private
):
    endpoint_id, secret = add_endpoint(
        in_tenant, trade.tenant, supplier_owner(trade), receiver.url, ["purchase_order.sent"]
    )
    receiver.answer(500, 500, 200)
    po_id = order_from(app, in_tenant, trade)  # sends, and the worker delivers once

    assert len(receiver.requests) == 1
    first = verified(secret, receiver.requests[0])
    assert first["type"] == "purchase_order.sent"
    assert first["data"]["id"] == str(po_id)
    assert first["data"]["customer_number"] == "C-4711"  # the API's purchase order schema
    assert receiver.requests[0][0]["webhook-id"] == first["id"]
    [found] = deliveries_of(in_tenant, trade.tenant, endpoint_id)
    assert found.status == DeliveryStatus.PENDING
    assert found.attempts[0]["status_code"] == 500
    assert found.attempts[0]["response"] == "answer 500"
    assert found.next_attempt_at > utcnow()
    assert deliver(app) == 0  # not due yet: nothing is sent before its time

    clock_moves_on(in_tenant, trade.tenant)
    deliver(app)
    clock_moves_on(in_tenant, trade.tenant)
    deliver(app)
    assert len(receiver.requests) == 3
    ids = {headers["webhook-id"] for headers, _body in receiver.requests}
    assert ids == {first["id"]}
    assert all(verified(secret, request) == first for request in receiver.requests)
    [found] = deliveries_of(in_tenant, trade.tenant, endpoint_id)
    assert found.status == DeliveryStatus.SUCCEEDED
    assert [a["status_code"] for a in found.attempts] == [500, 500, 200]
    assert endpoint_of(in_tenant, trade.tenant, endpoint_id).failing_since is None

    with in_tenant(trade.tenant) as session:
        services.replay(session.get(WebhookDelivery, (trade.tenant.id, found.id)))
        session.commit()
    deliver(app)
    assert len(receiver.requests) == 4
    assert receiver.requests[3][0]["webhook-id"] == first["id"]
    assert receiver.requests[3][1] == receiver.requests[0][1]
    [found] = deliveries_of(in_tenant, trade.tenant, endpoint_id)
    assert found.attempts[-1]["manual"] is True


def test_a_receivers_410_switches_the_webhook_off_and_tells_the_owner(
    app, in_tenant, trade, receiver, allow_private, mailbox
):
    endpoint_id, _secret = add_endpoint(
        in_tenant, trade.tenant, supplier_owner(trade), receiver.url, ["purchase_order.sent"]
    )
    receiver.answer(410)
    send_ping(app, in_tenant, trade.tenant, endpoint_id)
    deliver(app)
    endpoint = endpoint_of(in_tenant, trade.tenant, endpoint_id)
    assert not endpoint.enabled
    assert endpoint.disabled_reason == DisabledReason.GONE
    [found] = deliveries_of(in_tenant, trade.tenant, endpoint_id)
    assert found.status == DeliveryStatus.FAILED
    deliver(app)  # the e-mail
    [mail] = mailbox.to(trade.supplier_user.email)
    assert receiver.url in mail["Subject"]
    # Switched off, nothing more is sent: not a new event, and no replay.
    order_from(app, in_tenant, trade)
    assert len(receiver.requests) == 1
    with in_tenant(trade.tenant) as session, pytest.raises(DomainError):
        services.replay(session.get(WebhookDelivery, (trade.tenant.id, found.id)))


def test_five_days_of_failures_switch_it_off_with_an_email_to_the_owner(
    app, in_tenant, trade, receiver, allow_private
):
    endpoint_id, _secret = add_endpoint(
        in_tenant, trade.tenant, supplier_owner(trade), receiver.url, ["purchase_order.sent"]
    )
    with in_tenant(trade.tenant) as session:
        from portal.accounts.models import User

        session.get(User, (trade.tenant.id, trade.supplier_user.id)).locale = "de"
        session.commit()
    receiver.answer(500, 500)
    start = utcnow()
    ping = send_ping(app, in_tenant, trade.tenant, endpoint_id)
    with in_tenant(trade.tenant) as session:
        found = session.get(WebhookDelivery, (trade.tenant.id, ping.id))
        assert sending.attempt(found, start) == "retry"
        assert found.endpoint.failing_since == start
        assert sending.attempt(found, start + timedelta(days=5)) == "failed"
        assert not found.endpoint.enabled
        assert found.endpoint.disabled_reason == DisabledReason.FAILING
        [mail] = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "email"))
        assert mail.payload["to"] == trade.supplier_user.email
        assert receiver.url in mail.payload["subject"]


def test_retries_follow_the_schedule_honour_retry_after_and_stop_after_three_days(
    app, in_tenant, trade, receiver, allow_private
):
    endpoint_id, _secret = add_endpoint(
        in_tenant, trade.tenant, TENANT, receiver.url, ["purchase_order.sent"]
    )
    ping = send_ping(app, in_tenant, trade.tenant, endpoint_id)
    receiver.answer(503, 503, 500, 500, Retry_After="7200")
    with in_tenant(trade.tenant) as session:
        found = session.get(WebhookDelivery, (trade.tenant.id, ping.id))
        now = found.created_at
        assert sending.attempt(found, now) == "retry"
        assert found.next_attempt_at - now >= timedelta(hours=2)  # Retry-After: 7200
        later = now + timedelta(hours=3)
        assert sending.attempt(found, later) == "retry"
        # 5 minutes after the 2nd failure (with jitter), but no earlier than Retry-After.
        assert timedelta(hours=2) <= found.next_attempt_at - later <= timedelta(hours=2, minutes=1)
        assert sending.attempt(found, now + timedelta(days=2, hours=23, minutes=50)) == "failed"
        assert found.status == DeliveryStatus.FAILED
        assert len(found.attempts) == 3
        # The schedule fits into the outbox's attempts and spans about three days.
        total = sum(sending.RETRY_SCHEDULE, timedelta())
        assert timedelta(days=2, hours=20) < total < sending.RETRY_FOR + timedelta(hours=2)


def test_during_the_grace_period_both_secrets_sign(app, in_tenant, trade, receiver, allow_private):
    endpoint_id, old = add_endpoint(
        in_tenant, trade.tenant, supplier_owner(trade), receiver.url, ["purchase_order.sent"]
    )
    with in_tenant(trade.tenant) as session:
        endpoint = session.get(WebhookEndpoint, (trade.tenant.id, endpoint_id))
        new = services.rotate_secret(endpoint, timedelta(hours=1))
        session.commit()
    assert new != old
    ping = send_ping(app, in_tenant, trade.tenant, endpoint_id)
    deliver(app)
    request = receiver.requests[-1]
    assert len(request[0]["webhook-signature"].split(" ")) == 2
    assert verified(old, request)["type"] == "webhook.ping"
    assert verified(new, request)["type"] == "webhook.ping"

    with in_tenant(trade.tenant) as session:
        found = session.get(WebhookDelivery, (trade.tenant.id, ping.id))
        sending.attempt(found, utcnow() + timedelta(hours=2), manual=True)
        session.commit()
    after_grace = receiver.requests[-1]
    assert len(after_grace[0]["webhook-signature"].split(" ")) == 1
    assert verified(new, after_grace)["type"] == "webhook.ping"
    with pytest.raises(Exception, match="signature"):
        verified(old, after_grace)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[::1]/hook",
        "http://[fc00::1]/",
        "http://[fd12:3456::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_private_addresses_are_refused_when_saved(in_tenant, tenant, deny_private, url):
    with in_tenant(tenant), pytest.raises(DomainError) as refused:
        services.create_endpoint(TENANT, url, ["order.created"])
    assert refused.value.field == "url"


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "https://user:secret@8.8.8.8/", "not a url", "http:///x"]
)
def test_addresses_that_are_no_web_addresses_are_refused(in_tenant, tenant, url):
    with in_tenant(tenant), pytest.raises(DomainError) as refused:
        services.create_endpoint(TENANT, url, ["order.created"])
    assert refused.value.field == "url"


def test_public_addresses_pass_the_check():
    assert services.is_public("8.8.8.8")
    assert services.is_public("2001:4860:4860::8888")
    assert not services.is_public("::ffff:10.0.0.1")


def test_private_addresses_are_refused_at_delivery_time_too(
    app, in_tenant, trade, receiver, allow_private
):
    endpoint_id, _secret = add_endpoint(
        in_tenant, trade.tenant, TENANT, receiver.url, ["purchase_order.sent"]
    )
    app.config["PORTAL_WEBHOOKS_ALLOW_PRIVATE"] = False  # the operator changed the setting
    ping = send_ping(app, in_tenant, trade.tenant, endpoint_id)
    deliver(app)
    assert receiver.requests == []
    with in_tenant(trade.tenant) as session:
        found = session.get(WebhookDelivery, (trade.tenant.id, ping.id))
        assert found.status == DeliveryStatus.PENDING
        assert "private network" in found.attempts[0]["error"]
        assert found.attempts[0]["status_code"] is None


def test_the_body_is_json_with_id_type_timestamp_and_data(
    app, in_tenant, trade, receiver, allow_private
):
    endpoint_id, _secret = add_endpoint(
        in_tenant, trade.tenant, TENANT, receiver.url, ["purchase_order.sent"]
    )
    send_ping(app, in_tenant, trade.tenant, endpoint_id)
    deliver(app)
    headers, body = receiver.requests[0]
    event = json.loads(body)
    assert set(event) == {"id", "type", "timestamp", "data"}
    assert headers["Content-Type"] == "application/json"
    assert int(headers["webhook-timestamp"]) > 0
    assert event["data"]["id"] == str(endpoint_id)


def test_a_failed_replay_leaves_the_waiting_retry_in_place(
    app, in_tenant, trade, receiver, allow_private
):
    endpoint_id, _secret = add_endpoint(
        in_tenant, trade.tenant, TENANT, receiver.url, ["purchase_order.sent"]
    )
    receiver.answer(500, 500)
    ping = send_ping(app, in_tenant, trade.tenant, endpoint_id)
    deliver(app)  # the first attempt fails; a retry waits
    with in_tenant(trade.tenant) as session:
        services.replay(session.get(WebhookDelivery, (trade.tenant.id, ping.id)))
        session.commit()
    deliver(app)  # the replay fails too
    [found] = deliveries_of(in_tenant, trade.tenant, endpoint_id)
    assert [a["manual"] for a in found.attempts] == [False, True]
    assert found.status == DeliveryStatus.PENDING
    assert found.next_attempt_at is not None
    clock_moves_on(in_tenant, trade.tenant)
    deliver(app)
    [found] = deliveries_of(in_tenant, trade.tenant, endpoint_id)
    assert found.status == DeliveryStatus.SUCCEEDED
    assert len(receiver.requests) == 3


def test_redirects_are_not_followed(app, in_tenant, trade, receiver, allow_private):
    endpoint_id, _secret = add_endpoint(
        in_tenant, trade.tenant, TENANT, receiver.url, ["purchase_order.sent"]
    )
    receiver.answer(302, Location="http://169.254.169.254/latest/meta-data/")
    ping = send_ping(app, in_tenant, trade.tenant, endpoint_id)
    deliver(app)
    assert len(receiver.requests) == 1
    with in_tenant(trade.tenant) as session:
        found = session.get(WebhookDelivery, (trade.tenant.id, ping.id))
        assert found.status == DeliveryStatus.PENDING
        assert found.attempts[0]["status_code"] == 302
        assert found.attempts[0]["error"] == "redirects are not followed"
