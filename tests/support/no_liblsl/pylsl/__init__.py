"""Stands in for pylsl on a platform without a bundled liblsl (put its folder on PYTHONPATH).

pylsl raises exactly this when it finds no liblsl binary for the platform.
"""

raise RuntimeError(
    "LSL binary library file was not found. Please make sure that the binary file can be "
    "found in the package lib folder or specify the PYLSL_LIB environment variable."
)
