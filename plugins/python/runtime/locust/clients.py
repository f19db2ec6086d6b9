"""`self.client` of an HttpUser: a requests-like session on the host's
measured HTTP client. Every request is made, timed and recorded by the
host (k6's metric names, Locust's request name as the `name` tag); the
user's cookies live in the VU's own jar for the user's lifetime."""
import datetime
import json as jsonlib
import time
from urllib.parse import urlencode, urljoin, urlsplit

from componentize_py_types import Err
from wit_world.imports import http, log

from .event import events
from .exception import CatchResponseError, LocustError, ResponseError

# One value per method, made once: every step of the interpreter is dear in a task loop.
_METHODS = {
    "GET": http.Method_Get(), "HEAD": http.Method_Head(), "POST": http.Method_Post(), "PUT": http.Method_Put(),
    "PATCH": http.Method_Patch(), "DELETE": http.Method_Delete(), "OPTIONS": http.Method_Options(),
}


class CaseInsensitiveDict(dict):
    """Response headers, read by any capitalisation (as requests does)."""

    def __init__(self, pairs):
        super().__init__()
        self._names = {}
        for name, value in pairs:
            key = self._names.setdefault(name.lower(), name)
            super().__setitem__(key, f"{self[key]}, {value}" if dict.__contains__(self, key) else value)

    def __getitem__(self, name):
        return super().__getitem__(self._names.get(name.lower(), name))

    def __contains__(self, name):
        return isinstance(name, str) and name.lower() in self._names

    def get(self, name, default=None):
        return self[name] if name in self else default


class Response:
    """The answer to one request, as requests shapes it; status_code 0 and
    `error` when no answer came."""

    def __init__(self, method, url, answer=None, error=None):
        self.request_method = method
        self.error = error
        # Headers and elapsed are made on first read: most tasks read neither.
        self._answer = answer
        if answer is None:
            self.status_code = 0
            self.content = b""
            self.url = url
        else:
            self.status_code = answer.status
            self.content = answer.body
            self.url = answer.url

    @property
    def headers(self):
        headers = self.__dict__.get("_headers")
        if headers is None:
            headers = self._headers = CaseInsensitiveDict(self._answer.headers if self._answer else [])
        return headers

    @property
    def cookies(self):
        """The cookies this response set, by name (requests' `response.cookies`);
        the user's jar keeps them for its later requests either way."""
        cookies = self.__dict__.get("_cookies")
        if cookies is None:
            cookies = self._cookies = {}
            for name, value in self._answer.headers if self._answer else []:
                if name.lower() == "set-cookie":
                    pair = value.split(";", 1)[0]
                    key, _, cookie = pair.partition("=")
                    cookies[key.strip()] = cookie.strip()
        return cookies

    @property
    def elapsed(self):
        duration = self._answer.timings.duration if self._answer else 0.0
        return datetime.timedelta(milliseconds=duration)

    @property
    def text(self):
        return self.content.decode("utf-8", "replace")

    @property
    def ok(self):
        return self.error is None and self.status_code < 400

    @property
    def reason(self):
        return self.error or ""

    def json(self, **kwargs):
        return jsonlib.loads(self.content, **kwargs)

    def raise_for_status(self):
        if self.error is not None:
            raise ResponseError(self.error)
        if self.status_code >= 400:
            raise ResponseError(f"{self.status_code} for url: {self.url}")

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return f"<Response [{self.status_code}]>"


class ResponseContextManager(Response):
    """The response of `catch_response=True`, used in a `with` block: the
    task says whether it failed (`success()`, `failure(why)`), else its
    status does, when the block ends. The host holds the request's metrics
    until then (WIT `http.send-unsettled`)."""

    def __init__(self, method, url, name, started, answer=None, error=None, verdict=None):
        super().__init__(method, url, answer, error)
        self._name, self._started, self._verdict = name, started, verdict
        self._entered = False
        self._manual = None

    def __enter__(self):
        self._entered = True
        return self

    def __exit__(self, kind, value, traceback):
        if self._manual is not None:
            self._report(None if self._manual is True else self._manual)
            return kind is None
        if kind is not None:
            if not isinstance(value, ResponseError):
                return False  # the task's own error: not a verdict on the response
            self._report(value)
            return True
        self._report(_status_failure(self))
        return True

    def success(self):
        if not self._entered:
            raise LocustError("success() outside the response's `with` block")
        self._manual = True

    def failure(self, why):
        if not self._entered:
            raise LocustError("failure() outside the response's `with` block")
        self._manual = why if isinstance(why, Exception) else CatchResponseError(why)

    def _report(self, failure):
        if self._verdict is not None:
            http.settle(self._verdict, failure is not None)
            self._verdict = None
        if failure is not None:
            log.write(log.Level.DEBUG, f"{self.request_method} {self._name} failed: {failure}")
        if events.request._handlers:
            _fire_request(self, self._name, self._started, failure)


def _status_failure(response):
    """The ResponseError of a response without an answer or with a status
    of 400 or more, as requests raises it; else None."""
    try:
        response.raise_for_status()
    except ResponseError as error:
        return error
    return None


def _fire_request(response, name, started, failure):
    """Locust's `request` event for one response of `self.client`."""
    events.request.fire(
        request_type=response.request_method,
        name=name,
        response_time=response.elapsed.total_seconds() * 1000.0,
        response_length=len(response.content),
        response=response,
        context={},
        exception=failure,
        start_time=started,
        url=response.url,
    )


# How many distinct plain requests a user keeps made (then starts afresh):
# a task that builds a new URL each time must not grow the user's memory.
_PLAIN_REQUESTS_KEPT = 64


def _error_text(error):
    value = getattr(error, "value", None)
    value = getattr(value, "message", value)
    kind = type(error).__name__.removeprefix("Error_")
    return kind if value is None else f"{kind}: {value}"


class HttpSession:
    """Locust's HttpSession (and FastHttpSession: same API on the same client)."""

    def __init__(self, base_url):
        self.base_url = base_url or ""
        self._base = self.base_url.rstrip("/")
        # The path a URL relative to the host starts with (the host's own path).
        self._base_path = urlsplit(self._base).path
        self.headers = {}
        self._plain = {}

    def _url(self, url):
        if url.startswith("/") and self._base:
            return self._base + url
        if "://" in url:
            return url
        if not self.base_url:
            raise ValueError(f"{url!r} is relative and the user has no host: set `host` on the class or LOCUST_HOST")
        return urljoin(self._base + "/", url) if url else self.base_url

    def request(self, method, url, name=None, catch_response=False, *, params=None, data=None, json=None,
                headers=None, cookies=None, timeout=None, allow_redirects=True, **unsupported):
        if unsupported:
            raise TypeError(f"request() got arguments vespid does not support: {', '.join(sorted(unsupported))}")
        method = str(method).upper()
        address = self._url(url)
        if params:
            query = urlencode(params, doseq=True)
            address += ("&" if "?" in address else "?") + query
        sent = {**self.headers, **headers} if headers or self.headers else {}
        body = b""
        if json is not None:
            body = jsonlib.dumps(json).encode()
            sent.setdefault("Content-Type", "application/json")
        elif isinstance(data, dict):
            body = urlencode(data, doseq=True).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(data, str):
            body = data.encode()
        elif data is not None:
            body = bytes(data)
        # Locust's name: the path (and query) asked for, without the host.
        if name is None and not params and url.startswith("/") and self._base and "#" not in url:
            name = self._base_path + url
        elif name is None:
            parts = urlsplit(address)
            name = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if cookies:
            sent["Cookie"] = "; ".join(f"{key}={value}" for key, value in cookies.items())
        # A request with nothing but a method, URL and name is made once and
        # sent again: most tasks send the same few.
        plain = not sent and not body and timeout is None and allow_redirects
        request = self._plain.get((method, address, name)) if plain else None
        if request is None:
            request = self._build(method, address, sent, body, name, timeout, allow_redirects)
            if plain:
                if len(self._plain) >= _PLAIN_REQUESTS_KEPT:
                    self._plain.clear()
                self._plain[(method, address, name)] = request
        handlers = events.request._handlers
        started = time.time() if catch_response or handlers else 0.0
        if catch_response:
            try:
                answer, verdict = http.send_unsettled(request)
                return ResponseContextManager(method, address, name, started, answer=answer, verdict=verdict)
            except Err as failed:
                return ResponseContextManager(method, address, name, started, error=_error_text(failed.value))
        try:
            response = Response(method, address, answer=http.send(request))
        except Err as failed:
            response = Response(method, address, error=_error_text(failed.value))
        if handlers:
            _fire_request(response, name, started, _status_failure(response))
        return response

    @staticmethod
    def _build(method, address, sent, body, name, timeout, allow_redirects):
        return http.Request(
            method=_METHODS.get(method) or http.Method_Other(method),
            url=address,
            headers=[(str(key), str(value)) for key, value in sent.items()] if sent else [],
            body=body,
            name=name,
            tags=[],
            timeout_ms=None if timeout is None else max(1, int(float(timeout) * 1000)),
            max_redirects=None if allow_redirects else 0,
            expected_statuses=[],
            discard_body=False,
        )

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def head(self, url, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kwargs)

    def options(self, url, **kwargs):
        return self.request("OPTIONS", url, **kwargs)

    def post(self, url, data=None, json=None, **kwargs):
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url, data=None, **kwargs):
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url, data=None, **kwargs):
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)
