"""Uploaded branding files: a tenant's logo and favicon, checked and re-encoded on upload."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import db, enum_type, utcnow
from portal.tenants.scoping import TenantOwned


class AssetKind(enum.StrEnum):
    """What an uploaded branding file is used for."""

    LOGO = "logo"
    FAVICON = "favicon"


class BrandingAsset(TenantOwned, db.Model):
    """A logo or favicon; ``Tenant.theme_settings["assets"]`` names the ones in use.

    A row never changes: a new upload is a new row with a new id, so the id in the address
    lets browsers keep the file for as long as they like.
    """

    __tablename__ = "branding_assets"

    kind: Mapped[AssetKind] = mapped_column(enum_type(AssetKind, length=16))
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<BrandingAsset {self.kind} {self.id}>"
