"""CPython's standard library inside the runtime component.

componentize-py keeps only the modules imported while it builds; a
locustfile may import any of the others at run time, when there is no
filesystem. At build time this walks the standard library that
componentize-py mounts at /python, compiles every module and keeps its
code marshalled and compressed in memory (so in the component's image);
at run time a finder first on `sys.meta_path` serves imports from there.
"""
import marshal
import os
import sys
import zlib
from importlib.machinery import ModuleSpec

# Where componentize-py mounts the standard library while it builds.
STDLIB = "/python"
# Tests, GUIs, installers and build-only folders: never imported by a locustfile.
SKIPPED = {
    "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data", "site-packages",
    "__pycache__", "_pyrepl", "venv", "__phello__", "lib-dynload",
}

# Module name -> one byte (1: a package) + zlib(marshal(code)).
_CODE = {}


def _add(name, path, is_package):
    try:
        with open(path, "rb") as source:
            code = compile(source.read(), path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, OSError):
        return  # a module this CPython cannot compile is one no locustfile can import either
    _CODE[name] = bytes([is_package]) + zlib.compress(marshal.dumps(code), 6)


def _walk(folder, prefix):
    for entry in sorted(os.listdir(folder)):
        path = folder + "/" + entry
        if entry in SKIPPED or entry.startswith("config-"):
            continue
        if entry.endswith(".py") and entry != "__init__.py":
            _add(prefix + entry[:-3], path, 0)
        elif os.path.isdir(path) and os.path.exists(path + "/__init__.py"):
            _add(prefix + entry, path + "/__init__.py", 1)
            _walk(path, prefix + entry + ".")


class _Loader:
    @staticmethod
    def create_module(spec):
        return None

    @staticmethod
    def exec_module(module):
        code = marshal.loads(zlib.decompress(memoryview(_CODE[module.__spec__.name])[1:]))
        module.__file__ = code.co_filename
        exec(code, module.__dict__)


class EmbeddedFinder:
    """Finds standard-library modules in memory, never on a filesystem."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        code = _CODE.get(name)
        if code is None:
            return None
        spec = ModuleSpec(name, _Loader, origin=name, is_package=bool(code[0]))
        spec.has_location = False
        return spec

    @staticmethod
    def invalidate_caches():
        pass


def install():
    """Build time: reads the standard library and puts the finder in place."""
    if os.path.isdir(STDLIB):
        _walk(STDLIB, "")
    if not any(finder is EmbeddedFinder for finder in sys.meta_path):
        # After the built-in and frozen importers, before the path finder.
        sys.meta_path.insert(2, EmbeddedFinder)
