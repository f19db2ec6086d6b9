"""Locust's wait times: functions of the user giving the seconds to wait
after each task, each named as it was made (`vespid inspect` prints it)."""
import random
import time


def _named(function, name):
    function.vespid_name = name
    return function


def between(min_wait, max_wait):
    return _named(lambda user: min_wait + random.random() * (max_wait - min_wait), f"between({min_wait}, {max_wait})")


def constant(wait_time):
    return _named(lambda user: wait_time, f"constant({wait_time})")


def constant_pacing(wait_time):
    """Waits so that a task and its wait take `wait_time` seconds together."""

    def pacing(user):
        started = getattr(user, "_task_started", None)
        if started is None:
            return wait_time
        return max(0.0, wait_time - (time.monotonic() - started))

    return _named(pacing, f"constant_pacing({wait_time})")


def constant_throughput(task_runs_per_second):
    pacing = constant_pacing(1.0 / task_runs_per_second)
    return _named(pacing, f"constant_throughput({task_runs_per_second})")
