# A Vespid-native Python script: weighted tasks picked by the host, setup's
# data handed to every VU as JSON, init per VU, custom metrics and checks,
# an HttpError for a request without an answer (also in a batch), teardown once
# with a 500 the script judges a success.
from vespid import HttpError, check, http, metrics, vu

tasks = {"browse": 3, "buy": 1}


def setup():
    try:
        http.get("http://127.0.0.1:9/", timeout_ms=2000)
        raise AssertionError("nothing listens on port 9")
    except HttpError as error:
        assert error.kind == "connection-refused", error.kind
    base = vu.env("BASE_URL")
    answered, refused = http.batch([{"url": base + "/status/201"}, {"url": "http://127.0.0.1:9/", "method": "post"}])
    assert answered.status == 201 and isinstance(refused, HttpError), (answered, refused)
    return {"base": base}


def init(data):
    global BASE
    BASE = data["base"]


def browse(data):
    response = http.get(BASE + "/status/200", name="browse", tags={"kind": "page"})
    check("browse is 200", response.status == 200)
    metrics.counter("browsed", 1, {"kind": "page"})


def buy(data):
    response = http.post(BASE + "/echo", json={"vu": vu.id()})
    check("buy echoed", response.json()["body"] == '{"vu": %d}' % vu.id())
    metrics.trend("basket", 12.5)


def teardown(data):
    http.get(data["base"] + "/status/204")
    response, verdict = http.request_unsettled("GET", data["base"] + "/status/500", name="judged")
    assert response.status == 500 and verdict.success() and not verdict.failure(), "judged once"
