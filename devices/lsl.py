"""Lab Streaming Layer (LSL): heartbeats from a stream another program or computer publishes.

:class:`LslSource` is a :class:`~devices.source.Source` fed by an LSL stream instead of a
strap, so a strap connected to one computer can feed a session on another. It resolves the
stream by name or type, keeps the inlet on its own thread, says ``RECONNECTING`` when the
stream goes away, finds it again when it comes back, and emits real 0x2A37 packets, so
the session downstream cannot tell it from a strap.

Two kinds of stream are understood:

* ``HeartRateMeasurement`` (what trm-bio publishes, see ``trm_bio.lsl_outlets``): one
  string sample per strap packet, PMD frame (a Polar strap's ECG or accelerometer) or link
  change, JSON ``{"t_ns": ..., "hrm": "<hex>"}``, ``{"t_ns": ..., "pmd": "<hex>"}`` or
  ``{"t_ns": ..., "state": ...}``, where ``t_ns`` is the host arrival time in ns from the
  publisher's session start. The stream's ``desc/trm_bio/session_start_lsl`` is that start
  on the publisher's LSL clock. The source re-emits the very same bytes and link changes at
  ``origin_ns + t_ns``, where :attr:`LslSource.origin_ns` is the publisher's session start
  on this host's monotonic clock; a session started at ``origin_ns`` therefore times its
  beats and computes its metrics exactly as the publisher did (bit for bit).
* Any numeric RR stream (type ``RR``/``IBI``, or a heart-rate stream with a channel
  labelled ``RR``; unit ms, or s when the channel says so): one beat per sample, the LSL
  timestamp being the beat's time. Each beat becomes one packet arriving at that time with
  the RR in the strap's 1/1024 s units (RR already on that grid, such as trm-bio's own ``RR``
  stream, pass unchanged).

Clocks: LSL timestamps are on the sender's ``local_clock()``; ``inlet.time_correction()``
(estimated when the inlet opens) moves them onto this host's LSL clock, and a fixed offset
measured once moves that onto ``time.monotonic_ns()``, the host clock of every packet. Host
times of forwarded items never go backwards: a publisher that restarts with an earlier clock
(a faster-than-real-time simulation) is placed just after what was already received.

liblsl reads its configuration (``LSLAPICFG``) when it loads, so ``pylsl`` is imported lazily
here. pylsl bundles liblsl for Linux x86_64; where it cannot load, :func:`lsl_available` is
False and :func:`lsl_unavailable_reason` says why in one sentence.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devices.errors import DeviceError, DeviceNotFoundError, MalformedPacketError
from devices.hrm import encode_hrm, packet_from_payload, rr_ms_to_raw
from devices.packet import LinkState, Packet, StatusEvent
from devices.source import ThreadedSource

log = logging.getLogger(__name__)

HRM_STREAM_TYPE = "HeartRateMeasurement"
RR_STREAM_TYPES = ("RR", "IBI")
#: Which stream to take when a name matches several (one publisher, several streams).
_PREFERENCE = (HRM_STREAM_TYPE, *RR_STREAM_TYPES)
_RR_LABELS = ("rr", "rri", "ibi", "rr_ms", "rr interval")
_HR_LABELS = ("hr", "heartrate", "heart rate", "hr_bpm")
_POLL_S = 0.2  # how long a pull waits, so stop() is heard within this
_COLLECT_S = 1.0  # after a first hit, how long to wait for a better sibling stream


class LslUnavailableError(DeviceError):
    """liblsl could not be loaded on this computer."""


_unavailable_reason: str | None = None
_checked = False


def load_pylsl() -> Any:
    """The pylsl module, or :class:`LslUnavailableError` with one sentence."""
    global _unavailable_reason, _checked
    try:
        import pylsl
    except (ImportError, OSError, RuntimeError) as exc:
        _checked = True
        _unavailable_reason = (
            "Lab Streaming Layer is not available on this computer "
            f"(pylsl or its liblsl library could not be loaded: {exc})."
        )
        raise LslUnavailableError(_unavailable_reason) from exc
    _checked = True
    return pylsl


def lsl_available() -> bool:
    """True when pylsl and its liblsl library load on this computer."""
    try:
        load_pylsl()
    except LslUnavailableError:
        return False
    return True


def lsl_unavailable_reason() -> str | None:
    """One sentence saying why LSL cannot be used here, or None when it can."""
    return None if lsl_available() else _unavailable_reason


#: Added to liblsl's configuration to keep its INFO lines off stderr (loguru: 0 is INFO,
#: -1 WARNING), so warnings and errors still show.
_QUIET_LOG_SECTION = "[log]\nlevel = -1\n"


def quiet_liblsl_startup() -> None:
    """Keep liblsl's INFO lines ("Loaded default config") off stderr; its warnings still show.

    Call after :func:`load_pylsl` and before any other LSL call: liblsl reads its
    configuration once, on first use. The configuration liblsl would have read is passed on
    unchanged plus a ``[log]`` section, in memory (nothing is written to disk). Left as it is:
    a configuration with its own ``[log]`` section (the user chose), one that cannot be read
    here (liblsl says why), and a pylsl or liblsl without in-memory configuration.
    """
    pylsl = load_pylsl()
    content = _liblsl_config_text()
    if content is None or re.search(r"^\s*\[log\]", content, re.MULTILINE):
        return
    try:
        # In-memory content replaces liblsl's file search, hence the file's text above.
        pylsl.set_config_content(f"{content}\n{_QUIET_LOG_SECTION}")
    except (AttributeError, NotImplementedError):
        return  # a pylsl or liblsl without in-memory configuration: the line stays


def _liblsl_config_text() -> str | None:
    """Text of the configuration file liblsl would load ("" for its defaults), or None.

    liblsl's search order: ``LSLAPICFG``, ``lsl_api.cfg`` in the working folder,
    ``~/lsl_api/lsl_api.cfg``, ``/etc/lsl_api/lsl_api.cfg``; the first readable one wins.
    None when ``LSLAPICFG`` names a file that cannot be read, or the file is not UTF-8.
    """
    named = os.environ.get("LSLAPICFG")
    candidates = [Path(named)] if named else []
    candidates += [
        Path("lsl_api.cfg"),
        Path(os.path.expanduser("~/lsl_api/lsl_api.cfg")),
        Path("/etc/lsl_api/lsl_api.cfg"),
    ]
    for index, path in enumerate(candidates):
        try:
            data = path.read_bytes()
        except OSError:
            if named and index == 0:
                return None  # liblsl reports the missing file itself
            continue
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return ""


def lsl_offset_ns() -> int:
    """``time.monotonic_ns()`` minus the LSL ``local_clock()`` (ns), measured now.

    Takes the reading whose two clock reads were closest together.
    """
    local_clock = load_pylsl().local_clock
    best: tuple[int, int] | None = None
    for _ in range(5):
        before = time.monotonic_ns()
        lsl_ns = round(local_clock() * 1e9)
        after = time.monotonic_ns()
        reading = (after - before, (before + after) // 2 - lsl_ns)
        if best is None or reading[0] < best[0]:
            best = reading
    assert best is not None
    return best[1]


@dataclass(frozen=True)
class LslStream:
    """What a resolved stream says about itself (enough to list it and choose it)."""

    name: str
    type: str
    channel_count: int
    nominal_srate_hz: float
    channel_format: str
    source_id: str
    hostname: str
    uid: str

    @classmethod
    def from_info(cls, info: Any) -> LslStream:
        formats = {1: "float32", 2: "double64", 3: "string", 4: "int32", 5: "int16", 6: "int8"}
        fmt = info.channel_format()
        return cls(
            name=info.name(),
            type=info.type(),
            channel_count=info.channel_count(),
            nominal_srate_hz=info.nominal_srate(),
            channel_format=formats.get(fmt, str(fmt)),
            source_id=info.source_id(),
            hostname=info.hostname(),
            uid=info.uid(),
        )


def _check_query(text: str) -> str:
    if "'" in text or not text.strip():
        raise DeviceError(
            f"An LSL stream name or type cannot be empty or contain quotes: {text!r}."
        )
    return text


def find_streams(wait_s: float = 1.0, query: str | None = None) -> list[LslStream]:
    """LSL streams in reach, optionally only those whose name or type is ``query``.

    Parameters
    ----------
    wait_s : float
        How long to listen for answers (s).
    query : str, optional
        A stream name or type.
    """
    pylsl = load_pylsl()
    if query is None:
        infos = pylsl.resolve_streams(wait_time=wait_s)
    else:
        q = _check_query(query)
        infos = pylsl.resolve_bypred(f"name='{q}' or type='{q}'", 0, wait_s)
    streams = [LslStream.from_info(info) for info in infos]
    return sorted(set(streams), key=lambda s: (s.name, s.type, s.source_id, s.uid))


def _channels(info: Any) -> list[tuple[str, str]]:
    """(label, unit) of each channel, from the stream's full description."""
    out: list[tuple[str, str]] = []
    channel = info.desc().child("channels").child("channel")
    while not channel.empty() and len(out) < info.channel_count():
        out.append((channel.child_value("label"), channel.child_value("unit")))
        channel = channel.next_sibling("channel")
    return out


def _rank(info: Any) -> int | None:
    """Preference of a resolved stream as a heartbeat source (lower first; None: unusable)."""
    kind = info.type()
    if kind in _PREFERENCE:
        return _PREFERENCE.index(kind)
    if info.channel_format() != 3 and info.channel_count() >= 1:
        return len(_PREFERENCE)  # maybe a heart-rate stream with an RR channel: checked on open
    return None


class LslSource(ThreadedSource):
    """Heartbeats from an LSL stream (see module doc).

    Parameters
    ----------
    query : str
        The stream's name, or its type (``HeartRateMeasurement``, ``RR``...).
    source_id : str, optional
        Id on every item; default ``"lsl:<query>"``.
    resolve_timeout_s : float
        How long :meth:`resolve` waits for the stream (s).
    reconnect_timeout_s : float or None
        How long to look for a lost stream before giving up (s); None: until stopped.
    """

    def __init__(
        self,
        query: str,
        *,
        source_id: str | None = None,
        resolve_timeout_s: float = 30.0,
        reconnect_timeout_s: float | None = None,
    ) -> None:
        super().__init__(source_id or f"lsl:{query}")
        self.query = _check_query(query)
        self.resolve_timeout_s = float(resolve_timeout_s)
        self.reconnect_timeout_s = reconnect_timeout_s
        self.stream: LslStream | None = None
        self.origin_ns: int | None = None  # publisher's session start on this host's clock
        self.error: DeviceError | None = None
        self._inlet: Any = None
        self._exact = False
        self._rr_channel = 0
        self._hr_channel: int | None = None
        self._rr_scale = 1.0
        self._time_correction_s = 0.0
        self._offset_ns = 0
        self._last_data_ns: int | None = None
        self._resolver: Any = None
        self._lost_uids: set[str] = set()  # streams that went away (the resolver may lag)

    # -- resolving ------------------------------------------------------------------------
    def resolve(self, timeout_s: float | None = None) -> LslStream:
        """Find the stream and open its inlet (blocking); returns what was found.

        Raises
        ------
        DeviceNotFoundError
            When no usable stream answers within ``timeout_s`` (default ``resolve_timeout_s``).
        LslUnavailableError
            When liblsl cannot be loaded.
        """
        timeout = self.resolve_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout
        while True:
            if self._try_open(min(1.0, max(0.05, deadline - time.monotonic()))):
                assert self.stream is not None
                return self.stream
            if time.monotonic() >= deadline or self._stop_event.is_set():
                raise DeviceNotFoundError(
                    f"No LSL stream named or typed {self.query!r} with heartbeats answered "
                    f"within {timeout:g} s; check `trm-bio lsl list`."
                )

    def _try_open(self, wait_s: float) -> bool:
        """Open the best stream in reach, looking for up to ``wait_s`` (s); False if none."""
        pylsl = load_pylsl()
        if self._resolver is None:
            # Keeps listening in the background, so a returning stream is seen at once.
            predicate = f"name='{self.query}' or type='{self.query}'"
            self._resolver = pylsl.ContinuousResolver(pred=predicate, forget_after=2.0)
        deadline = time.monotonic() + wait_s
        first_seen: float | None = None
        while True:
            ranked = sorted(
                (rank, i, info)
                for i, info in enumerate(self._resolver.results())
                if (rank := _rank(info)) is not None and info.uid() not in self._lost_uids
            )
            now = time.monotonic()
            if ranked:
                if first_seen is None:
                    first_seen = now
                # One publisher offers several streams under one name and they answer one by
                # one: take the exact packet stream at once, a lesser one after a short wait.
                if ranked[0][0] == 0 or now - first_seen >= _COLLECT_S:
                    return any(self._open(info) for _, _, info in ranked)
            elif now >= deadline:
                return False
            if self._stop_event.wait(0.02):
                return False

    def _open(self, info: Any) -> bool:
        pylsl = load_pylsl()
        inlet = pylsl.StreamInlet(info, max_buflen=360, recover=False)
        try:
            inlet.open_stream(timeout=5.0)
            full = inlet.info(timeout=5.0)
            exact = full.type() == HRM_STREAM_TYPE and full.channel_format() == 3
            if not exact and not self._choose_channels(full):
                inlet.close_stream()
                return False
            self._time_correction_s = inlet.time_correction(timeout=5.0)
        except Exception as exc:  # pylsl raises TimeoutError / LostError / RuntimeError
            log.info("could not open LSL stream %s: %s", info.name(), exc)
            return False
        self._offset_ns = lsl_offset_ns()
        self._inlet = inlet
        self._exact = exact
        self.stream = LslStream.from_info(full)
        self.origin_ns = None
        if exact:
            start_text = full.desc().child("trm_bio").child_value("session_start_lsl")
            try:
                start_lsl = float(start_text)
            except ValueError:
                log.warning("LSL stream %s has no session start; timing from now", info.name())
                start_lsl = pylsl.local_clock()
            origin = self._host_ns(start_lsl)
            if self._last_data_ns is not None and origin <= self._last_data_ns:
                origin = self._last_data_ns + 1  # never before what was already received
            self.origin_ns = origin
        return True

    def _choose_channels(self, info: Any) -> bool:
        """Find the RR (and heart-rate) channel of a numeric stream; False if it has none."""
        if info.channel_format() == 3:
            return False
        channels = _channels(info)
        labels = [label.strip().lower() for label, _ in channels]
        rr = next((i for i, label in enumerate(labels) if label in _RR_LABELS), None)
        if rr is None and info.type() in RR_STREAM_TYPES and info.channel_count() == 1:
            rr = 0
        if rr is None:
            return False
        self._rr_channel = rr
        self._hr_channel = next((i for i, label in enumerate(labels) if label in _HR_LABELS), None)
        unit = channels[rr][1].strip().lower() if rr < len(channels) else ""
        self._rr_scale = 1000.0 if unit in ("s", "sec", "second", "seconds") else 1.0
        return True

    def _host_ns(self, remote_lsl_s: float) -> int:
        """Host monotonic time (ns) of a time on the publisher's LSL clock (s)."""
        return round((remote_lsl_s + self._time_correction_s) * 1e9) + self._offset_ns

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Start receiving on a new thread (resolving first if :meth:`resolve` was not called)."""
        if self._thread is None:
            load_pylsl()
            self._start_thread(self._run)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop receiving, close the inlet and join the thread."""
        never_started = self._thread is None
        super().stop(timeout_s)
        if never_started:
            self._close_inlet()  # resolve() may have opened one

    def _close_inlet(self) -> None:
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            try:
                inlet.close_stream()
            except Exception:  # already lost
                log.debug("closing a lost inlet", exc_info=True)

    def _status(self, state: LinkState, message: str = "") -> None:
        now_ns = time.monotonic_ns()
        if self._last_data_ns is not None:
            now_ns = max(now_ns, self._last_data_ns + 1)  # after every item already given
        self._set_state(state, message, host_ns=now_ns)

    def _run(self) -> None:
        pylsl = load_pylsl()
        self._status(LinkState.CONNECTING, f"Looking for the LSL stream {self.query!r}.")
        lost_at: float | None = None
        announce = True  # say STREAMING once the inlet is open (it may be open already)
        try:
            while not self._stop_event.is_set():
                if self._inlet is None:
                    if not self._try_open(_POLL_S):
                        if (
                            lost_at is not None
                            and self.reconnect_timeout_s is not None
                            and time.monotonic() - lost_at > self.reconnect_timeout_s
                        ):
                            self._status(
                                LinkState.DISCONNECTED,
                                f"The LSL stream {self.query!r} did not come back.",
                            )
                            return
                        continue
                    announce = True
                if announce:
                    assert self.stream is not None
                    announce = False
                    lost_at = None
                    self._status(
                        LinkState.STREAMING,
                        f"Receiving LSL stream {self.stream.name!r} ({self.stream.type}) "
                        f"from {self.stream.hostname}.",
                    )
                try:
                    samples, stamps = self._inlet.pull_chunk(timeout=_POLL_S)
                except pylsl.util.LostError:
                    if self.stream is not None:
                        self._lost_uids.add(self.stream.uid)
                    self._close_inlet()
                    lost_at = time.monotonic()
                    self._status(
                        LinkState.RECONNECTING,
                        f"The LSL stream {self.query!r} went away; waiting for it to return.",
                    )
                    continue
                for sample, stamp in zip(samples, stamps, strict=True):
                    self._on_sample(sample, stamp)
        except Exception as exc:  # the thread must not die silently
            log.exception("The LSL inlet failed.")
            self.error = DeviceError(f"The LSL inlet failed: {exc}.")
            self._status(LinkState.FAILED, str(self.error))
            return
        finally:
            self._close_inlet()
            self._resolver = None
        self._status(LinkState.DISCONNECTED, "The LSL inlet was stopped.")

    # -- samples -------------------------------------------------------------------------------
    def _on_sample(self, sample: list[Any], stamp: float) -> None:
        if self._exact:
            self._on_record(str(sample[0]))
            return
        rr_ms = float(sample[self._rr_channel]) * self._rr_scale
        if not rr_ms > 0 or rr_ms != rr_ms:
            return  # a heart-rate stream sample without a beat
        raw = rr_ms_to_raw(rr_ms)
        if self._hr_channel is not None and float(sample[self._hr_channel]) > 0:
            hr_bpm = round(float(sample[self._hr_channel]))
        else:
            hr_bpm = round(60_000.0 / rr_ms)
        host_ns = self._host_ns(stamp)
        if self._last_data_ns is not None and host_ns <= self._last_data_ns:
            host_ns = self._last_data_ns + 1
        payload = encode_hrm(min(max(hr_bpm, 0), 0xFFFF), [raw])
        self._last_data_ns = host_ns
        self._emit(packet_from_payload(payload, host_ns, self.source_id))

    def _on_record(self, text: str) -> None:
        try:
            record = json.loads(text)
            host_ns = int(self.origin_ns or 0) + int(record["t_ns"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed LSL record: %.80s", text)
            return
        if self._last_data_ns is not None and host_ns < self._last_data_ns:
            host_ns = self._last_data_ns
        self._last_data_ns = host_ns
        if "hrm" in record:
            try:
                packet: Packet = packet_from_payload(
                    bytes.fromhex(record["hrm"]), host_ns, self.source_id
                )
            except (ValueError, MalformedPacketError):
                log.warning("ignored a malformed heart-rate packet from LSL: %.80s", text)
                return
            self._emit(packet)
            return
        if "pmd" in record:
            from devices.pmd import PmdFrame  # numpy: not loaded to build the command line

            try:
                payload = bytes.fromhex(record["pmd"])
            except (ValueError, TypeError):
                log.warning("ignored a malformed PMD frame from LSL: %.80s", text)
                return
            self._put(PmdFrame(host_ns, self.source_id, payload))
            return
        try:
            state = LinkState(record["state"])
        except (KeyError, ValueError):
            log.warning("ignored an LSL record of unknown kind: %.80s", text)
            return
        if record.get("battery") is not None:
            self.battery_percent = int(record["battery"])
        if record.get("location") is not None:
            self.body_location = int(record["location"])
        self.state = state
        self._put(
            StatusEvent(
                host_ns=host_ns,
                source_id=self.source_id,
                state=state,
                message=str(record.get("message", "")),
                battery_percent=self.battery_percent,
                body_location=self.body_location,
            )
        )
