# The benchmark locustfile (cargo xtask bench --python-only): one GET per
# task, no wait. vespid reads BASE_URL from the run's env; Locust gets -H.
import os

from locust import FastHttpUser, task


class Get(FastHttpUser):
    host = os.environ.get("BASE_URL")

    @task
    def index(self):
        self.client.get("/")
