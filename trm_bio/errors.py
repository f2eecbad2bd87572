"""The app's exception hierarchy. Each message is one sentence a user can act on."""

from trm_bio.core.errors import TrmBioError

__all__ = ["DamagedSessionError", "InputFileError", "LibraryError", "TrmBioError"]


class InputFileError(TrmBioError):
    """A file given to import or analyse is missing, empty, binary, ambiguous or nonsense."""


class LibraryError(TrmBioError):
    """The session library cannot be opened, is not ours, is too new, corrupt, or not writable."""


class DamagedSessionError(LibraryError):
    """A session's rows in the library hold something no trm-bio wrote (damaged or crafted).

    Attributes
    ----------
    session_id : int
        The damaged session.
    reason : str
        What is wrong, naming the field.
    """

    def __init__(self, session_id: int, reason: str) -> None:
        super().__init__(f"session {session_id} is damaged ({reason})")
        self.session_id = session_id
        self.reason = reason
