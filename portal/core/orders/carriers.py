"""Carriers that ship orders, and the public tracking page of each one we know."""

from __future__ import annotations

from urllib.parse import quote

from flask_babel import lazy_gettext as _l

OTHER = "Other"

#: The carriers staff choose from when shipping, in the order of the list.
CARRIERS: tuple[str, ...] = ("DHL", "UPS", "DPD", "GLS", "PostNL", "FedEx", "DB Schenker", OTHER)

# Public tracking pages; ``{code}`` is replaced by the URL-encoded tracking code.
TRACKING_URLS: dict[str, str] = {
    "DHL": "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?submit=1&tracking-id={code}",
    "UPS": "https://www.ups.com/track?tracknum={code}",
    "DPD": "https://tracking.dpd.de/status/en_US/parcel/{code}",
    "GLS": "https://gls-group.com/GROUP/en/parcel-tracking?match={code}",
    "PostNL": "https://jouw.postnl.nl/track-and-trace/{code}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={code}",
}
_BY_NAME = {name.casefold(): url for name, url in TRACKING_URLS.items()}


def carrier_label(carrier: str):
    """Return the name to show for ``carrier``: its own name, or a translated "Other"."""
    return _l("Other") if carrier == OTHER else carrier


def tracking_url(carrier: str | None, tracking_code: str | None) -> str | None:
    """Return the carrier's tracking page for ``tracking_code``, or None if we know none.

    The code is encoded as one URL component, so a code can never add a path, a parameter or
    another host to the link.
    """
    code = (tracking_code or "").strip()
    template = _BY_NAME.get((carrier or "").strip().casefold())
    if not code or template is None:
        return None
    return template.format(code=quote(code, safe=""))
