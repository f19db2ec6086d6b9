# Two user classes sharing the VUs by weight (2:1), on_start per user, tasks
# by weight, a relative URL on the host from LOCUST_HOST, the request name,
# the run's env (never the host's) in os.environ, and time.sleep through the host.
import os
import time

from locust import HttpUser, between, constant, task


class Browser(HttpUser):
    weight = 2
    wait_time = constant(0)

    def on_start(self):
        assert os.environ.get("HOME") is None, "the host's environment leaked"
        assert os.getenv("GREETING") == "hi", os.getenv("GREETING")
        self.client.get("/status/202", name="browser start")

    @task(3)
    def browse(self):
        self.client.get("/status/200", params={"page": 1})

    @task
    def search(self):
        time.sleep(0.001)
        response = self.client.post("/echo", json={"q": "shoes"})
        assert response.status_code == 200 and response.json()["body"] == '{"q": "shoes"}', response.text


class Buyer(HttpUser):
    weight = 1
    wait_time = between(0, 0.001)

    def on_start(self):
        self.client.get("/status/203")

    @task
    def buy(self):
        self.client.get("/status/500", name="checkout")
