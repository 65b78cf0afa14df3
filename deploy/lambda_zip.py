"""The deployment zip as Lambda should get it: packages' own test suites left out, bytecode added.

Chalice's package holds sources only, and Lambda's /var/task is read-only: without
bytecode beside them, every cold start compiles each module it imports (a third
of a notification's cold start, measured by `make bench`). Each .py in the zip
gets its `__pycache__/<name>.<tag>.pyc`, hash-based and unchecked (PEP 552), so
Python loads it without comparing it with the source, whose times Lambda sets
when it unpacks the zip. Made only when this interpreter is the stage's runtime
(Chalice builds the package for the interpreter it runs on); the code objects
name their files as Lambda sees them, under /var/task. Left out, to make room for
the bytecode: pycryptodome's SelfTest package and its native modules for the
keys and ciphers Paygate never uses (elliptic curves, post-quantum keys,
bcrypt, KangarooTwelve). Paygate uses RSA (PKCS#1 v1.5 signatures, PEM and DER
keys), AES (GCM, ECB, CBC) and SHA; tests/test_deploy_zip.py runs them from a
package trimmed this way.
"""
import importlib.util
import py_compile
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

TASK_ROOT = '/var/task'
MODE = py_compile.PycInvalidationMode.UNCHECKED_HASH
LEFT_OUT = ('Crypto/SelfTest/', 'Crypto/PublicKey/_ec_', 'Crypto/PublicKey/_ed25519', 'Crypto/PublicKey/_ed448',
            'Crypto/PublicKey/_curve25519', 'Crypto/PublicKey/_curve448', 'Crypto/PublicKey/_mlkem',
            'Crypto/PublicKey/_mldsa', 'Crypto/Cipher/_raw_eksblowfish', 'Crypto/Hash/_k12')


def runtime_matches(runtime):
    """Whether this interpreter makes bytecode the stage's runtime (e.g. python3.11) loads."""
    return runtime == f'python{sys.version_info.major}.{sys.version_info.minor}'


def finish(path, with_bytecode):
    """Rewrite the zip at `path`: LEFT_OUT dropped, and a .pyc added for each .py when `with_bytecode`."""
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / 'package.zip'
        with zipfile.ZipFile(path) as source, \
                zipfile.ZipFile(staged, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as target:
            for entry in source.infolist():
                if entry.filename.startswith(LEFT_OUT):
                    continue
                data = source.read(entry)
                target.writestr(entry, data, zipfile.ZIP_DEFLATED, 9)
                pyc = compiled(entry.filename, data, Path(tmp)) \
                    if with_bytecode and entry.filename.endswith('.py') else None
                if pyc is not None:
                    target.writestr(_pyc_entry(entry), pyc, zipfile.ZIP_DEFLATED, 9)
        shutil.move(staged, path)


def compiled(name, source, workdir):
    """The .pyc bytes of the module at `name` (its path in the package) with `source`; None for a
    file this Python cannot compile (a package's file for other versions, never imported here)."""
    module = workdir / 'module.py'
    module.write_bytes(source)
    pyc = workdir / 'module.pyc'
    try:
        py_compile.compile(str(module), cfile=str(pyc), dfile=f'{TASK_ROOT}/{name}', doraise=True,
                           invalidation_mode=MODE)
    except py_compile.PyCompileError:
        return None
    return pyc.read_bytes()


def _pyc_entry(entry):
    info = zipfile.ZipInfo(importlib.util.cache_from_source(entry.filename), entry.date_time)
    info.external_attr = entry.external_attr
    return info
