# The differential locustfile: every user's work is bounded by StopUser and
# its task order is fixed (SequentialTaskSet, one task per class, fixed_count,
# tags), so Locust and vespid must make the server count the same requests.
# Run with 4 users and --exclude-tags never: the Auditor (fixed_count 1),
# two Shoppers and one Browser (weights 2:1 of the other three).
import os

from locust import FastHttpUser, HttpUser, SequentialTaskSet, constant, tag, task
from locust.exception import StopUser

ROUNDS = int(os.environ.get("ROUNDS", "3"))


class Checkout(SequentialTaskSet):
    def on_start(self):
        self.client.get("/status/204")

    def on_stop(self):
        self.client.get("/status/205")

    @task
    def cart(self):
        self.client.get("/status/201", params={"item": 7})

    @task
    def pay(self):
        self.client.post("/echo", json={"amount": 12}, headers={"X-Shop": "vespid"})

    @task
    def done(self):
        self.client.get("/status/203")
        self.user.rounds += 1
        if self.user.rounds == ROUNDS:
            raise StopUser()
        self.interrupt()


class Shopper(HttpUser):
    weight = 2
    wait_time = constant(0)
    tasks = [Checkout]

    def on_start(self):
        self.rounds = 0
        self.client.post("/login", data={"user": "ann"})
        # The session cookie is the user's own, kept across its tasks.
        me = self.client.get("/me")
        self.client.get("/status/230" if me.status_code == 200 else "/status/530")

    def on_stop(self):
        self.client.get("/status/250")


class Browser(FastHttpUser):
    weight = 1
    wait_time = constant(0)

    def on_start(self):
        self.pages = 0

    @task
    def browse(self):
        self.client.get("/json", name="catalog")
        self.pages += 1
        if self.pages == 2 * ROUNDS:
            raise StopUser()


class Auditor(HttpUser):
    fixed_count = 1
    weight = 50
    wait_time = constant(0)

    def on_start(self):
        self.audits = 0

    @task
    def audit(self):
        self.audits += 1
        # catch_response: a 404 judged a success, a 200 judged a failure, a 500 by its status.
        with self.client.get("/status/404", name="audit", catch_response=True) as response:
            if response.status_code == 404:
                response.success()
        with self.client.get("/status/200", name="audit", catch_response=True) as response:
            response.failure("a 200 is not what the audit expects")
        self.client.get("/status/500")
        if self.audits == ROUNDS:
            raise StopUser()

    @tag("never")
    @task
    def purge(self):
        self.client.get("/status/231")
