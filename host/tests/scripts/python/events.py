# Locust's events: test_start and test_stop once per run, init per
# instance, request after each request, and an option declared through
# init_command_line_parser read from the run's env.
from locust import HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def options(parser):
    parser.add_argument("--checkout-status", type=int, default=200)


@events.test_start.add_listener
def started(environment, **kwargs):
    assert environment.host.startswith("http://127.0.0.1:"), environment.host
    import http.client  # noqa: F401 (the standard library is all there)
    from wit_world.imports import http as host_http
    request = host_http.Request(
        method=host_http.Method_Get(), url=environment.host + "/status/210", headers=[], body=b"", name=None,
        tags=[], timeout_ms=None, max_redirects=None, expected_statuses=[], discard_body=False,
    )
    host_http.send(request)


@events.test_stop.add_listener
def stopped(environment, **kwargs):
    HttpUser(environment).client.get("/status/211")


SEEN = []


@events.request.add_listener
def on_request(request_type, name, response_time, response_length, exception, **kwargs):
    SEEN.append((request_type, name, response_length, exception is None))


class Buyer(HttpUser):
    wait_time = constant(0)

    @task
    def buy(self):
        status = self.environment.parsed_options.checkout_status
        self.client.get(f"/status/{status}", name="checkout")
        assert SEEN[-1] == ("GET", "checkout", 0, status < 400), SEEN[-1]
        self.client.get("/bytes/3")
        assert SEEN[-1] == ("GET", "/bytes/3", 3, True), SEEN[-1]
