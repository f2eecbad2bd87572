"""The root of the app's exception hierarchy.

It lives in the core, the innermost layer, so that the core can raise it without importing
the rest of the app; :mod:`trm_bio.errors` re-exports it beside the app's own errors.
"""


class TrmBioError(Exception):
    """Base of every error the app reports to a person (CLI or window) as a sentence."""
