"""The session library (SQLite) and file formats.

Modules: ``paths`` (where the library is), ``migrations`` (schema), ``library`` (the
``Library`` API), ``locks`` (live-recording locks), ``recorder`` (write as you go),
``rr_files`` (RR file readers), ``exports`` (CSV, Kubios RR, EDF+), ``json_format`` (whole
session JSON), ``imports`` (an RR file becomes a session).
"""
