"""The Locust API a locustfile imports, on vespid's host capabilities.

Each vespid VU is one Locust user: its own instance of a User class, its
own connections and cookie jar. What Locust has and this module does not
fails at import with Locust's own ImportError naming it.
"""
from .event import events
from .exception import InterruptTaskSet, RescheduleTask, StopUser
from .shape import LoadTestShape
from .user import FastHttpUser, HttpUser, SequentialTaskSet, TaskSet, User, tag, task
from .wait_time import between, constant, constant_pacing, constant_throughput

__version__ = "2.0.0+vespid"

__all__ = [
    "User", "HttpUser", "FastHttpUser", "TaskSet", "SequentialTaskSet", "task", "tag", "between", "constant", "constant_pacing",
    "constant_throughput", "events", "StopUser", "RescheduleTask", "InterruptTaskSet", "LoadTestShape",
]
