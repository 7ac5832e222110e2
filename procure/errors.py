"""Typed errors raised by the domain and turned into messages once per surface."""

from __future__ import annotations


class ProcureError(Exception):
    """Base of every error procure raises on purpose."""


class InputError(ProcureError):
    """Bad input from a user: a form field, a CLI option or a file.

    The message names where the problem is (file, line or row, field) and what was expected.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.reason = message
        self.source = source
        self.line = line
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = [part for part in (self.source, self.line and f"line {self.line}") if part]
        if self.field:
            where.append(self.field)
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


class WorkspaceBusyError(ProcureError):
    """Another process held the workspace's write lock for too long; nothing was changed."""


class NotFoundError(InputError):
    """A record the user named does not exist."""


class AlreadyImportedError(InputError):
    """The same file (by sha256) was imported before."""


class MissingExchangeRateError(InputError):
    """A report needs to add amounts in a currency that has no exchange rate."""
