"""List paging shared by handlers: opaque ``NextToken`` values over a list computed per call."""
from __future__ import annotations

import base64
import binascii

from sandbox.core.errors import AwsError


def encode_token(offset: int, scope: str) -> str:
    return base64.urlsafe_b64encode(f"{scope}|{offset}".encode()).decode()


def decode_token(token: str, scope: str) -> int | None:
    """The offset a token stands for, or None if it is not a token of ``scope``."""
    try:
        token_scope, _, offset = base64.urlsafe_b64decode(token.encode()).decode().rpartition("|")
        return int(offset) if token_scope == scope and int(offset) >= 0 else None
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def page(items: list, token: str | None, max_results: int | None, *, default_max: int, scope: str,
         invalid_token: AwsError) -> tuple[list, str | None]:
    """One page of ``items`` and the token of the next page (None on the last page).

    ``scope`` ties tokens to one listing (e.g. "ListAccounts"): another listing's token is
    refused with ``invalid_token``, as is garbage.
    """
    start = 0
    if token:
        start = decode_token(token, scope)
        if start is None:
            raise invalid_token
    size = max_results or default_max
    chunk = items[start:start + size]
    more = start + size < len(items)
    return chunk, (encode_token(start + size, scope) if more else None)
