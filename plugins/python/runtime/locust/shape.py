"""Locust's LoadTestShape: a class whose `tick()` says, about once a
second, how many users the test wants and how fast to get there; None
ends the test. vespid's host calls it on the run's setup instance."""


class LoadTestShape:
    """Subclass it and define `tick()`, returning `(user_count,
    spawn_rate)` or None."""

    abstract = True
    runner = None
    use_common_options = False

    def __init__(self):
        self._run_time = 0.0
        self._offset = 0.0

    def reset_time(self):
        """Counts the run time from now."""
        self._offset = self._run_time

    def get_run_time(self):
        """Seconds since the test started (or since `reset_time`)."""
        return self._run_time - self._offset

    def get_current_user_count(self):
        from wit_world.imports import vu

        return vu.active_vus()

    def tick(self):
        raise NotImplementedError("a LoadTestShape defines tick()")
