"""The whole scenario world for Python, with the Rust SDK's shape: `http`,
`metrics`, `log`, `vu`, `data`, `sql`, `check` and `sleep`, for scripts written
for Vespid rather than carried over from Locust.

A Vespid-native script defines functions at its top level instead of a
User class: `default(data)` (one iteration), or the functions named by
`tasks = {"browse": 3, "buy": 1}` (one per iteration, picked by weight by
the host); `init(data)` once per VU, `setup()` once per run (its result,
JSON-encoded, is the `data` the others receive) and `teardown(data)`.
"""
import json as jsonlib
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

from componentize_py_types import Err
from wit_world.imports import data as wit_data
from wit_world.imports import http as wit_http
from wit_world.imports import log as wit_log
from wit_world.imports import metrics as wit_metrics
from wit_world.imports import vu as wit_vu

from . import sql

__all__ = ["http", "metrics", "log", "vu", "data", "sql", "check", "sleep", "HttpError", "Response", "Timings", "Verdict"]

Tags = Optional[Dict[str, str]]
_METHODS = {
    "GET": wit_http.Method_Get(), "HEAD": wit_http.Method_Head(), "POST": wit_http.Method_Post(),
    "PUT": wit_http.Method_Put(), "PATCH": wit_http.Method_Patch(), "DELETE": wit_http.Method_Delete(),
    "OPTIONS": wit_http.Method_Options(),
}


def _tags(tags: Tags) -> List[Tuple[str, str]]:
    return [(str(key), str(value)) for key, value in tags.items()] if tags else []


_KINDS = {
    "Error_Timeout": "timeout", "Error_ConnectionRefused": "connection-refused",
    "Error_ConnectionReset": "connection-reset", "Error_Dns": "dns", "Error_Tls": "tls",
    "Error_InvalidUrl": "invalid-url", "Error_TooManyRedirects": "too-many-redirects", "Error_Other": "other",
    "Error_Denied": "denied",
}


# The Rust SDK's words for each kind (`detail` is the error's own text).
_ERROR_TEXT = {
    "timeout": "request timed out", "connection-refused": "connection refused by {}",
    "connection-reset": "connection reset: {}", "dns": "DNS lookup failed: {}", "tls": "TLS failed: {}",
    "invalid-url": "invalid request: {}", "too-many-redirects": "too many redirects (limit {})",
    "other": "request failed: {}", "denied": "{}",
}


class HttpError(Exception):
    """A request that got no response. `kind`: 'timeout', 'connection-refused',
    'connection-reset', 'dns', 'tls', 'invalid-url', 'too-many-redirects',
    'other' or 'denied' (the run does not grant its origin: `permission`
    names the permission that would)."""

    def __init__(self, error):
        self.kind = _KINDS.get(type(error).__name__, "other")
        detail = getattr(error, "value", None)
        self.permission = getattr(detail, "permission", None)
        super().__init__(_ERROR_TEXT[self.kind].format(getattr(detail, "message", detail)))


@dataclass
class Timings:
    """Phases of a request in milliseconds, as k6 names them."""

    blocked: float
    connecting: float
    tls_handshaking: float
    sending: float
    waiting: float
    receiving: float
    duration: float


class Response:
    def __init__(self, answer):
        self.status: int = answer.status
        self.headers: List[Tuple[str, str]] = answer.headers
        self.body: bytes = answer.body
        self.url: str = answer.url
        t = answer.timings
        self.timings = Timings(t.blocked, t.connecting, t.tls_handshaking, t.sending, t.waiting, t.receiving,
                               t.duration)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> Optional[str]:
        """The value of header `name`, whatever its case (repeated ones joined by ', ')."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ", ".join(values) if values else None

    def json(self):
        return jsonlib.loads(self.body)


class _Http:
    """The host's measured HTTP client: the VU's own connections and cookie jar."""

    def request(self, method: str, url: str, *, headers: Union[Dict[str, str], Sequence[Tuple[str, str]], None] = None,
                body: Union[bytes, str, None] = None, json=None, name: Optional[str] = None, tags: Tags = None,
                timeout_ms: Optional[int] = None, max_redirects: Optional[int] = None,
                expected_statuses: Sequence[Tuple[int, int]] = (), discard_body: bool = False) -> Response:
        """Sends one request; raises HttpError when no response came."""
        request = self._request(method, url, headers, body, json, name, tags, timeout_ms, max_redirects,
                                expected_statuses, discard_body)
        try:
            return Response(wit_http.send(request))
        except Err as failed:
            raise HttpError(failed.value) from None

    def _build(self, method, url, *, headers=None, body=None, json=None, name=None, tags=None, timeout_ms=None,
               max_redirects=None, expected_statuses=(), discard_body=False):
        """`request`'s arguments by name, as a WIT request."""
        return self._request(method, url, headers, body, json, name, tags, timeout_ms, max_redirects,
                             expected_statuses, discard_body)

    def _request(self, method, url, headers, body, json, name, tags, timeout_ms, max_redirects, expected, discard):
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        if json is not None:
            body = jsonlib.dumps(json)
            if not any(key.lower() == "content-type" for key, _ in pairs):
                pairs.append(("Content-Type", "application/json"))
        method = method.upper()
        return wit_http.Request(
            method=_METHODS.get(method) or wit_http.Method_Other(method),
            url=url,
            headers=[(str(key), str(value)) for key, value in pairs],
            body=body.encode() if isinstance(body, str) else (body or b""),
            name=name,
            tags=_tags(tags),
            timeout_ms=timeout_ms,
            max_redirects=max_redirects,
            expected_statuses=[wit_http.StatusRange(min=low, max=high) for low, high in expected],
            discard_body=discard,
        )

    def request_unsettled(self, method: str, url: str, **options) -> Tuple[Response, "Verdict"]:
        """Sends one request like `request`, leaving to the script whether
        its answer failed: its metrics wait for the Verdict's `success()` or
        `failure()`, or for the end of the iteration, which judges it by its
        status. Raises HttpError when no response came (always failed)."""
        request = self._build(method, url, **options)
        try:
            answer, verdict = wit_http.send_unsettled(request)
        except Err as failed:
            raise HttpError(failed.value) from None
        return Response(answer), Verdict(verdict)

    def get(self, url: str, **options) -> Response:
        return self.request("GET", url, **options)

    def post(self, url: str, body: Union[bytes, str, None] = None, **options) -> Response:
        return self.request("POST", url, body=body, **options)

    def batch(self, requests: Sequence[dict]) -> List[Union[Response, HttpError]]:
        """Sends requests concurrently on extra connections of this VU; each
        result is a Response or an HttpError (not raised). Each request is a
        dict of `request`'s arguments, with `method` (default GET) and `url`."""
        built = [self._build(r.get("method", "GET"), **{k: v for k, v in r.items() if k != "method"}) for r in requests]
        results = []
        for result in wit_http.batch(built):
            value = result.value
            results.append(Response(value) if isinstance(value, wit_http.Response) else HttpError(value))
        return results

    def cookies_for(self, url: str) -> List[Tuple[str, str]]:
        return wit_http.cookies_for(url)

    def set_cookie(self, url: str, set_cookie: str) -> None:
        wit_http.set_cookie(url, set_cookie)

    def clear_cookies(self, url: str, name: Optional[str] = None) -> None:
        wit_http.clear_cookies(url, name)


class Verdict:
    """The verdict still to give on an answer of `http.request_unsettled`."""

    def __init__(self, answer_id: int):
        self._id = answer_id

    def success(self) -> bool:
        """Records the answer as succeeded, whatever its status; False when
        it was judged already (or its iteration ended)."""
        return wit_http.settle(self._id, False)

    def failure(self) -> bool:
        """Records the answer as failed (`http_req_failed`), whatever its status."""
        return wit_http.settle(self._id, True)


class _Metrics:
    """Custom metrics, aggregated by the host and usable in thresholds."""

    def counter(self, name: str, value: float = 1.0, tags: Tags = None) -> None:
        wit_metrics.counter_add(name, float(value), _tags(tags))

    def gauge(self, name: str, value: float, tags: Tags = None) -> None:
        wit_metrics.gauge_set(name, float(value), _tags(tags))

    def trend(self, name: str, value: float, tags: Tags = None) -> None:
        wit_metrics.trend_add(name, float(value), _tags(tags))

    def rate(self, name: str, value: bool, tags: Tags = None) -> None:
        wit_metrics.rate_add(name, bool(value), _tags(tags))

    def check(self, name: str, passed: bool, tags: Tags = None) -> bool:
        """Records check `name` and returns `passed`, so a script can branch on it."""
        return wit_metrics.check(name, bool(passed), _tags(tags))


class _Log:
    def trace(self, message) -> None:
        wit_log.write(wit_log.Level.TRACE, str(message))

    def debug(self, message) -> None:
        wit_log.write(wit_log.Level.DEBUG, str(message))

    def info(self, message) -> None:
        wit_log.write(wit_log.Level.INFO, str(message))

    def warn(self, message) -> None:
        wit_log.write(wit_log.Level.WARN, str(message))

    def error(self, message) -> None:
        wit_log.write(wit_log.Level.ERROR, str(message))


class _Vu:
    """Facts about the calling VU and the run."""

    def id(self) -> int:
        return wit_vu.id()

    def iteration(self) -> int:
        return wit_vu.iteration()

    def scenario_iteration(self) -> int:
        return wit_vu.scenario_iteration()

    def active_vus(self) -> int:
        return wit_vu.active_vus()

    def scenario(self) -> str:
        return wit_vu.scenario()

    def env(self, key: str) -> Optional[str]:
        return wit_vu.env(key)

    def env_all(self) -> Dict[str, str]:
        return dict(wit_vu.env_all())

    def sleep(self, ms: float) -> None:
        wit_vu.sleep(max(0.0, float(ms)))

    def abort_test(self, reason: str = "") -> None:
        wit_vu.abort_test(str(reason))

    def stop(self) -> None:
        """Ends this VU once the current iteration returns (Locust's
        StopUser): it runs no more iterations; the script's `vu_end(data)`
        runs, and the other VUs go on."""
        wit_vu.stop()


class _Data:
    """The run's shared data sets (`--data NAME=FILE`): a row is a CSV row's
    fields, or one JSON lines row's text. An unknown set raises KeyError, an
    index past the end IndexError, a set the run does not grant
    PermissionError."""

    @staticmethod
    def _call(function, *args):
        try:
            return function(*args)
        except Err as failed:
            error = failed.value
            if isinstance(error, wit_data.DataError_OutOfRange):
                raise IndexError(f"row {args[1] if len(args) > 1 else ''} is past the end of {args[0]!r}") from None
            if isinstance(error, wit_data.DataError_Denied):
                denied = PermissionError(error.value.message)
                denied.permission = error.value.permission
                raise denied from None
            raise KeyError(f"no data set named {args[0]!r}") from None

    def columns(self, set: str) -> List[str]:
        return self._call(wit_data.columns, set)

    def len(self, set: str) -> int:
        return self._call(wit_data.len, set)

    def get(self, set: str, index: int) -> List[str]:
        return self._call(wit_data.get, set, index)

    def for_vu(self, set: str) -> List[str]:
        return self._call(wit_data.for_vu, set)

    def random(self, set: str) -> List[str]:
        return self._call(wit_data.random, set)


http = _Http()
metrics = _Metrics()
log = _Log()
vu = _Vu()
data = _Data()
check = metrics.check


def sleep(ms: float) -> None:
    """Pauses this VU for `ms` milliseconds (think time) without holding a thread."""
    vu.sleep(ms)
