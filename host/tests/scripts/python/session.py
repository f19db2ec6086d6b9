# Each user logs in once in on_start; its tasks find its own session: the
# cookie jar is the user's, kept across its tasks, shared with no one.
import uuid

from locust import HttpUser, constant, task


class Member(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.name = f"member-{uuid.uuid4().hex}"
        login = self.client.post("/login", json={"user": self.name})
        assert len(login.cookies["session"]) == 32, login.cookies

    @task
    def me(self):
        answer = self.client.get("/me")
        mine = answer.status_code == 200 and answer.json()["user"] == self.name
        self.client.get("/status/240" if mine else "/status/540")
