"""IAM roles the sandbox knows, for STS AssumeRole: the seeded/vended admin and portal roles
(``ctx.service_state("iam")["roles"][account][name]``) plus any role created through moto's IAM;
and the owners of access keys created through moto's IAM.

No IAM operation is registered here: IAM calls go to moto. Roles the sandbox adds itself are
recorded with the accounts that their trust policy names.
"""
from __future__ import annotations

import sys
from datetime import datetime

from sandbox.core.org_layout import MANAGEMENT_ACCOUNT_ID

ROLE_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
DEFAULT_MAX_SESSION_SECONDS = 3600


def add_role(ctx, account_id: str, role_name: str, *, trusted_accounts=(MANAGEMENT_ACCOUNT_ID,),
             max_session_seconds: int = DEFAULT_MAX_SESSION_SECONDS, created_at: datetime | None = None) -> dict:
    """Create ``role_name`` in ``account_id`` trusting ``trusted_accounts``. It exists from
    ``created_at`` on (default now; an account still being created has no roles yet). Idempotent per name."""
    roles = ctx.service_state("iam").setdefault("roles", {}).setdefault(account_id, {})
    if role_name not in roles:
        created = (created_at or ctx.now()).isoformat()
        roles[role_name] = {
            "RoleName": role_name, "RoleId": ctx.new_id("AROA", 17, ROLE_ID_ALPHABET),
            "Arn": f"arn:aws:iam::{account_id}:role/{role_name}", "CreateDate": created,
            "MaxSessionDuration": max_session_seconds, "TrustedAccounts": list(trusted_accounts),
        }
    return roles[role_name]


def find_role(ctx, account_id: str, role_name: str) -> dict | None:
    """The role ``role_name`` of ``account_id``: the sandbox's own, else one moto's IAM holds."""
    role = ctx.service_state("iam").get("roles", {}).get(account_id, {}).get(role_name)
    if role is None:
        return _moto_role(account_id, role_name)
    return role if datetime.fromisoformat(role["CreateDate"]) <= ctx.now() else None


def _moto_role(account_id: str, role_name: str) -> dict | None:
    """A role created with moto's IAM (CreateRole); its trust policy is not evaluated."""
    if "moto.iam.models" not in sys.modules:   # nobody created an IAM role in this process
        return None
    from moto.iam.models import iam_backends

    if account_id not in iam_backends:
        return None
    for role in iam_backends[account_id]["aws"].get_roles():
        if role.name == role_name:
            return {"RoleName": role.name, "RoleId": role.id, "Arn": role.arn,
                    "MaxSessionDuration": int(role.max_session_duration or DEFAULT_MAX_SESSION_SECONDS),
                    "TrustedAccounts": None}
    return None


def moto_access_key_owner(access_key: str) -> tuple[str, str] | None:
    """(account id, user name) of a long-term key created with moto's IAM ``CreateAccessKey``."""
    if "moto.iam.models" not in sys.modules:
        return None
    from moto.iam.models import iam_backends

    for account_id, backend in list(iam_backends.items()):
        key = backend["aws"].access_keys.get(access_key)
        if key is not None:
            return account_id, key.user_name
    return None
