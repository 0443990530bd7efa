"""Django validators wrapping the pure identifier checks."""

from django.core.exceptions import ValidationError

from registry.identifiers import InvalidIdentifier, uscc_normalize


def validate_uscc(value: str) -> None:
    try:
        normalised = uscc_normalize(value)
    except InvalidIdentifier as exc:
        raise ValidationError(str(exc), code=exc.code) from None
    if normalised != value:
        raise ValidationError("Store the code normalised: %(code)s", params={"code": normalised}, code="uscc_normalise")
