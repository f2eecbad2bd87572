"""The vectorised real-time core: pure numpy/scipy.

No Qt, bleak, asyncio, files or clock reads here: every function takes arrays (RR in ms,
beat times in s) and returns arrays, so the same code analyses a whole recording and
updates the live stream.
"""
