# One GET every 100 ms per user, for runs shaped by Locust's flags.
from locust import HttpUser, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.1)

    @task
    def home(self):
        self.client.get("/")
