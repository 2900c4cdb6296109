"""The exception tree of valueloop.

Every error the platform raises derives from :class:`ValueloopError`, with one subclass per layer:

- :class:`ConfigError`: a site.yaml or option is wrong; the message names the field and line.
- :class:`DataError`: a data file or batch does not have the expected shape.
- :class:`ConnectorError`: a field connector cannot read its source.
- :class:`StoreError`: the time-series store refused or failed an operation.
- :class:`ModelError`: an analytics model cannot be fitted or used.
- :class:`OptimizeError`: an optimiser found no plan or was given a bad problem.
- :class:`ActionError`: a work order transition is not allowed; :class:`LimitError`, a
  set-point change outside its limits.
- :class:`AuthError`: a token is missing, unknown or lacks the role.

Third-party exceptions are converted where they enter (``raise ... from err``).
"""


class ValueloopError(Exception):
    """Root of all valueloop errors."""


class ConfigError(ValueloopError):
    """A configuration file or option is invalid."""


class DataError(ValueloopError):
    """A data file or batch does not have the expected schema or content."""


class ConnectorError(ValueloopError):
    """A connector cannot read from or write to its field source."""


class StoreError(ValueloopError):
    """The time-series store failed or refused an operation."""


class ModelError(ValueloopError):
    """An analytics model cannot be fitted, loaded or used."""


class OptimizeError(ValueloopError):
    """An optimiser was given a bad problem or found no plan."""


class ActionError(ValueloopError):
    """A proposal or work order cannot make the requested transition."""


class LimitError(ActionError):
    """A proposed set-point change breaks one of its limits; the message names the limit."""


class AuthError(ValueloopError):
    """Authentication or authorisation failed."""


class ForbiddenError(AuthError):
    """The caller is known but may not do this (a role too low, a proposer approving their own)."""
