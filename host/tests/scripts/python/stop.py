# on_stop and StopUser: the Quitter raises StopUser in its third task, runs
# on_stop then and never again; the Visitor, inside a task set when the run
# ends, leaves the set (its on_stop) and then runs its own on_stop.
from locust import HttpUser, TaskSet, constant, task
from locust.exception import StopUser


class Browsing(TaskSet):
    wait_time = constant(0.05)

    def on_stop(self):
        self.client.get("/status/252")

    @task
    def page(self):
        self.client.get("/status/200")


class Visitor(HttpUser):
    tasks = [Browsing]

    def on_stop(self):
        self.client.get("/status/250")


class Quitter(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.done = 0

    def on_stop(self):
        self.client.get(f"/status/{251 if self.done == 3 else 299}")

    @task
    def work(self):
        self.done += 1
        self.client.get("/status/201")
        if self.done == 3:
            raise StopUser()
