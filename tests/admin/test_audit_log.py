"""The admin's audit log: entries in words and in the viewer's language, links to the objects,
filters by who, what, object and time, exports, isolation between tenants."""

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale, gettext
from openpyxl import load_workbook
from sqlalchemy import select

from portal.accounts.models import User
from portal.api.tokens import create_token
from portal.audit.models import AuditEntry
from portal.audit.presenting import ACTION_LABELS, FIELD_LABELS
from portal.audit.services import Actor, acting_as, record
from portal.core.suppliers.models import Supplier, SupplierClient
from portal.core.suppliers.services import update_registration
from portal.testing.factories import make_supplier_link

RAW = re.compile(
    r"\b(order\.created|product\.created|supplier\.registration_changed|account_phone|"
    r"account_manager|LocalProxy)\b"
)


@pytest.fixture
def tenant(create_tenant):
    return create_tenant(enabled_locales=["en", "de"])


@pytest.fixture
def admin(create_user, tenant):
    return create_user(tenant, "admin", name="Ada Admin", locale="en")


@pytest.fixture
def admin_client(login_as, admin, tenant):
    return login_as(admin, tenant)


def rows_of(page: str) -> list[str]:
    match = re.search(r"<tbody>(.*?)</tbody>", page, re.S)
    return re.findall(r"<tr>.*?</tr>", match.group(1), re.S) if match else []


def who_of(row: str) -> str:
    """The "Who" cell of a row."""
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[1]


def in_words(app, msgid_or_lazy, locale: str) -> str:
    """What the catalogs make of a label in ``locale`` (the English text until translated)."""
    with app.test_request_context(), force_locale(locale):
        if isinstance(msgid_or_lazy, str):
            return gettext(msgid_or_lazy)
        return str(msgid_or_lazy)


@pytest.fixture
def world(app, in_tenant, tenant, admin, create_client, create_product, create_order):
    """A client with a product and an order, and a supplier whose registration data the
    supplier's user changed; each change recorded by the real services."""
    shop = create_client(tenant, name="Acme Shop")
    product = create_product(tenant, shop, code="BOOT-42", name="Boots")
    order = create_order(tenant, shop, [(product, 2)])
    with in_tenant(tenant) as session:
        supplier = Supplier(name="Shoe Factory")
        session.add(supplier)
        session.commit()
        supplier_id = supplier.id
    make_link(app, in_tenant, tenant, supplier_id, shop.id)
    with in_tenant(tenant) as session:
        link = session.scalar(
            select(SupplierClient).where(SupplierClient.supplier_id == supplier_id)
        )
        with acting_as(Actor(user_id=admin.id, ip_address="127.0.0.9")):
            update_registration(
                link,
                {"account_manager": "Maria Maker", "account_phone": "+49 30 1234567"},
            )
        session.commit()
    return {"shop": shop, "product": product, "order": order, "supplier_id": supplier_id}


def make_link(app, in_tenant, tenant, supplier_id, client_id):
    with in_tenant(tenant) as session:
        make_supplier_link(tenant, supplier_id, client_id, "C-1")
        session.commit()


# --- in words, in the viewer's language ----------------------------------------------------


def test_entries_are_shown_in_words_in_english_then_german(
    app, world, admin_client, login_as, create_user, tenant
):
    english = admin_client.get("/admin/audit")
    assert english.status_code == 200
    text = english.get_data(as_text=True)
    german_admin = create_user(tenant, "admin", name="Gerd Admin", locale="de")
    german = login_as(german_admin, tenant).get("/admin/audit").get_data(as_text=True)
    again = admin_client.get("/admin/audit").get_data(as_text=True)

    for page, locale in ((text, "en"), (german, "de"), (again, "en")):
        body = "".join(rows_of(page))
        assert not RAW.search(body), RAW.search(body)
        for code in ("order.created", "product.created", "supplier.registration_changed"):
            assert in_words(app, ACTION_LABELS[code], locale) in body
        assert in_words(app, FIELD_LABELS["account_manager"], locale) in body
        assert "Maria Maker" in body
        # The object is named by its number or code and links to its page.
        assert f'href="/orders/{world["order"].id}"' in body
        assert world["order"].number in body
        assert f'href="/products/{world["product"].id}"' in body
        assert "BOOT-42" in body
        assert f'href="/suppliers/{world["supplier_id"]}"' in body
    # The form's own label, in the viewer's language (as the compiled catalogs give it).
    assert in_words(app, FIELD_LABELS["account_manager"], "de") in german
    assert '<html lang="de"' in german
    assert in_words(app, "Audit log", "de") in german


def test_an_entry_recorded_with_a_proxy_names_the_real_object(
    app, admin_client, in_tenant, tenant, admin
):
    from flask_login import current_user, login_user

    with app.test_request_context(), in_tenant(tenant) as session:
        user = session.get(User, (tenant.id, admin.id))
        login_user(user)
        entry = record("account.updated", current_user, changes={"locale": ["en", "de"]})
        assert entry.object_type == "User"
        # An entry written before the fix still shows sensibly.
        old = AuditEntry(
            action="account.updated",
            object_type="LocalProxy",
            object_id=str(admin.id),
            changes={"locale": ["de", "en"]},
        )
        session.add(old)
        session.commit()
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "LocalProxy" not in page
    assert page.count(f'href="/admin/users/{admin.id}"') >= 2
    assert "Deutsch" in page


def test_secrets_are_never_shown(admin_client, in_tenant, tenant, admin):
    with in_tenant(tenant) as session:
        user = session.get(User, (tenant.id, admin.id))
        record("password.changed", user, changes={"password": ["old-secret", "new-secret"]})
        session.commit()
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "new-secret" not in page
    assert "old-secret" not in page
    assert "Password changed" in page


def test_an_object_that_is_gone_has_no_link(admin_client, in_tenant, tenant, create_client):
    shop = create_client(tenant, name="Gone Shop")
    with in_tenant(tenant) as session:
        from portal.core.addresses.models import Address

        address = Address(
            client_id=shop.id, name="Old Depot", street="Street 1", city="Town", country="DE"
        )
        session.add(address)
        session.flush()
        record("address.deleted", address, details={"name": "Old Depot"})
        session.delete(address)
        session.commit()
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    row = next(row for row in rows_of(page) if "Old Depot" in row)
    assert "Address deleted" in row
    assert "<a " not in row


# --- filters ---------------------------------------------------------------------------------


def test_filter_by_who(admin_client, world, tenant, create_user, in_tenant, admin):
    other = create_user(tenant, "staff", name="Sam Staff")
    with in_tenant(tenant) as session, acting_as(Actor(user_id=other.id)):
        record("order.cancelled", session.get(type(world["order"]), (tenant.id, world["order"].id)))
        session.commit()
    page = admin_client.get("/admin/audit", query_string={"who": f"user:{other.id}"})
    rows = rows_of(page.get_data(as_text=True))
    assert len(rows) == 1
    assert "Sam Staff" in rows[0]
    assert "Order cancelled" in rows[0]
    mine = rows_of(
        admin_client.get("/admin/audit", query_string={"who": f"user:{admin.id}"}).get_data(
            as_text=True
        )
    )
    assert mine
    assert all("Ada Admin" in who_of(row) for row in mine)
    nobody = rows_of(
        admin_client.get("/admin/audit", query_string={"who": "system"}).get_data(as_text=True)
    )
    assert nobody
    assert all("Sam Staff" not in who_of(row) and "Ada Admin" not in who_of(row) for row in nobody)


def test_filter_by_api_token(admin_client, world, tenant, create_user, in_tenant):
    owner = create_user(tenant, "client", name="Integration Owner", client=world["shop"])
    with in_tenant(tenant) as session:
        issued = create_token(session.get(User, (tenant.id, owner.id)), "ERP link", ["orders:read"])
        session.commit()
        token_id = issued.token.id
    with in_tenant(tenant) as session, acting_as(Actor(user_id=owner.id, api_token_id=token_id)):
        order = session.get(type(world["order"]), (tenant.id, world["order"].id))
        record("order.address_changed", order, changes={"city": ["Berlin", "Hamburg"]})
        session.commit()
    page = admin_client.get("/admin/audit", query_string={"who": f"token:{token_id}"})
    rows = rows_of(page.get_data(as_text=True))
    assert len(rows) == 1
    assert "ERP link" in rows[0]
    assert "Integration Owner" in rows[0]
    assert "Hamburg" in rows[0]


def test_filter_by_action_and_group(admin_client, world):
    rows = rows_of(
        admin_client.get("/admin/audit", query_string={"action": "product.created"}).get_data(
            as_text=True
        )
    )
    assert len(rows) == 1
    assert "BOOT-42" in rows[0]
    rows = rows_of(
        admin_client.get("/admin/audit", query_string={"action": "group:order"}).get_data(
            as_text=True
        )
    )
    assert rows
    assert all(world["order"].number in row for row in rows)


def test_filter_by_object_type_and_number(admin_client, world):
    rows = rows_of(
        admin_client.get(
            "/admin/audit", query_string={"type": "Product", "object": "boot-4"}
        ).get_data(as_text=True)
    )
    assert len(rows) == 1
    assert "BOOT-42" in rows[0]
    rows = rows_of(
        admin_client.get("/admin/audit", query_string={"object": world["order"].number}).get_data(
            as_text=True
        )
    )
    assert rows
    assert all(world["order"].number in row for row in rows)
    rows = rows_of(
        admin_client.get("/admin/audit", query_string={"type": "Supplier"}).get_data(as_text=True)
    )
    assert rows
    assert all("Shoe Factory" in row for row in rows)
    rows = rows_of(
        admin_client.get(
            "/admin/audit", query_string={"type": "User", "object": "ada adm"}
        ).get_data(as_text=True)
    )
    assert rows
    assert all("Ada Admin" in row for row in rows)
    page = admin_client.get("/admin/audit", query_string={"object": "nothing-like-this"})
    assert rows_of(page.get_data(as_text=True)) == []
    assert "No entries match these filters." in page.get_data(as_text=True)


def test_filter_by_time_in_the_tenants_time_zone(admin_client, in_tenant, tenant, world):
    with in_tenant(tenant) as session:
        from portal.tenants.models import Tenant

        session.get(Tenant, tenant.id).timezone = "Europe/Berlin"
        entry = record(
            "order.completed", session.get(type(world["order"]), (tenant.id, world["order"].id))
        )
        # 23:30 UTC on 1 March is 00:30 on 2 March in Berlin.
        entry.created_at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
        session.commit()
    on_second = rows_of(
        admin_client.get(
            "/admin/audit", query_string={"from": "2026-03-02", "to": "2026-03-02"}
        ).get_data(as_text=True)
    )
    assert len(on_second) == 1
    assert "Order completed" in on_second[0]
    on_first = rows_of(
        admin_client.get(
            "/admin/audit", query_string={"from": "2026-03-01", "to": "2026-03-01"}
        ).get_data(as_text=True)
    )
    assert on_first == []


def test_keyset_pages_keep_the_filters(admin_client, in_tenant, tenant, world, monkeypatch):
    from portal.admin import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    with in_tenant(tenant) as session:
        order = session.get(type(world["order"]), (tenant.id, world["order"].id))
        for _ in range(3):
            record("order.lines_changed", order, details={"lines": 1})
        session.commit()
    first = admin_client.get("/admin/audit", query_string={"action": "order.lines_changed"})
    text = first.get_data(as_text=True)
    assert len(rows_of(text)) == 2
    link = (
        re.search(r'href="(/admin/audit\?[^"]*before=[^"]*)"', text).group(1).replace("&amp;", "&")
    )
    assert "action=order.lines_changed" in link
    second = rows_of(admin_client.get(link).get_data(as_text=True))
    assert len(second) == 1
    assert "Order lines changed" in second[0]


@pytest.mark.parametrize(
    "query",
    [
        {"before": "not-a-uuid"},
        {"who": "user:'; drop table users; --"},
        {"who": "token:%00"},
        {"action": "<script>alert(1)</script>"},
        {"type": "__class__"},
        {"object": "%_\\" * 50},
        {"from": "2026-13-45"},
        {"to": "99999-01-01"},
        {"from": "0000-01-01"},
        {"who": "x" * 5000, "action": ["a", "b"]},
    ],
)
def test_hostile_filter_values_are_refused_or_ignored(admin_client, world, query):
    response = admin_client.get("/admin/audit", query_string=query)
    assert response.status_code in (200, 400)
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
    for fmt in ("csv", "xlsx"):
        assert admin_client.get(f"/admin/audit.{fmt}", query_string=query).status_code in (200, 400)


def test_a_date_that_cannot_be_read_is_named(admin_client, world):
    page = admin_client.get("/admin/audit", query_string={"from": "2026-13-45"})
    assert page.status_code == 200
    assert "From: please enter a date such as 2026-12-31." in page.get_data(as_text=True)


# --- export ----------------------------------------------------------------------------------


def test_export_as_csv_keeps_the_filters(admin_client, world):
    response = admin_client.get("/admin/audit.csv", query_string={"action": "group:supplier"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["When", "Who", "API token", "Action"]
    actions = {row[3] for row in rows[1:]}
    assert "Supplier registration data changed" in actions
    assert all("Order" not in action for action in actions)
    registration = next(row for row in rows if row[3] == "Supplier registration data changed")
    assert "Account manager: — → Maria Maker" in registration[6]
    assert registration[1] == "Ada Admin"
    assert registration[5] == "Shoe Factory"
    assert registration[8] == "127.0.0.9"
    # A value that a spreadsheet would take for a formula stays text.
    assert "Phone: — → '+49 30 1234567" in registration[6] or "+49 30 1234567" in registration[6]


def test_export_as_excel(admin_client, world, login_as, create_user, tenant):
    german = login_as(create_user(tenant, "admin", locale="de"), tenant)
    response = german.get("/admin/audit.xlsx", query_string={"type": "Product"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    assert isinstance(rows[1][0], datetime)
    assert "BOOT-42" in rows[1][5]
    assert "product.created" not in str(rows)


# --- who may see what ------------------------------------------------------------------------


def test_another_tenants_entries_never_appear(
    admin_client, world, other_tenant, create_client, create_product, create_user, login_as
):
    theirs = create_client(other_tenant, name="Their Shop")
    create_product(other_tenant, theirs, code="THEIR-1", name="Their boots")
    their_user = create_user(other_tenant, "staff")
    for path in ("/admin/audit", "/admin/audit.csv"):
        page = admin_client.get(path).get_data()
        assert b"THEIR-1" not in page
    # Their ids as filters find nothing here.
    rows = rows_of(
        admin_client.get("/admin/audit", query_string={"who": f"user:{their_user.id}"}).get_data(
            as_text=True
        )
    )
    assert rows == []
    rows = rows_of(
        admin_client.get("/admin/audit", query_string={"object": "THEIR-1"}).get_data(as_text=True)
    )
    assert rows == []
    # And an admin of the other tenant does not see ours.
    other_admin = login_as(create_user(other_tenant, "admin"), other_tenant)
    assert b"BOOT-42" not in other_admin.get("/admin/audit").get_data()
    assert b"BOOT-42" not in other_admin.get("/admin/audit.xlsx").get_data()


@pytest.mark.parametrize("role", ["staff", "client", "supplier"])
def test_non_admins_are_forbidden(login_as, create_user, tenant, role, create_client, in_tenant):
    extra = {"client": create_client(tenant)} if role == "client" else {}
    if role == "supplier":
        with in_tenant(tenant) as session:
            supplier = Supplier(name="Some Factory")
            session.add(supplier)
            session.commit()
        extra = {"supplier": supplier}
    client = login_as(create_user(tenant, role, **extra), tenant)
    for path in ("/admin/audit", "/admin/audit.csv", "/admin/audit.xlsx"):
        assert client.get(path).status_code == 403, path


# --- statements ------------------------------------------------------------------------------


def test_fifty_entries_take_a_bounded_number_of_statements(
    admin_client, in_tenant, tenant, world, create_user, create_client, count_queries
):
    users = [create_user(tenant, "staff", name=f"Staff {n}") for n in range(5)]
    shops = [create_client(tenant, name=f"Shop {n}") for n in range(5)]

    def render() -> int:
        with count_queries() as counter:
            page = admin_client.get("/admin/audit")
        assert page.status_code == 200
        return len(counter.statements), len(rows_of(page.get_data(as_text=True)))

    few, few_rows = render()
    with in_tenant(tenant) as session:
        from portal.core.clients.models import Client

        for n in range(60):
            with acting_as(Actor(user_id=users[n % 5].id)):
                record(
                    "client.updated",
                    session.get(Client, (tenant.id, shops[n % 5].id)),
                    changes={"name": [f"Shop {n}", f"Shop {n}"]},
                )
        session.commit()
    many, many_rows = render()
    assert many_rows == 50 > few_rows
    assert many <= few + 2, (few, many)
    assert many <= 20
