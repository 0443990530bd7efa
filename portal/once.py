"""Forms that move money are acted on once: a double click or a resent POST does nothing the second time.

Each such form carries a fresh random key (a hidden field). The view records the key in the same transaction as the
service call, in the table the API uses for Idempotency-Key (scope "web:user:<id>"); its unique constraint makes a
second submission, even a concurrent one, fail before anything happens. A refused or failed attempt rolls the key
back with everything else, so the person can correct the form and send it again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

from django import forms
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from common.models import IdempotencyRecord

_KEY = re.compile(r"^[0-9a-f]{32}$")


class AlreadySubmitted(Exception):
    """This form (its key) has already been acted on."""


class OnceFormMixin(forms.Form):
    form_key = forms.CharField(widget=forms.HiddenInput, initial=lambda: uuid4().hex)

    def clean_form_key(self) -> str:
        key = self.cleaned_data["form_key"]
        if not _KEY.match(key):
            raise forms.ValidationError(_("The form has expired: open the page again."), code="bad_form_key")
        return key


@contextmanager
def acted_on_once(*, user_id: int, key: str) -> Iterator[None]:
    """Run the body in one transaction together with recording `key`; AlreadySubmitted if it was recorded before."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    scope=f"web:user:{user_id}", key=key, request_hash="web-form", response_status=303
                )
        except IntegrityError as exc:
            raise AlreadySubmitted from exc
        yield
