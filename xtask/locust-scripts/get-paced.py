# get.py with a 1 s wait after each task: the benchmark's users for start
# time and memory (cargo xtask bench --python-only).
import os

from locust import FastHttpUser, constant, task


class Get(FastHttpUser):
    host = os.environ.get("BASE_URL")
    wait_time = constant(1)

    @task
    def index(self):
        self.client.get("/")
