# A LoadTestShape whose tick() fails after its first second: a script error.
from locust import HttpUser, LoadTestShape, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.1)

    @task
    def visit(self):
        self.client.get("/status/200")


class Broken(LoadTestShape):
    def tick(self):
        if self.get_run_time() > 1:
            raise ValueError("no more shape")
        return (1, 1)
