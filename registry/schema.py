"""OpenAPI description of the bank API-key authentication (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BankApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "registry.authentication.BankApiKeyAuthentication"
    name = "BankApiKey"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Bank systems: `Authorization: Api-Key <key>` (keys are issued by the platform).",
        }
