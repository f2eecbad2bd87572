"""The app's exception hierarchy. Each message is one sentence a user can act on."""


class TrmBioError(Exception):
    """Base of every error the app reports to a person (CLI or window) as a sentence."""


class InputFileError(TrmBioError):
    """A file given to import or analyse is missing, empty, binary, ambiguous or nonsense."""


class LibraryError(TrmBioError):
    """The session library cannot be opened, is not ours, is too new, corrupt, or not writable."""
