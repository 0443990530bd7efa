from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from valuation import innovation, services
from valuation.methods import Parameters
from valuation.models import (
    InnovationParameterSet,
    InnovationScore,
    ParameterSet,
    Valuation,
    ValuationJob,
    ValuationJobItem,
)
from valuation.points import InnovationParameters


class ValuationJobItemInline(admin.TabularInline):
    model = ValuationJobItem
    extra = 0
    readonly_fields = ("asset", "status", "error_code", "error")
    can_delete = False


@admin.register(ValuationJob)
class ValuationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "scope", "status", "done", "total", "failed_count", "requested_by", "created_at")
    list_filter = ("status", "scope")
    readonly_fields = [f.name for f in ValuationJob._meta.fields]
    inlines = [ValuationJobItemInline]


@admin.register(Valuation)
class ValuationAdmin(admin.ModelAdmin):
    list_display = ("id", "asset", "status", "value", "low", "high", "currency", "method", "computed_at")
    list_filter = ("status", "method", "parameter_set")
    search_fields = ("asset__title", "fingerprint")
    list_select_related = ("asset",)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        # Valuations are immutable: decisions go through the review API and its four-eyes rule.
        return [f.name for f in Valuation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class ParameterSetForm(forms.ModelForm):
    class Meta:
        model = ParameterSet
        fields = ("version", "description", "data")

    def clean(self) -> dict:
        cleaned = super().clean()
        data, version = cleaned.get("data"), cleaned.get("version")
        if isinstance(data, dict) and version:
            try:
                Parameters.from_dict({**data, "version": version})
            except (TypeError, ValueError, KeyError) as exc:
                raise forms.ValidationError(f"These parameters are not valid: {exc}") from None
            cleaned["data"] = {**data, "version": version}
        return cleaned


@admin.register(ParameterSet)
class ParameterSetAdmin(admin.ModelAdmin):
    """Versioned valuation parameters. A set that has been used is frozen: copy it to a new version to change."""

    form = ParameterSetForm
    list_display = ("version", "is_active", "first_used_at", "created_at", "description")
    actions = ["copy_as_new_version", "activate"]

    def get_readonly_fields(self, request: HttpRequest, obj: ParameterSet | None = None) -> list[str]:
        frozen = ["is_active", "created_by", "created_at", "first_used_at"]
        if obj is not None and obj.is_frozen:
            return ["version", "description", "data", *frozen]
        return ["version", *frozen] if obj is not None else frozen

    def save_model(self, request: HttpRequest, obj: ParameterSet, form: forms.ModelForm, change: bool) -> None:
        if change and ParameterSet.objects.filter(pk=obj.pk, first_used_at__isnull=False).exists():
            raise PermissionDenied("This parameter set has been used; copy it to a new version instead.")
        if not change:
            obj.created_by = request.user
        try:
            Parameters.from_dict({**obj.data, "version": obj.version})
        except (TypeError, ValueError, KeyError) as exc:
            raise PermissionDenied(f"These parameters are not valid: {exc}") from None
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request: HttpRequest, obj: ParameterSet | None = None) -> bool:
        return obj is None or not obj.is_frozen

    @admin.action(description="Copy the selected set as a new version", permissions=["add"])
    def copy_as_new_version(self, request: HttpRequest, queryset: QuerySet[ParameterSet]) -> None:
        for source in queryset:
            version = f"{source.version}-{timezone.now():%Y%m%d%H%M%S}"[:32]
            services.parameter_set_create_version(
                source=source, version=version, data=None, actor=request.user.as_actor, user=request.user
            )
            self.message_user(request, f"Created {version}; edit it, then activate it.", messages.SUCCESS)

    @admin.action(description="Activate the selected set for new valuations", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[ParameterSet]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one set to activate.", messages.ERROR)
            return
        parameter_set = services.parameter_set_activate(parameter_set=queryset.get(), actor=request.user.as_actor)
        self.message_user(request, f"{parameter_set.version} is now active.", messages.SUCCESS)


@admin.register(InnovationParameterSet)
class InnovationParameterSetAdmin(admin.ModelAdmin):
    """Versioned innovation-points parameters; frozen once used: copy to a new version, edit, then activate."""

    list_display = ("version", "is_active", "first_used_at", "created_at", "description")
    actions = ["copy_as_new_version", "activate"]

    def save_model(
        self, request: HttpRequest, obj: InnovationParameterSet, form: forms.ModelForm, change: bool
    ) -> None:
        if change and InnovationParameterSet.objects.filter(pk=obj.pk, first_used_at__isnull=False).exists():
            raise PermissionDenied("This parameter set has been used; copy it to a new version instead.")
        try:
            InnovationParameters.from_dict({**obj.data, "version": obj.version})
        except (TypeError, ValueError, KeyError) as exc:
            raise PermissionDenied(f"These parameters are not valid: {exc}") from None
        super().save_model(request, obj, form, change)

    @admin.action(description="Copy the selected set as a new version", permissions=["add"])
    def copy_as_new_version(self, request: HttpRequest, queryset: QuerySet[InnovationParameterSet]) -> None:
        for source in queryset:
            version = f"{source.version}-{timezone.now():%Y%m%d%H%M%S}"[:32]
            innovation.innovation_parameters_create_version(source=source, version=version, actor=request.user.as_actor)
            self.message_user(request, f"Created {version}; edit it, then activate it.", messages.SUCCESS)

    @admin.action(description="Activate the selected set for new scores", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[InnovationParameterSet]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one set to activate.", messages.ERROR)
            return
        chosen = innovation.innovation_parameters_activate(parameter_set=queryset.get(), actor=request.user.as_actor)
        self.message_user(request, f"{chosen.version} is now active.", messages.SUCCESS)

    def get_readonly_fields(self, request: HttpRequest, obj: InnovationParameterSet | None = None) -> list[str]:
        frozen = ["is_active", "created_by", "created_at", "first_used_at"]
        return ["version", "description", "data", *frozen] if obj is not None and obj.is_frozen else frozen


@admin.register(InnovationScore)
class InnovationScoreAdmin(admin.ModelAdmin):
    list_display = ("firm", "year", "stage", "total_points", "tier", "parameter_set", "computed_at")
    list_filter = ("year", "tier", "stage")
    search_fields = ("firm__uscc", "firm__name")
    list_select_related = ("firm", "parameter_set")

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [f.name for f in InnovationScore._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
