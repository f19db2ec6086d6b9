"""Locust's users and tasks: `User`, `HttpUser`, `FastHttpUser`, `TaskSet`,
`SequentialTaskSet`, `@task`, `@tag`, and how a user or a task set picks
its next task (by weight or in order, as Locust does)."""
import os
import random

from .clients import HttpSession
from .exception import InterruptTaskSet


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
    """`@tag('a', 'b')` on a task, for `--tags` / `--exclude-tags`. On a
    TaskSet, its tasks (and those of the sets inside it) get the tags, as in
    Locust."""

    def mark(decorated):
        decorated.locust_tag_set = set(getattr(decorated, "locust_tag_set", set())) | set(names)
        if isinstance(decorated, type) and issubclass(decorated, TaskSet):
            for inner, _ in tasks_of(decorated):
                if isinstance(inner, type) and issubclass(inner, TaskSet):
                    mark(inner)
        return decorated

    return mark


def _tag_filter(name):
    """The tags of `--tags` or `--exclude-tags` (LOCUST_TAGS,
    LOCUST_EXCLUDE_TAGS in the run's env), or None when not given."""
    value = os.environ.get(name)
    return None if value is None else {tag for tag in value.split(",") if tag}


def _selected(task, holder_tags):
    """Whether `task` runs under the run's --tags / --exclude-tags: a task
    set runs when any of its tasks does."""
    if isinstance(task, type) and issubclass(task, TaskSet):
        return picks_a_task(task)
    tags = set(getattr(task, "locust_tag_set", ())) | holder_tags
    only, excluded = _tag_filter("LOCUST_TAGS"), _tag_filter("LOCUST_EXCLUDE_TAGS")
    return (only is None or bool(tags & only)) and (excluded is None or not tags & excluded)


def tasks_of(cls):
    """(task, weight) pairs of a User or TaskSet class, in declared order: its
    `tasks` list or dict, or its methods marked `@task` (its own and
    inherited ones). A task is a function of the user (or task set), or a
    TaskSet class."""
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


def _cumulative(cls):
    """The class's tasks with cumulative weights (tasks of weight 0 and
    tasks left out by --tags / --exclude-tags left out), worked out once per
    class."""
    cached = cls.__dict__.get("_vespid_cumulative")
    if cached is None:
        cached, total = [], 0
        holder_tags = set(cls.__dict__.get("locust_tag_set", ()))
        for task, weight in tasks_of(cls):
            if weight > 0 and _selected(task, holder_tags):
                total += weight
                cached.append((task, total))
        cls._vespid_cumulative = cached
    return cached


def picks_a_task(cls):
    """Whether a User or TaskSet class has a task left to run."""
    return bool(_cumulative(cls))


class _TaskPicker:
    """What Users and TaskSets share: picking the next task by weight, and
    the wait after it."""

    def next_task(self):
        tasks = _cumulative(type(self))
        if len(tasks) == 1:
            return tasks[0][0]
        point = random.random() * tasks[-1][1]
        for task, cumulative in tasks:
            if point < cumulative:
                return task
        return tasks[-1][0]

    def wait_time_seconds(self):
        """Seconds to wait after a task: `wait_time` is a method (Locust's
        `between(…)` and friends bind to their owner), or none."""
        return 0.0 if self.wait_time is None else float(self.wait_time())


class TaskSet(_TaskPicker):
    """Tasks a user runs as a group: once picked, the user runs the set's
    tasks (one per vespid iteration) until one calls `interrupt()`."""

    tasks = []
    wait_time = None

    def __init__(self, parent):
        self.parent = parent
        self.user = parent.user if isinstance(parent, TaskSet) else parent

    @property
    def client(self):
        return self.user.client

    def on_start(self):
        pass

    def on_stop(self):
        pass

    def interrupt(self, reschedule=True):
        """Leaves this set for its parent; with `reschedule`, without the wait."""
        raise InterruptTaskSet(reschedule)

    def wait_time_seconds(self):
        if self.wait_time is None:
            return self.parent.wait_time_seconds()
        return super().wait_time_seconds()


class SequentialTaskSet(TaskSet):
    """A TaskSet whose tasks run in the order they are declared, round and round."""

    def __init__(self, parent):
        super().__init__(parent)
        self._next = 0

    def next_task(self):
        tasks = _cumulative(type(self))
        task = tasks[self._next % len(tasks)][0]
        self._next += 1
        return task


class UserMeta(type):
    """Makes `abstract` default to False for every class that does not say."""

    def __new__(mcs, name, bases, namespace):
        namespace.setdefault("abstract", False)
        return super().__new__(mcs, name, bases, namespace)


class User(_TaskPicker, metaclass=UserMeta):
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
        # As in Locust, --host (LOCUST_HOST) wins over the class's own host.
        self.host = os.environ.get("LOCUST_HOST") or self.host

    def on_start(self):
        pass

    def on_stop(self):
        pass



class HttpUser(User):
    abstract = True

    def __init__(self, environment=None):
        super().__init__(environment)
        self.client = HttpSession(self.host)


class FastHttpUser(HttpUser):
    """The same client as HttpUser: vespid has one HTTP client for all."""

    abstract = True
