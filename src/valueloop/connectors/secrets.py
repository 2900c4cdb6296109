"""Connector passwords kept out of site.yaml: read from an environment variable or a private file.

A connector that logs in (MQTT, Sparkplug, OPC UA) takes its password in one of three ways, at
most one of them: ``password_env`` names an environment variable holding it, ``password_file``
a file holding it (readable by its owner only: ``chmod 600``; one trailing line break is
dropped), and ``password`` holds it in site.yaml itself (discouraged: the file is copied into the
data directory and is often shared). The variable or file is read by :func:`resolve_secret` when
the connector starts (MQTT, Sparkplug) or opens a session (OPC UA), not when site.yaml is
validated, so the site can be checked where the secret is not kept. No error message ever
includes a password.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Annotated, Protocol

from pydantic import Field, SecretStr

from valueloop.errors import ConnectorError

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
"""The name of an environment variable: letters, digits and ``_``, not starting with a digit."""


class PasswordSpec(Protocol):
    """A connector spec that may give a password: its name and the three ways to give it."""

    @property
    def name(self) -> str:
        """The connector's name, for error messages."""

    @property
    def password(self) -> SecretStr | None:
        """The password itself, written in site.yaml (discouraged)."""

    @property
    def password_env(self) -> str | None:
        """The environment variable holding the password."""

    @property
    def password_file(self) -> Path | None:
        """The file holding the password."""


def check_one_secret(spec: PasswordSpec) -> None:
    """Refuse a spec giving its password more than one way; ValueError, for a spec's model
    validator."""
    given = [
        name
        for name, value in (
            ("password", spec.password),
            ("password_env", spec.password_env),
            ("password_file", spec.password_file),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise ValueError(
            f"give at most one of password, password_env and password_file (got {', '.join(given)})"
        )


def unsafe_file(path: Path) -> str | None:
    """Why ``path`` cannot hold a secret (it is missing, unreadable, or readable by group or
    others), or None when it can."""
    try:
        mode = path.stat().st_mode
        with path.open("rb"):
            pass
    except FileNotFoundError:
        return f"{path} does not exist"
    except OSError as err:
        return f"cannot read {path} ({err.strerror})"
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return (
            f"{path} is open to group or others (mode {stat.S_IMODE(mode):04o}); "
            f"make it private with chmod 600 {path}"
        )
    return None


def resolve_secret(spec: PasswordSpec) -> str | None:
    """The password of ``spec`` from whichever way it gives one, or None when it gives none.

    Raises ConnectorError naming the variable or file (never its content) when the variable is
    unset or empty, or the file is missing, unreadable, not private or empty.
    """
    connector = spec.name
    if spec.password is not None:
        return spec.password.get_secret_value()
    if spec.password_env is not None:
        value = os.environ.get(spec.password_env, "")
        if not value:
            raise ConnectorError(
                f"connector {connector}: password_env names {spec.password_env}, which is not "
                "set or empty; set it in the environment of the valueloop process"
            )
        return value
    if spec.password_file is None:
        return None
    return _read_secret_file(connector, spec.password_file)


def _read_secret_file(connector: str, path: Path) -> str:
    problem = unsafe_file(path)
    if problem is not None:
        raise ConnectorError(f"connector {connector}: password_file {problem}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConnectorError(
            f"connector {connector}: cannot read password_file {path} ({err.strerror})"
        ) from err
    except UnicodeDecodeError:
        raise ConnectorError(
            f"connector {connector}: password_file {path} is not UTF-8 text"
        ) from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise ConnectorError(f"connector {connector}: password_file {path} is empty")
    return text
