"""Imports of the user's own modules: the locustfile's neighbours (`from
common.auth import login`) and pure-Python packages in the folders the run
names in PYTHONPATH (`--python-path`), read through the host
(`script.read-file`), which allows only files under the script's folder or
the folder vespid was started in. A compiled extension module cannot run
in the sandbox: only `.py` files are looked for."""
from importlib.machinery import ModuleSpec

from componentize_py_types import Err
from wit_world.imports import script

# How the host says a file is not there (Rust's io::ErrorKind::NotFound).
_NOT_FOUND = "No such file or directory"


class _SourceLoader:
    def __init__(self, file, text):
        self.file, self.text = file, text

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__file__ = self.file
        exec(compile(self.text, self.file, "exec"), module.__dict__)


class ScriptFolderFinder:
    """After the standard library's finder: a module is `<folder>/<name>.py`
    or a package `<folder>/<name>/__init__.py`, in the script's folder ("")
    and then each PYTHONPATH folder; a package's submodules in its own
    folder."""

    folders = [""]

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        tail = name.rpartition(".")[2]
        for folder in cls.folders if path is None else list(path):
            if not isinstance(folder, str):
                continue
            prefix = f"{folder}/" if folder else ""
            for file, package in ((f"{prefix}{tail}/__init__.py", True), (f"{prefix}{tail}.py", False)):
                try:
                    text = bytes(script.read_file(file)).decode("utf-8")
                except Err as failed:
                    if _NOT_FOUND in str(failed.value):
                        continue
                    raise ImportError(f"cannot import {name}: {failed.value}", name=name) from None
                spec = ModuleSpec(name, _SourceLoader(file, text), origin=file, is_package=package)
                if package:
                    spec.submodule_search_locations = [f"{prefix}{tail}"]
                spec.has_location = True
                return spec
        return None

    @classmethod
    def invalidate_caches(cls):
        pass
