"""The Python runtime component: runs a script that the host hands over at
run time (`script.source`) on CPython, so one prebuilt component serves
every script. A locustfile: each instance is one Locust user; `init` makes
this VU's user and calls its `on_start`, `run` runs one task picked by
weight and then waits the user's `wait_time` through the host, `vu-end`
runs its `on_stop` (also after a task raised `StopUser`). A
Vespid-native script (the `vespid` package): its top-level functions are
the runner's (`setup`, `init`, `default` or weighted `tasks`, `teardown`).

Built by componentize-py (plugins/python/build.sh): what runs at import
here runs once, at build time, and its state is in the component's image.
"""
import os
import random
import sys
import time
import traceback
from types import ModuleType

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import runner
from wit_world.imports import log, script, vu

import embedded_stdlib
import script_modules

embedded_stdlib.install()

# Modules a locustfile commonly imports, initialised once in the image.
import base64, collections, dataclasses, datetime, hashlib, json, re, string, typing, uuid  # noqa: E401,F401,E402

import locust  # noqa: E402
import vespid  # noqa: E402,F401 (in the image for native scripts)
from locust import user as users  # noqa: E402
from locust.event import Environment, OptionParser  # noqa: E402


class LoadError(Exception):
    """The script cannot be used; the message is one line naming why."""


def _one_line(error, file):
    """`file:line: Type: message` for the innermost frame of the user's file;
    the whole traceback goes to the log at debug level."""
    log.write(log.Level.DEBUG, "".join(traceback.format_exception(error)).rstrip())
    if isinstance(error, LoadError):
        return str(error)
    place = file
    if isinstance(error, SyntaxError) and error.filename == file:
        place = f"{file}:{error.lineno}:{error.offset or 0}"
    else:
        for frame in traceback.extract_tb(error.__traceback__):
            if frame.filename == file:
                place = f"{file}:{frame.lineno}"
    return f"{place}: {type(error).__name__}: {error}"


def _file_name(source):
    """The script's file name without its folders."""
    return source.name.replace("\\", "/").rsplit("/", 1)[-1]


class Loaded:
    """The script of this instance, evaluated, as a locustfile or a
    Vespid-native script."""

    def __init__(self):
        global _script_file
        source = script.source()
        self.file = _script_file = _file_name(source)
        self.name = self.file.rsplit(".", 1)[0]
        # The run's env, never the host's; time.sleep waits through the host.
        os.environ.clear()
        os.environ.update(dict(vu.env_all()))
        time.sleep = lambda seconds: vu.sleep(max(0.0, float(seconds)) * 1000.0)
        random.seed()
        # The script's folder, then PYTHONPATH's (relative to the script's folder).
        script_modules.install(folder for folder in os.environ.get("PYTHONPATH", "").split(":") if folder)
        module = ModuleType(self.name)
        module.__file__ = self.file
        sys.modules[self.name] = module
        exec(compile(source.text, self.file, "exec"), module.__dict__)
        classes = [
            value for value in module.__dict__.values()
            if isinstance(value, type) and issubclass(value, locust.User) and not value.__dict__.get("abstract", False)
        ]
        shapes = [
            value for value in module.__dict__.values()
            if isinstance(value, type) and issubclass(value, locust.LoadTestShape) and value is not locust.LoadTestShape
            and not value.__dict__.get("abstract", False)
        ]
        if len(shapes) > 1:
            names = ", ".join(shape.__name__ for shape in shapes)
            raise LoadError(f"{self.file}: more than one LoadTestShape ({names}); keep one")
        if classes:
            self.script = Locustfile(self.file, classes, shapes[0] if shapes else None)
        elif callable(module.__dict__.get("default")) or isinstance(module.__dict__.get("tasks"), dict):
            self.script = NativeScript(self.file, module.__dict__)
        else:
            raise LoadError(
                f"{self.file}: no User class (a subclass of locust.User that is not abstract)"
                " and no default() or `tasks` of a Vespid-native script"
            )


class Locustfile:
    """A locustfile: each VU is one user of one of its User classes."""

    def __init__(self, file, classes, shape_class):
        self.file = file
        self.shape_class = shape_class
        self.shape = None
        for cls in classes:
            self.check_tasks(cls, set())
        # --tags / --exclude-tags may leave a class nothing to run: its
        # users are not started, as Locust starts none of a class without tasks.
        self.classes = [cls for cls in classes if users.picks_a_task(cls)]
        if not self.classes:
            raise LoadError(f"{file}: --tags / --exclude-tags leave no task to run in any User class")
        self.fixed = [(cls, int(cls.fixed_count)) for cls in self.classes if int(getattr(cls, "fixed_count", 0)) > 0]
        self.weighted = [cls for cls in self.classes if int(getattr(cls, "fixed_count", 0)) <= 0]
        self.environment = Environment(locust.events, os.environ.get("LOCUST_HOST"))
        parser = OptionParser()
        locust.events.init_command_line_parser.fire(parser=parser)
        self.environment.parsed_options = parser.parse()
        locust.events.init.fire(environment=self.environment)
        self.user = None

    def check_tasks(self, cls, seen):
        """Every user class and task set it can enter has a task to pick."""
        seen.add(cls)
        tasks = users.tasks_of(cls)
        if not any(weight > 0 for _, weight in tasks):
            raise LoadError(f"{self.file}: {cls.__name__} has no tasks (mark methods with @task or set `tasks`)")
        for task, _ in tasks:
            if isinstance(task, type) and issubclass(task, locust.TaskSet) and task not in seen:
                self.check_tasks(task, seen)

    def class_for(self, vu_id):
        """The user class of VU `vu_id` (from 1). As Locust spawns them
        first, the first VUs are the `fixed_count` users, class by class in
        the file's order; the other classes share the rest by `weight`, in
        a fixed order, so each class's share holds for any count of VUs."""
        slot = vu_id - 1
        for cls, count in self.fixed:
            if slot < count:
                return cls
            slot -= count
        if not self.weighted:
            total = sum(count for _, count in self.fixed)
            raise LoadError(
                f"{self.file}: VU {vu_id} has no user class: every class has a fixed_count, "
                f"and they add up to {total} users (run with -u {total})"
            )
        weights = [max(0, int(getattr(cls, "weight", 1))) for cls in self.weighted]
        total = sum(weights) or len(weights)
        slot %= total
        for cls, weight in zip(self.weighted, weights):
            if slot < weight:
                return cls
            slot -= weight
        return self.weighted[0]

    def tasks(self):
        # The user picks its own tasks (and task sets): one task for the host.
        return []

    def options(self):
        """A user keeps its session's cookies for its whole life; a shape,
        when the file has one, drives the number of users."""
        options = {"noCookiesReset": True}
        if self.shape_class is not None:
            options["locustShape"] = self.shape_class.__name__
        return options

    def shape_tick(self, run_time):
        """The shape's `tick()` `run_time` seconds into the test: (users,
        spawn rate), or None to end the test."""
        if self.shape_class is None:
            return None
        if self.shape is None:
            self.shape = self.shape_class()
        self.shape._run_time = float(run_time)
        wanted = self.shape.tick()
        if wanted is None:
            return None
        if len(wanted) != 2:
            raise LoadError(f"{self.shape_class.__name__}.tick(): vespid takes (user_count, spawn_rate), not user classes")
        users, rate = wanted
        return (max(0, int(users)), max(0.0, float(rate)))

    def outline(self):
        """The user classes, as `locust --list` and `--show-task-ratio` show
        them: how each gets its users, its wait time and host, and its tasks
        (task sets nested) with weights, shares and tags."""
        lines = ["users:"]
        for cls in self.classes:
            fixed = int(getattr(cls, "fixed_count", 0))
            share = f"fixed_count {fixed}" if fixed > 0 else f"weight {int(getattr(cls, 'weight', 1))}"
            lines.append(f"  {cls.__name__}: {share}, wait {_wait_name(cls)}, host {cls.host or '-'}")
            _outline_tasks(cls, "    ", lines, set())
        if self.shape_class is not None:
            lines.append(f"shape: {self.shape_class.__name__} (its tick() sets the users each second)")
        return "\n".join(lines)

    def setup(self):
        locust.events.test_start.fire(environment=self.environment)
        return ""

    def init(self, setup_data):
        self.user = UserRun(self.class_for(vu.id()), self.environment)
        self.user.user.on_start()

    def run(self, task):
        self.user.run_one()

    def vu_end(self):
        if self.user is not None:
            self.user.stop()

    def teardown(self, setup_data):
        locust.events.test_stop.fire(environment=self.environment)


def _wait_name(cls):
    """How a User or TaskSet class waits, as written in the locustfile."""
    wait = cls.__dict__.get("wait_time", getattr(cls, "wait_time", None))
    if wait is None:
        return "none" if issubclass(cls, locust.User) else "its parent's"
    return getattr(wait, "vespid_name", None) or f"{getattr(wait, '__name__', 'custom')}() (custom)"


def _outline_tasks(cls, indent, lines, seen):
    """The tasks of a User or TaskSet class, one line each, task sets nested."""
    tasks = [(task, weight) for task, weight in users.tasks_of(cls) if weight > 0]
    total = sum(weight for _, weight in tasks) or 1
    holder_tags = set(cls.__dict__.get("locust_tag_set", ()))
    for task, weight in tasks:
        is_set = isinstance(task, type) and issubclass(task, locust.TaskSet)
        name = task.__name__
        if is_set:
            kind = "SequentialTaskSet" if issubclass(task, locust.SequentialTaskSet) else "TaskSet"
            name += f" ({kind}, wait {_wait_name(task)})"
        tags = sorted(set(getattr(task, "locust_tag_set", ())) | holder_tags)
        tagged = f", tags {', '.join(tags)}" if tags else ""
        lines.append(f"{indent}{name}: weight {weight}, {100.0 * weight / total:.1f}%{tagged}")
        if is_set and task not in seen:
            _outline_tasks(task, indent + "  ", lines, seen | {task})


class NativeScript:
    """A Vespid-native script: top-level functions, as the `vespid` package
    describes, with setup's result handed to the others as JSON data."""

    def __init__(self, file, namespace):
        self.namespace = namespace
        weights = namespace.get("tasks")
        if isinstance(weights, dict):
            for name in weights:
                if not callable(namespace.get(name)):
                    raise LoadError(f"{file}: `tasks` names {name!r}, which is not a function of the script")
            self.weighted = [(str(name), max(0, int(weight))) for name, weight in weights.items()]
        else:
            self.weighted = []
        self.data = None

    def call(self, name, *args):
        function = self.namespace.get(name)
        return function(*args) if callable(function) else None

    def tasks(self):
        return self.weighted

    def outline(self):
        return ""

    def options(self):
        # A VU keeps its cookies for its whole life, as a Rust plugin's does.
        return {"noCookiesReset": True}

    def shape_tick(self, run_time):
        return None

    def setup(self):
        result = self.call("setup")
        return "" if result is None else json.dumps(result)

    def init(self, setup_data):
        self.data = json.loads(setup_data) if setup_data else None
        self.call("init", self.data)

    def run(self, task):
        function = self.namespace.get(task)
        if not callable(function):
            raise LoadError(f"the script has no function {task!r}")
        function(self.data)

    def vu_end(self):
        self.call("vu_end", self.data)

    def teardown(self, setup_data):
        self.call("teardown", json.loads(setup_data) if setup_data else None)


class UserRun:
    """This VU's user, and the task sets it is inside, innermost last."""

    def __init__(self, cls, environment):
        self.user = cls(environment)
        self.inside = [self.user]

    def run_one(self):
        """One vespid iteration: one task of the innermost task set (entering
        the sets it picks on the way), then that set's wait."""
        current = self.inside[-1]
        task = current.next_task()
        while isinstance(task, type) and issubclass(task, locust.TaskSet):
            current = task(current)
            self.inside.append(current)
            current.on_start()
            task = current.next_task()
        self.user._task_started = time.monotonic()
        try:
            task(current)
        except locust.RescheduleTask:
            pass
        except locust.StopUser:
            # The host ends this VU after this iteration, then calls vu-end: on_stop.
            vu.stop()
            return
        except locust.InterruptTaskSet as interrupt:
            if current is self.user:
                raise
            self.inside.pop().on_stop()
            if interrupt.reschedule:
                return
        wait = current.wait_time_seconds()
        if wait > 0:
            vu.sleep(wait * 1000.0)

    def stop(self):
        """The user stops, as Locust stops it: the task sets it is inside
        leave (innermost first), then its own on_stop."""
        while len(self.inside) > 1:
            self.inside.pop().on_stop()
        self.user.on_stop()


_loaded = None
# The script's file name, known before it has loaded (for its load errors).
_script_file = "script"


def _script():
    """This instance's script, loaded by the first call that needs it."""
    global _loaded
    if _loaded is None:
        _loaded = Loaded()
    return _loaded.script


def _guarded(body):
    """Runs `body`; any exception leaves as the WIT error, never as a trap."""
    try:
        return body()
    except BaseException as error:  # noqa: BLE001: every escape would trap the instance
        raise Err(_one_line(error, _script_file)) from None


class Runner(exports.Runner):
    def describe(self):
        name = _file_name(script.source()).rsplit(".", 1)[0]
        try:
            tasks = _script().tasks()
        except BaseException:  # noqa: BLE001: `options` already reported it; describe has no error to give
            tasks = []
        return runner.Info(name=name, tasks=[runner.Task(name=task, weight=weight) for task, weight in tasks])

    def setup(self):
        return _guarded(lambda: _script().setup())

    def init(self, setup_data):
        _guarded(lambda: _script().init(setup_data))

    def run(self, task):
        # The one call per iteration: no closure on the way in.
        try:
            _loaded.script.run(task)
        except BaseException as error:  # noqa: BLE001: as in _guarded
            raise Err(_one_line(error, _script_file)) from None

    def teardown(self, setup_data):
        _guarded(lambda: _script().teardown(setup_data))


class Lifecycle(exports.Lifecycle):
    def vu_end(self):
        _guarded(lambda: _script().vu_end())


class ScriptRunner(exports.ScriptRunner):
    def options(self):
        return _guarded(lambda: json.dumps(_script().options()))

    def handle_summary(self, summary):
        return None

    def outline(self):
        return _guarded(lambda: _script().outline())

    def shape_tick(self, run_time):
        return _guarded(lambda: _script().shape_tick(run_time))
