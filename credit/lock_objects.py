from django.db.models import QuerySet

from credit.models import CreditLine


def credit_line_qs_for_update() -> QuerySet[CreditLine]:
    return CreditLine.objects.select_for_update()
