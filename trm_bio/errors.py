"""The app's exception hierarchy. Each message is one sentence a user can act on."""

from trm_bio.core.errors import TrmBioError

__all__ = ["InputFileError", "LibraryError", "TrmBioError"]


class InputFileError(TrmBioError):
    """A file given to import or analyse is missing, empty, binary, ambiguous or nonsense."""


class LibraryError(TrmBioError):
    """The session library cannot be opened, is not ours, is too new, corrupt, or not writable."""
