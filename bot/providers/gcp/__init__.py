"""Google Cloud: google-auth + REST adapter, checks and connector form (one registry row)."""

from __future__ import annotations

from bot.providers.gcp.credentials import FORM_FIELDS, GcpCredentials, fingerprint
from bot.providers.spec import EndpointSetting, ProviderSpec


def raw_credentials(text: str) -> dict[str, str]:
    """A credentials file is the service-account key file itself, as downloaded."""
    return {"service_account_json": text}


SPEC = ProviderSpec(
    name="gcp",
    display_name="Google Cloud",
    adapter_module="bot.providers.gcp.adapter",
    checks_package="bot.providers.gcp.checks",
    credentials_type=GcpCredentials,
    form_fields=FORM_FIELDS,
    fingerprint=fingerprint,
    validation_call="a Google token refresh and a project read",
    credentials_file="the service-account key file as downloaded",
    raw_credentials=raw_credentials,
    endpoints=(
        EndpointSetting(
            "gcp_token_uri",
            "CSPM_GCP_TOKEN_URI",
            "https://oauth2.googleapis.com/token",
            "Google token endpoint; a key file's own `token_uri` is ignored",
        ),
        EndpointSetting(
            "gcp_api_base",
            "CSPM_GCP_API_BASE",
            "https://cloudresourcemanager.googleapis.com",
            "Resource Manager API",
        ),
        EndpointSetting(
            "gcp_compute_base",
            "CSPM_GCP_COMPUTE_BASE",
            "https://compute.googleapis.com",
            "Compute Engine API",
        ),
        EndpointSetting(
            "gcp_storage_base",
            "CSPM_GCP_STORAGE_BASE",
            "https://storage.googleapis.com",
            "Cloud Storage API",
        ),
        EndpointSetting(
            "gcp_iam_base",
            "CSPM_GCP_IAM_BASE",
            None,
            "IAM API (derived from the API base when unset)",
        ),
        EndpointSetting(
            "gcp_sqladmin_base",
            "CSPM_GCP_SQLADMIN_BASE",
            None,
            "Cloud SQL Admin API (derived from the API base when unset)",
        ),
        EndpointSetting(
            "gcp_logging_base",
            "CSPM_GCP_LOGGING_BASE",
            None,
            "Cloud Logging API (derived from the API base when unset)",
        ),
        EndpointSetting(
            "gcp_kms_base",
            "CSPM_GCP_KMS_BASE",
            None,
            "Cloud KMS API (derived from the API base when unset)",
        ),
    ),
    discovery="the projects the service account can list (Resource Manager projects.search)",
)
