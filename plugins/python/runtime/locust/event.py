"""Locust's event hooks (`from locust import events`) and the
`Environment` handed to them, mapped onto a vespid run: `init` fires in
every instance once the locustfile has loaded (each VU is an instance of
its own), `test_start` in setup and `test_stop` in teardown (once per run,
on the setup instance), `request` after each request of `self.client`, and
`init_command_line_parser` lets a locustfile declare options, whose values
come from the run's env (`-e NAME=value`)."""
import os
from types import SimpleNamespace


class EventHook:
    def __init__(self):
        self._handlers = []

    def add_listener(self, handler):
        self._handlers.append(handler)
        return handler

    def remove_listener(self, handler):
        self._handlers.remove(handler)

    def fire(self, **kwargs):
        for handler in list(self._handlers):
            handler(**kwargs)


class Events:
    """The hooks vespid fires; any other of Locust's is an error naming it."""

    SUPPORTED = ("init", "init_command_line_parser", "test_start", "test_stop", "request")

    def __init__(self):
        for name in self.SUPPORTED:
            setattr(self, name, EventHook())

    def __getattr__(self, name):
        raise AttributeError(f"locust.events.{name} is not supported by vespid (it fires {', '.join(self.SUPPORTED)})")


class OptionParser:
    """What `init_command_line_parser` listeners get: options a locustfile
    adds are read from the run's env, under `env_var` or the option's name
    in capitals (`--my-option` → MY_OPTION)."""

    def __init__(self):
        self.options = []

    def add_argument(self, *names, default=None, type=None, env_var=None, dest=None, action=None, **ignored):
        longest = max(names, key=len)
        dest = dest or longest.lstrip("-").replace("-", "_")
        self.options.append((dest, env_var or dest.upper(), default, type, action))

    def parse(self):
        values = {}
        for dest, variable, default, convert, action in self.options:
            text = os.environ.get(variable)
            if text is None:
                values[dest] = default
            elif action == "store_true":
                values[dest] = text.lower() in ("1", "true", "yes", "on")
            else:
                values[dest] = convert(text) if convert else text
        return SimpleNamespace(**values)


class Environment:
    """Locust's `environment` as a vespid instance sees it."""

    def __init__(self, events, host):
        self.events = events
        self.host = host
        self.parsed_options = SimpleNamespace()
        self.runner = None
        self.shape_class = None
        self.stats = None


events = Events()
