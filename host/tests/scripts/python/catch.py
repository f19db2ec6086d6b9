# catch_response: the task's verdict wins over the status; without one the
# status decides, when the `with` block ends or, for a response never
# entered, when the iteration ends.
from locust import HttpUser, constant, task
from locust.exception import RescheduleTask


class Judge(HttpUser):
    wait_time = constant(0)

    @task
    def judge(self):
        with self.client.get("/status/200", catch_response=True) as response:
            if response.status_code == 200:
                response.failure("200 is not what this page should say")
        with self.client.get("/status/404", name="missing", catch_response=True) as response:
            response.success()
        with self.client.get("/status/500", catch_response=True):
            pass
        self.client.get("/status/201", catch_response=True)
        with self.client.get("/status/203", catch_response=True):
            raise RescheduleTask()
