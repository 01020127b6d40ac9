"""Demo data for ``portal demo``: two tenants that look different at first sight."""

from __future__ import annotations

from sqlalchemy import select

from portal.accounts.models import Role
from portal.accounts.services import create_user
from portal.core.clients.models import Client
from portal.core.suppliers.models import Supplier
from portal.db import db
from portal.demo_data import seed_tenant_data
from portal.demo_suppliers import seed_supplier_data
from portal.i18n import shipped_locales
from portal.tenants.context import tenant_context
from portal.tenants.models import Tenant
from portal.tenants.services import create_tenant

DEMO_PASSWORD = "portal-demo"  # noqa: S105 - demo data only, printed for the visitor
DEMO_TENANTS = (("acme", "Acme Fulfilment"), ("nordic", "Nordic Supply Co."))

# The demo's people, by tenant and role: named as people, so that pages show who did what;
# their company (the tenant, the store or the factory) is shown next to them where it matters.
DEMO_PEOPLE = {
    "acme": {
        Role.ADMIN: "Maria Jansen",
        Role.STAFF: "Tom de Vries",
        Role.CLIENT: "Sophie Bakker",
        Role.SUPPLIER: "Ricardo Lima",
    },
    "nordic": {
        Role.ADMIN: "Ingrid Larsen",
        Role.STAFF: "Erik Nyström",
        Role.CLIENT: "Linnea Berg",
        Role.SUPPLIER: "Mikko Virtanen",
    },
}

THEMES = {
    "acme": {
        "theme": "atelier",
        "title": "Acme Fulfilment Portal",
        "logo": "img/demo/acme.svg",
        "colours": {"primary": "#9a3412", "primary_text": "#ffffff", "accent": "#fff7ed"},
        "texts": {
            "en": {
                "welcome": "Welcome to Acme Fulfilment: your stock, orders and shipments in one place.",
                "login": "Acme clients and suppliers log in here.",
                "footer": "Acme Fulfilment B.V. · Warehouse Rotterdam",
            },
            "de": {
                "welcome": "Willkommen bei Acme Fulfilment: Bestand, Aufträge und Sendungen an einem Ort.",
                "login": "Kunden und Lieferanten von Acme melden sich hier an.",
                "footer": "Acme Fulfilment B.V. · Lager Rotterdam",
            },
        },
    },
    "nordic": {
        "theme": "harbour",
        "title": "Nordic Supply Portal",
        "logo": "img/demo/nordic.svg",
        "colours": {"primary": "#115e59", "primary_text": "#ffffff", "accent": "#f0fdfa"},
        "texts": {
            "en": {
                "welcome": "Nordic Supply: order from our factories and follow every delivery.",
                "login": "Stores and factories of Nordic Supply sign in here.",
                "footer": "Nordic Supply Co. · Gothenburg",
            },
            "de": {
                "welcome": "Nordic Supply: bei unseren Werken bestellen und jede Lieferung verfolgen.",
                "login": "Filialen und Werke von Nordic Supply melden sich hier an.",
                "footer": "Nordic Supply Co. · Göteborg",
            },
        },
    },
}


class DemoRefused(Exception):
    """The database holds real tenants; demo data is not mixed into it."""


def seed_demo() -> bool:
    """Seed the demo tenants; return False when they exist already."""
    slugs = set(db.session.scalars(select(Tenant.slug)))
    demo_slugs = {slug for slug, _ in DEMO_TENANTS}
    if slugs - demo_slugs:
        raise DemoRefused(
            "This database holds other tenants ("
            + ", ".join(sorted(slugs - demo_slugs))
            + "); demo data is only seeded into an empty or demo database."
        )
    if slugs == demo_slugs:
        return False
    for slug, name in DEMO_TENANTS:
        if slug in slugs:
            continue
        tenant = create_tenant(
            slug,
            name,
            default_locale="en",
            # acme speaks every shipped language; nordic keeps to English and German.
            enabled_locales=list(shipped_locales()) if slug == "acme" else ["en", "de"],
            theme_settings=THEMES[slug],
            timezone="Europe/Amsterdam" if slug == "acme" else "Europe/Stockholm",
        )
        with tenant_context(tenant):
            client = Client(name=f"{name.split()[0]} Demo Store", email=f"store@{slug}.test")
            supplier = Supplier(name=f"{name.split()[0]} Demo Factory")
            db.session.add_all([client, supplier])
            for other in ("Northwind Traders", "Blue Harbour Shop"):
                db.session.add(Client(name=other))
            users = {}
            for role in Role:
                users[role] = create_user(
                    f"{role.value}@{slug}.test",
                    DEMO_PASSWORD,
                    role,
                    name=DEMO_PEOPLE[slug][role],
                    client=client if role == Role.CLIENT else None,
                    supplier=supplier if role == Role.SUPPLIER else None,
                )
            seed_tenant_data(slug, client, users[Role.STAFF].id, users[Role.CLIENT].id)
            seed_supplier_data(
                slug,
                client,
                supplier,
                {
                    "client": users[Role.CLIENT],
                    "supplier": users[Role.SUPPLIER],
                    "staff": users[Role.STAFF],
                },
            )
            db.session.commit()
    return True
