"""Locust's users and tasks: `User`, `HttpUser`, `FastHttpUser`, `@task`,
`@tag`, and how one user picks its next task (by weight, as Locust does)."""
import os
import random

from .clients import HttpSession


def task(weight=1):
    """`@task` or `@task(weight)` on a method of a User."""
    if callable(weight):
        weight.locust_task_weight = 1
        return weight

    def mark(function):
        function.locust_task_weight = weight
        return function

    return mark


def tag(*names):
    """`@tag('a', 'b')` on a task, for `--tags` / `--exclude-tags`."""

    def mark(function):
        function.locust_tag_set = set(getattr(function, "locust_tag_set", set())) | set(names)
        return function

    return mark


def tasks_of(cls):
    """(task, weight) pairs of a User class: its `tasks` list or dict, or
    its methods marked `@task` (its own and inherited ones)."""
    declared = None
    for klass in cls.__mro__:
        if "tasks" in klass.__dict__ and klass.__dict__["tasks"]:
            declared = klass.__dict__["tasks"]
            break
    if isinstance(declared, dict):
        return [(task, int(weight)) for task, weight in declared.items()]
    if declared is not None:
        return [(task, 1) for task in declared]
    found = {}
    for klass in reversed(cls.__mro__):
        for name, value in klass.__dict__.items():
            weight = getattr(value, "locust_task_weight", None)
            if weight is not None and callable(value):
                found[name] = (value, int(weight))
            elif name in found:
                del found[name]
    return list(found.values())


class UserMeta(type):
    """Makes `abstract` default to False for every class that does not say."""

    def __new__(mcs, name, bases, namespace):
        namespace.setdefault("abstract", False)
        return super().__new__(mcs, name, bases, namespace)


class User(metaclass=UserMeta):
    """One simulated user: one VU of vespid, with its own connections,
    cookies and state."""

    abstract = True
    host = None
    wait_time = None
    weight = 1
    fixed_count = 0
    tasks = []

    def __init__(self, environment=None):
        self.environment = environment
        if self.host is None:
            self.host = os.environ.get("LOCUST_HOST")

    def on_start(self):
        pass

    def on_stop(self):
        pass

    def wait_time_seconds(self):
        """Seconds to wait after a task: `wait_time` is a method (Locust's
        `between(…)` and friends bind to the user), or none."""
        return 0.0 if self.wait_time is None else float(self.wait_time())

    def pick_task(self, tasks, total):
        """A task by weight; `tasks` holds (task, cumulative weight)."""
        point = random.random() * total
        for candidate, cumulative in tasks:
            if point < cumulative:
                return candidate
        return tasks[-1][0]


class HttpUser(User):
    abstract = True

    def __init__(self, environment=None):
        super().__init__(environment)
        self.client = HttpSession(self.host)


class FastHttpUser(HttpUser):
    """The same client as HttpUser: vespid has one HTTP client for all."""

    abstract = True
