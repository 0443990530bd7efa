"""Django validators wrapping the pure identifier checks."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from registry.identifiers import InvalidIdentifier, uscc_normalize


def identifier_message(exc: InvalidIdentifier) -> str:
    """The refusal's sentence in the active language (the identifier checks themselves are pure and English)."""
    if not exc.params:
        return gettext(exc.template)
    params = {key: gettext(value) if key == "what" else value for key, value in exc.params.items()}
    return gettext(exc.template) % params


def validate_uscc(value: str) -> None:
    try:
        normalised = uscc_normalize(value)
    except InvalidIdentifier as exc:
        raise ValidationError(identifier_message(exc), code=exc.code) from None
    if normalised != value:
        raise ValidationError("Store the code normalised: %(code)s", params={"code": normalised}, code="uscc_normalise")
