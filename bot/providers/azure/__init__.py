"""Microsoft Azure: Entra ID + ARM REST adapter, checks and connector form (one registry row)."""

from __future__ import annotations

from bot.providers.azure.credentials import FORM_FIELDS, AzureCredentials, fingerprint
from bot.providers.spec import EndpointSetting, ProviderSpec

SPEC = ProviderSpec(
    name="azure",
    display_name="Azure",
    adapter_module="bot.providers.azure.adapter",
    checks_package="bot.providers.azure.checks",
    credentials_type=AzureCredentials,
    form_fields=FORM_FIELDS,
    fingerprint=fingerprint,
    validation_call="an Azure AD token and a subscription read",
    credentials_file='{"tenant_id", "client_id", "client_secret"}',
    endpoints=(
        EndpointSetting(
            "azure_authority_host",
            "CSPM_AZURE_AUTHORITY_HOST",
            "https://login.microsoftonline.com",
            "Entra ID authority (sovereign clouds: e.g. `https://login.microsoftonline.us`)",
        ),
        EndpointSetting(
            "azure_arm_url",
            "CSPM_AZURE_ARM_URL",
            "https://management.azure.com",
            "Azure Resource Manager (e.g. `https://management.usgovcloudapi.net`)",
        ),
    ),
    discovery="every subscription the service principal can read",
)
