# Custom metrics with tags: a counter, a trend, a rate and a gauge, next to
# the built-in HTTP metrics, with two weighted tasks
# (examples/rust/custom-metrics in Python).
from vespid import http, metrics, vu

tasks = {"browse": 3, "buy": 1}

base = None


def init(data):
    global base
    base = (vu.env("BASE_URL") or "http://127.0.0.1:7878").rstrip("/")


def visit(task):
    response = http.get(f"{base}/json", tags={"task": task})
    tags = {"task": task}
    metrics.counter("shop_visits", 1, tags)
    metrics.trend("shop_server_time", response.timings.waiting, tags)
    metrics.rate("shop_fast", response.timings.duration < 200, tags)
    metrics.gauge("shop_body_bytes", len(response.body), tags)


def browse(data):
    visit("browse")


def buy(data):
    visit("buy")
    metrics.counter("shop_orders", 1)
