# A user that enters a SequentialTaskSet, which runs its tasks in order
# (one per iteration) and leaves with interrupt(); on_start and on_stop of
# the set run at each entry and exit. A nested TaskSet inside a TaskSet.
from locust import HttpUser, SequentialTaskSet, TaskSet, constant, task


class Checkout(SequentialTaskSet):
    def on_start(self):
        self.client.get("/status/204")

    def on_stop(self):
        self.client.get("/status/205")

    @task
    def cart(self):
        self.client.get("/status/201")

    @task
    def pay(self):
        self.client.get("/status/202")

    @task
    def done(self):
        self.client.get("/status/203")
        self.interrupt()


class Shopper(HttpUser):
    wait_time = constant(0)
    tasks = [Checkout]


class Inner(TaskSet):
    @task
    def leave(self):
        assert isinstance(self.parent, Outer) and self.user is self.parent.user
        self.client.get("/status/207")
        self.interrupt(reschedule=False)


class Outer(TaskSet):
    tasks = {Inner: 1}


class Nested(HttpUser):
    weight = 1
    wait_time = constant(0)
    tasks = [Outer]
