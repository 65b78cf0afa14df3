"""A Lambda-like Python path: what the deployment zip holds, as sources only, then the runtime's boto3.

A Lambda function runs from its deployment package (app.py, chalicelib/,
Chalice's runtime and the packages of requirements.txt with what they need,
with the bytecode `make package` adds: deploy/lambda_zip.py), in front of the
runtime's own boto3 and what boto3 needs. A process started by `command` gets
the same: no site-packages (`python -S`), a copy of what the zip holds first
on its path (compiled as deploy/lambda_zip.py compiles it), then links to the
installed boto3 and its requirements, and no bytecode written.
"""
import compileall
import importlib.metadata
import os
import shutil
import sys
from pathlib import Path

from deploy import lambda_zip
from localdev import LOCAL_DIR, PROJECT_ROOT

SITE = LOCAL_DIR / 'bench' / 'lambda'
PACKAGE = SITE / 'package'      # /var/task
RUNTIME = SITE / 'runtime'      # the runtime's boto3
APP_FILES = ('app.py', 'chalicelib')
SKIP = shutil.ignore_patterns('__pycache__', '*.pyc')


def build():
    """(Re)write the site from the project and the installed packages; return its path entries."""
    if SITE.exists():
        shutil.rmtree(SITE)
    PACKAGE.mkdir(parents=True)
    RUNTIME.mkdir(parents=True)
    packaged = closure(_requirements(PROJECT_ROOT / 'requirements.txt'))
    for dist in packaged.values():
        for top in _top_levels(dist):
            _copy(top, PACKAGE / top.name)
    import chalice
    from chalice import app as chalice_app
    (PACKAGE / 'chalice').mkdir()
    shutil.copy2(chalice.__file__, PACKAGE / 'chalice' / '__init__.py')
    shutil.copy2(chalice_app.__file__, PACKAGE / 'chalice' / 'app.py')
    for name in APP_FILES:
        _copy(PROJECT_ROOT / name, PACKAGE / name)
    for left_out in lambda_zip.LEFT_OUT:
        shutil.rmtree(PACKAGE / left_out, ignore_errors=True)
    compileall.compile_dir(str(PACKAGE), ddir=lambda_zip.TASK_ROOT, quiet=2,
                           invalidation_mode=lambda_zip.MODE)
    for dist in closure(['boto3']).values():
        for top in _top_levels(dist):
            (RUNTIME / top.name).symlink_to(top)
    return [PACKAGE, RUNTIME]


def command(code, *args):
    """A fresh interpreter running `code` on the Lambda-like path (give it `environment()`)."""
    return [sys.executable, '-S', '-c', code, *args]


def environment(package=True, extra_path=()):
    """The path of a function (`package`: its deployment package, then the runtime) or of the
    runtime alone (what a function with nothing of its own would have)."""
    path = ([PACKAGE] if package else []) + [RUNTIME, *extra_path]
    return {'PYTHONPATH': os.pathsep.join(str(entry) for entry in path), 'PYTHONDONTWRITEBYTECODE': '1'}


def closure(names):
    """{name: distribution} of `names` and everything they require (extras left out)."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
    found, wanted = {}, list(names)
    while wanted:
        name = canonicalize_name(wanted.pop())
        if name in found:
            continue
        found[name] = dist = importlib.metadata.distribution(name)
        for text in dist.requires or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({'extra': ''}):
                wanted.append(requirement.name)
    return found


def _requirements(path):
    from packaging.requirements import Requirement
    lines = (line.split('#')[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line).name for line in lines if line and not line.startswith('-')]


def _top_levels(dist):
    """The installed top-level packages and modules of a distribution."""
    root = Path(dist.locate_file(''))
    names = {Path(str(file)).parts[0] for file in dist.files or ()}
    return [root / name for name in sorted(names)
            if not name.endswith(('.dist-info', '.egg-info', '.pth')) and name not in ('..', '__pycache__')]


def _copy(source, target):
    if source.is_dir():
        shutil.copytree(source, target, ignore=SKIP)
    else:
        shutil.copy2(source, target)
