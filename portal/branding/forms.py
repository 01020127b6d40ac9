"""Forms of the branding page: the look and texts, custom domains, reset to default."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, Form, FormField, RadioField, StringField, TextAreaField
from wtforms.fields import URLField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from portal.branding.services import (
    COLOUR,
    MAX_SIDE,
    MAX_TEXT,
    MAX_TITLE,
    MAX_UPLOAD_BYTES,
    valid_link,
)
from portal.i18n import locale_name
from portal.web.submissions import SubmissionTokenMixin

COLOUR_MESSAGE = _l("Please enter a colour as #rrggbb, for example #1f4e79.")
COLOUR_HINT = _l("As #rrggbb. Leave empty to use the theme's colour.")
IMAGE_TYPES = "image/png,image/jpeg,image/webp,image/svg+xml,.svg"


def _http_link(form, field) -> None:
    if field.data and not valid_link(field.data.strip()):
        raise ValidationError(_l("Please enter an address that starts with https:// or http://."))


def _colour_field(label):
    return StringField(
        label,
        validators=[Optional(), Regexp(COLOUR.pattern, message=COLOUR_MESSAGE)],
        description=COLOUR_HINT,
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        render_kw={"maxlength": 7, "spellcheck": "false", "autocomplete": "off"},
    )


def _image_field(label, description):
    return FileField(label, description=description, render_kw={"accept": IMAGE_TYPES})


def _welcome_field(label):
    return TextAreaField(
        label,
        validators=[Optional(), Length(max=MAX_TEXT)],
        description=_l("Shown on their dashboard instead of the general welcome text."),
        render_kw={"rows": 3},
    )


class LocaleTextsForm(Form):
    """The tenant's texts in one language (a part of :class:`BrandingForm`, no CSRF of its own)."""

    welcome = TextAreaField(
        _l("Welcome text on the dashboard"),
        validators=[Optional(), Length(max=MAX_TEXT)],
        description=_l("For everyone who has no welcome text of their own below."),
        render_kw={"rows": 3},
    )
    welcome_clients = _welcome_field(_l("Welcome text for clients"))
    welcome_suppliers = _welcome_field(_l("Welcome text for suppliers"))
    welcome_staff = _welcome_field(_l("Welcome text for your staff"))
    login = TextAreaField(
        _l("Text on the login page"),
        validators=[Optional(), Length(max=MAX_TEXT)],
        render_kw={"rows": 3},
    )
    footer = TextAreaField(
        _l("Footer text"), validators=[Optional(), Length(max=MAX_TEXT)], render_kw={"rows": 2}
    )
    help_url = URLField(
        _l("Help link"),
        validators=[Optional(), Length(max=500), _http_link],
        description=_l("Shown in the footer. An address that starts with https:// or http://."),
    )
    # No Optional() here: it would end the check that a link has a label.
    help_label = StringField(_l("Label of the help link"), validators=[Length(max=80)])

    def validate_help_label(self, field) -> None:
        if (self.help_url.data or "").strip() and not (field.data or "").strip():
            raise ValidationError(_l("Please enter a label for the help link."))


class BrandingForm(FlaskForm):
    """Theme, title, colours, logo and favicon; :func:`branding_form` adds the texts."""

    theme = RadioField(_l("Theme"), validators=[DataRequired()])
    title = StringField(
        _l("Portal title"),
        validators=[Optional(), Length(max=MAX_TITLE)],
        description=_l(
            "Shown in the header and the browser tab. Leave empty to use the company name."
        ),
    )
    primary = _colour_field(_l("Primary colour"))
    primary_text = _colour_field(_l("Text colour on primary colour"))
    accent = _colour_field(_l("Accent colour"))
    logo = _image_field(
        _l("Logo"),
        _l(
            "PNG, JPEG, WebP or SVG, at most %(mb)d MB and %(px)d pixels wide and high.",
            mb=MAX_UPLOAD_BYTES // 1024 // 1024,
            px=MAX_SIDE,
        ),
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    favicon = _image_field(
        _l("Favicon"),
        _l(
            "The small icon of the browser tab. PNG, JPEG, WebP or SVG, at most %(mb)d MB; it is made a square of 64 pixels.",
            mb=MAX_UPLOAD_BYTES // 1024 // 1024,
        ),
    )
    remove_favicon = BooleanField(_l("Remove the favicon"))

    def text_forms(self) -> list[tuple[str, FormField]]:
        """Return ``(locale, texts)`` for each language the form offers."""
        return [
            (name.removeprefix("texts_"), field)
            for name, field in self._fields.items()
            if name.startswith("texts_")
        ]


def branding_form(locales: list[str]) -> type[BrandingForm]:
    """Return a :class:`BrandingForm` class with a text section for each of ``locales``."""

    class TenantBrandingForm(BrandingForm):
        pass

    for code in locales:
        setattr(
            TenantBrandingForm, f"texts_{code}", FormField(LocaleTextsForm, label=locale_name(code))
        )
    return TenantBrandingForm


class DomainForm(SubmissionTokenMixin, FlaskForm):
    """Add a custom domain."""

    domain = StringField(
        _l("Domain"),
        validators=[DataRequired(), Length(max=253)],
        description=_l(
            "For example portal.example.com. It serves the portal once you have proved that "
            "it is yours; the steps are shown after you add it."
        ),
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )


class RemoveDomainForm(FlaskForm):
    """Remove one custom domain (the button of each row)."""

    domain = StringField(validators=[DataRequired(), Length(max=253)])


class CheckDomainForm(FlaskForm):
    """Check one pending or failed custom domain now (the button of each row)."""

    domain = StringField(validators=[DataRequired(), Length(max=253)])


class ResetForm(FlaskForm):
    """Reset the branding to the defaults, with a confirmation that must be ticked."""

    confirm = BooleanField(
        _l("Yes, remove all branding: theme, title, colours, texts, logo and favicon."),
        validators=[DataRequired(message=_l("Please tick the box to confirm the reset."))],
    )
