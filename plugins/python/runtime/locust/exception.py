"""Locust's exceptions a locustfile raises or catches."""


class LocustError(Exception):
    pass


class StopUser(Exception):
    """Raised in a task: this user runs no more tasks."""


class RescheduleTask(Exception):
    """Raised in a task: the task ends here and the user picks the next one."""


class InterruptTaskSet(Exception):
    """Raised in a TaskSet: control goes back to its parent."""

    def __init__(self, reschedule=True):
        super().__init__()
        self.reschedule = reschedule


class CatchResponseError(Exception):
    pass


class ResponseError(Exception):
    pass
