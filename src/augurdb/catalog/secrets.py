"""Secrets at rest: integration and ML engine parameters encrypted whole, and the secret values
among a model's USING options (api_token, headers, ...) encrypted one by one, so the catalog file
alone reveals no password.

The key is the secret_key setting (AUGURDB_SECRET_KEY, a Fernet key) when set, so it can live
outside the data directory; otherwise a key file made once in the data directory, readable by
its owner only.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

KEY_FILE = "secret.key"
MASK = "******"
# Option names whose values are secrets; `headers` whole, since it carries Authorization.
SECRET_OPTION = re.compile(r"password|secret|token|api_key|private_key|credential|headers", re.IGNORECASE)
_SEALED = "sealed"


class SecretBox:
    """Encrypts and decrypts integration parameters with one key."""

    def __init__(self, key: bytes):
        # Imported on first use: it costs a tenth of the server's start.
        from cryptography.fernet import Fernet

        self._fernet = Fernet(key)

    @classmethod
    def for_data_dir(cls, data_dir: Path, key: str | None = None) -> SecretBox:
        if key:
            return cls(key.encode())
        path = data_dir / KEY_FILE
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                from cryptography.fernet import Fernet

                f.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, parameters: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(parameters).encode()).decode()

    def open(self, sealed: str) -> dict[str, Any]:
        from cryptography.fernet import InvalidToken

        try:
            return dict(json.loads(self._fernet.decrypt(sealed.encode())))
        except InvalidToken:
            raise ValueError("the integration parameters cannot be decrypted: the secret key "
                             "(AUGURDB_SECRET_KEY or secret.key in the data directory) has changed") from None


def is_secret(option: str) -> bool:
    return bool(SECRET_OPTION.search(option))


def seal_secret_options(options: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    """USING options with each secret value replaced by {"sealed": <ciphertext>}."""
    return {k: ({_SEALED: box.seal({"value": v})} if is_secret(k) and v not in (None, "") and not _is_sealed(v)
                else v) for k, v in options.items()}


def open_secret_options(options: dict[str, Any], box: SecretBox) -> dict[str, Any]:
    return {k: (box.open(v[_SEALED])["value"] if _is_sealed(v) else v) for k, v in options.items()}


def _is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {_SEALED}


def masked(parameters: dict[str, Any], secrets: frozenset[str]) -> dict[str, Any]:
    """Parameters as shown to users: secret values replaced by ******."""
    return {k: (MASK if k.lower() in secrets and v not in (None, "") else v) for k, v in parameters.items()}
