# One GET every 100 ms per user, for runs shaped by Locust's flags; each
# user says when it starts.
from locust import HttpUser, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.1)

    def on_start(self):
        self.client.get("/status/206")

    @task
    def home(self):
        self.client.get("/")
