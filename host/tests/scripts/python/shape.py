# A LoadTestShape: 2 users for 1.5 s, then 5 until 3 s, then the end of the
# test. Each user says when it starts and stops.
from locust import HttpUser, LoadTestShape, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.05)

    def on_start(self):
        self.client.get("/status/260")

    def on_stop(self):
        self.client.get("/status/261")

    @task
    def visit(self):
        self.client.get("/status/200")


class Steps(LoadTestShape):
    def tick(self):
        run_time = self.get_run_time()
        if run_time < 1.5:
            return (2, 100)
        if run_time < 3:
            return (5, 100)
        return None
