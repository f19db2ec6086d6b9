# A task that raises after its request: the request counts, the iteration fails.
from locust import HttpUser, task


class Failing(HttpUser):
    @task
    def broken(self):
        self.client.get("/status/200")
        {}["missing"]
