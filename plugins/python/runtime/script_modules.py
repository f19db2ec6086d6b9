"""Imports of the user's own modules: the locustfile's neighbours (`from
common.auth import login`) and pure-Python packages in the folders the run
names in PYTHONPATH (`--python-path`). Each folder is a `sys.path` entry
`vespid:<folder>` (relative to the script's folder) served by a path hook
through the host (`script.read-file`, `script.list-dir`), which reaches only
files under the script's folder or the folder vespid was started in, so
`pkgutil.iter_modules` works too. Only `.py` files are looked for: a
compiled extension module cannot run in the sandbox."""
import sys
from importlib.machinery import ModuleSpec

from componentize_py_types import Err
from wit_world.imports import script

PREFIX = "vespid:"
# How the host says a file is not there (Rust's io::ErrorKind::NotFound).
_NOT_FOUND = "No such file or directory"


class _SourceLoader:
    def __init__(self, file, text):
        self.file, self.text = file, text

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__file__ = PREFIX + self.file
        exec(compile(self.text, PREFIX + self.file, "exec"), module.__dict__)


class ScriptFolderImporter:
    """The importer of one `vespid:<folder>` path entry: `<name>/__init__.py`
    (a package) or `<name>.py` in that folder."""

    def __init__(self, entry):
        if not isinstance(entry, str) or not entry.startswith(PREFIX):
            raise ImportError("not a folder of the script's")
        self.folder = entry[len(PREFIX):].rstrip("/")

    def _path(self, name):
        return f"{self.folder}/{name}" if self.folder else name

    def find_spec(self, fullname, target=None):
        tail = fullname.rpartition(".")[2]
        for file, package in ((self._path(f"{tail}/__init__.py"), True), (self._path(f"{tail}.py"), False)):
            try:
                text = bytes(script.read_file(file)).decode("utf-8")
            except Err as failed:
                if _NOT_FOUND in str(failed.value):
                    continue
                raise ImportError(f"cannot import {fullname}: {failed.value}", name=fullname) from None
            spec = ModuleSpec(fullname, _SourceLoader(file, text), origin=PREFIX + file, is_package=package)
            if package:
                spec.submodule_search_locations = [PREFIX + self._path(tail)]
            spec.has_location = True
            return spec
        return None

    def invalidate_caches(self):
        pass

    def iter_modules(self, prefix=""):
        """The modules and packages in the folder, as `pkgutil` lists them."""
        try:
            names = script.list_dir(self.folder or ".")
        except Err:
            return
        for name in names:
            if name.endswith("/"):
                try:
                    is_package = "__init__.py" in script.list_dir(self._path(name[:-1]))
                except Err:
                    is_package = False
                if is_package and name[:-1].isidentifier():
                    yield prefix + name[:-1], True
            elif name.endswith(".py") and name != "__init__.py" and name[:-3].isidentifier():
                yield prefix + name[:-3], False


def install(folders):
    """Run time (the host cannot be called at build time): the script's
    folder ("") and `folders` become path entries, served by the hook."""
    if ScriptFolderImporter not in sys.path_hooks:
        sys.path_hooks.insert(0, ScriptFolderImporter)
    for folder in [""] + list(folders):
        entry = PREFIX + folder.rstrip("/")
        if entry not in sys.path:
            sys.path.append(entry)
    sys.path_importer_cache.clear()
