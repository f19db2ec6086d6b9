"""The Python runtime component: runs a locustfile that the host hands over
at run time (`script.source`) on CPython, so one prebuilt component serves
every script. Each instance is one Locust user: `init` loads the script,
makes this VU's user and calls its `on_start`; `run` runs one task picked
by weight and then waits the user's `wait_time` through the host.

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

embedded_stdlib.install()

# Modules a locustfile commonly imports, initialised once in the image.
import base64, collections, dataclasses, datetime, hashlib, json, re, string, typing, uuid  # noqa: E401,F401,E402

import locust  # noqa: E402
from locust import user as users  # noqa: E402


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
    """The script of this instance: its module and user classes."""

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
        module = ModuleType(self.name)
        module.__file__ = self.file
        sys.modules[self.name] = module
        exec(compile(source.text, self.file, "exec"), module.__dict__)
        self.classes = [
            value for value in module.__dict__.values()
            if isinstance(value, type) and issubclass(value, locust.User) and not value.__dict__.get("abstract", False)
        ]
        if not self.classes:
            raise LoadError(f"{self.file}: no User class (a subclass of locust.User that is not abstract)")
        for cls in self.classes:
            if getattr(cls, "fixed_count", 0):
                raise LoadError(f"{self.file}: {cls.__name__}.fixed_count is not supported by vespid yet (use weight)")
            if not users.tasks_of(cls):
                raise LoadError(f"{self.file}: {cls.__name__} has no tasks (mark methods with @task or set `tasks`)")

    def class_for(self, vu_id):
        """The user class of VU `vu_id` (from 1): the classes share the VUs
        by `weight`, in a fixed order, so each class's share holds for any
        count of VUs."""
        weights = [max(0, int(getattr(cls, "weight", 1))) for cls in self.classes]
        total = sum(weights) or len(weights)
        slot = (vu_id - 1) % total
        for cls, weight in zip(self.classes, weights):
            if slot < weight:
                return cls
            slot -= weight
        return self.classes[0]


class UserRun:
    """This VU's user and its tasks with cumulative weights."""

    def __init__(self, cls):
        self.user = cls()
        self.tasks = []
        total = 0
        for task, weight in users.tasks_of(cls):
            if weight > 0:
                total += weight
                self.tasks.append((task, total))
        self.total = total

    def run_one(self):
        task = self.user.pick_task(self.tasks, self.total)
        self.user._task_started = time.monotonic()
        try:
            task(self.user)
        except locust.RescheduleTask:
            pass
        wait = self.user.wait_time_seconds()
        if wait > 0:
            vu.sleep(wait * 1000.0)


_loaded = None
_user_run = None
# The script's file name, known before it has loaded (for its load errors).
_script_file = "script"


def _load():
    global _loaded
    if _loaded is None:
        _loaded = Loaded()
    return _loaded


def _guarded(body):
    """Runs `body`; any exception leaves as the WIT error, never as a trap."""
    try:
        return body()
    except Err:
        raise
    except BaseException as error:  # noqa: BLE001: every escape would trap the instance
        raise Err(_one_line(error, _script_file)) from None


class Runner(exports.Runner):
    def describe(self):
        # Without loading the script: `options` reports a script that cannot load.
        return runner.Info(name=_file_name(script.source()).rsplit(".", 1)[0], tasks=[])

    def setup(self):
        return _guarded(lambda: (_load(), "")[1])

    def init(self, setup_data):
        def start():
            global _user_run
            loaded = _load()
            _user_run = UserRun(loaded.class_for(vu.id()))
            _user_run.user.on_start()

        _guarded(start)

    def run(self, task):
        _guarded(lambda: _user_run.run_one())

    def teardown(self, setup_data):
        pass


class ScriptRunner(exports.ScriptRunner):
    def options(self):
        return _guarded(lambda: (_load(), "{}")[1])

    def handle_summary(self, summary):
        return None
