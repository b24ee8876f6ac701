"""The one exception root of yprov-workflows and its specific subclasses.

Messages name the object at fault and the fix, so a user can act on the one line they see.
"""

from __future__ import annotations


class YProvError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(YProvError):
    """A setting has a value we cannot use."""


class JournalError(YProvError):
    """A run journal cannot be read: missing, corrupt in the middle, or of an unknown version."""


class DocumentError(YProvError):
    """A provenance document cannot be read: not a file, not JSON, or not a PROV-JSON object."""


class RecordingError(YProvError):
    """Recording provenance failed. Raised only in strict mode; otherwise it becomes a warning."""
