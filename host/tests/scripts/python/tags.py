# Locust's @tag with --tags / --exclude-tags, and fixed_count: the Admin is
# spawned first and exactly once, whatever its place in the file; the
# Shoppers share the other VUs. on_start tells the server which class each
# VU is; each task is one path.
from locust import HttpUser, TaskSet, constant, tag, task


@tag("browse")
def look(user):
    user.client.get("/status/232")


@tag("buy")
def buy(user):
    user.client.get("/status/233")


def untagged(user):
    user.client.get("/status/234")


@tag("browse")
class Reports(TaskSet):
    @task
    def daily(self):
        self.client.get("/status/241")
        self.interrupt()


class Shopper(HttpUser):
    wait_time = constant(0)
    tasks = {look: 1, buy: 1, untagged: 1, Reports: 1}

    def on_start(self):
        self.client.get("/status/221")


class Admin(HttpUser):
    fixed_count = 1
    weight = 100
    wait_time = constant(0)

    def on_start(self):
        self.client.get("/status/220")

    @task
    def audit(self):
        self.client.get("/status/230")

    @tag("admin")
    @task
    def purge(self):
        self.client.get("/status/231")
