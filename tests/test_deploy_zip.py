"""The deployment zip `make package` finishes: bytecode Python loads as is, no test suites, at most 5 MB.

The zips here are small ones made by the test, so no packaging (and no package
index) is needed; tests/test_deploy_template.py packages the real stages and
checks the summary `make package` prints for them.
"""
import os
import subprocess
import sys
import zipfile

import pytest

from deploy import lambda_zip, package

MODULE = 'def answer():\n    return 42\n'


def zipped(tmp_path, entries):
    path = tmp_path / 'deployment.zip'
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def names(path):
    with zipfile.ZipFile(path) as archive:
        return set(archive.namelist())


def test_each_module_gets_the_bytecode_this_runtime_loads(tmp_path):
    path = zipped(tmp_path, {'chalicelib/answers.py': MODULE, 'chalicelib/catalog.json': '[]',
                             'broken.py': 'def (:\n'})
    lambda_zip.finish(path, with_bytecode=True)
    tag = sys.implementation.cache_tag
    assert names(path) == {'chalicelib/answers.py', f'chalicelib/__pycache__/answers.{tag}.pyc',
                           'chalicelib/catalog.json', 'broken.py'}


def test_the_bytecode_is_used_without_comparing_it_with_the_source(tmp_path):
    """Lambda unpacks the zip with times of its own: the .pyc must be taken as it is. Shown by
    changing the unpacked source: the module still answers what the packaged one did."""
    path = zipped(tmp_path, {'answers.py': MODULE})
    lambda_zip.finish(path, with_bytecode=True)
    task = tmp_path / 'task'
    zipfile.ZipFile(path).extractall(task)
    (task / 'answers.py').write_text('def answer():\n    return 0\n')
    run = subprocess.run([sys.executable, '-c', 'import answers; print(answers.answer(), answers.__file__)'],
                         cwd=task, env={**os.environ, 'PYTHONPATH': str(task)}, capture_output=True, text=True)
    assert run.stdout.split()[0] == '42', run.stderr


def test_bytecode_names_the_files_where_lambda_puts_them(tmp_path):
    path = zipped(tmp_path, {'chalicelib/answers.py': 'def fail():\n    raise ValueError\n'})
    lambda_zip.finish(path, with_bytecode=True)
    with zipfile.ZipFile(path) as archive:
        pyc = archive.read(f'chalicelib/__pycache__/answers.{sys.implementation.cache_tag}.pyc')
    assert b'/var/task/chalicelib/answers.py' in pyc


def test_pycryptodomes_self_tests_are_left_out_and_nothing_else(tmp_path):
    path = zipped(tmp_path, {'Crypto/SelfTest/__init__.py': '', 'Crypto/SelfTest/Hash/test_MD5.py': '',
                             'Crypto/Hash/MD5.py': MODULE, 'app.py': MODULE})
    lambda_zip.finish(path, with_bytecode=False)
    assert names(path) == {'Crypto/Hash/MD5.py', 'app.py'}


@pytest.mark.parametrize('runtime, matches', [
    (f'python{sys.version_info.major}.{sys.version_info.minor}', True),
    (f'python{sys.version_info.major}.{sys.version_info.minor + 1}', False)])
def test_bytecode_is_made_only_for_the_runtime_this_interpreter_is(runtime, matches):
    assert lambda_zip.runtime_matches(runtime) is matches


def test_a_zip_over_the_limit_is_refused_and_named(tmp_path):
    path = zipped(tmp_path, {'blob.bin': os.urandom(package.ZIP_LIMIT // 2)})
    assert package.oversize(path) is None
    assert package.oversize(path, limit=package.ZIP_LIMIT // 4) == \
        f'{path} is {path.stat().st_size / 1e6:.2f} MB, over 1 MB'


def test_the_summary_lists_the_ten_largest_entries_largest_first(tmp_path):
    path = zipped(tmp_path, {f'file{n:02d}.bin': os.urandom(1000 * n) for n in range(1, 13)})
    size, largest = package.zip_summary(path)
    assert size == path.stat().st_size
    assert [name for _, _, name in largest] == [f'file{n:02d}.bin' for n in range(12, 2, -1)]


PAYGATES_CRYPTO = '''
from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15
from Crypto.Util.asn1 import DerSequence
key = RSA.import_key(RSA.generate(2048).export_key())
digest = SHA256.new(b'paygate')
pkcs1_15.new(RSA.import_key(key.publickey().export_key(format='DER'))).verify(digest, pkcs1_15.new(key).sign(digest))
sealed, tag = AES.new(b'k' * 32, AES.MODE_GCM, nonce=b'n' * 12).encrypt_and_digest(b'paid')
assert AES.new(b'k' * 32, AES.MODE_GCM, nonce=b'n' * 12).decrypt_and_verify(sealed, tag) == b'paid'
assert AES.new(b'k' * 32, AES.MODE_ECB).decrypt(AES.new(b'k' * 32, AES.MODE_ECB).encrypt(b'x' * 16)) == b'x' * 16
AES.new(b'k' * 16, AES.MODE_CBC, iv=b'i' * 16).decrypt(b'x' * 16)
DerSequence().decode(DerSequence([1, 2]).encode())
import Crypto, sys
print(Crypto.__file__)
'''


def test_the_trimmed_pycryptodome_still_does_all_paygate_asks_of_it(tmp_path):
    """pycryptodome as installed, zipped and trimmed as make package trims it, alone on the path."""
    import Crypto
    installed = os.path.dirname(Crypto.__file__)
    entries = {}
    for folder, _, files in os.walk(installed):
        for name in files:
            if '__pycache__' not in folder:
                full = os.path.join(folder, name)
                entries[os.path.relpath(full, os.path.dirname(installed))] = open(full, 'rb').read()
    path = zipped(tmp_path, entries)
    lambda_zip.finish(path, with_bytecode=False)
    left = names(path)
    assert not [name for name in left if name.startswith(lambda_zip.LEFT_OUT)]
    assert len(left) < len(entries)
    task = tmp_path / 'task'
    zipfile.ZipFile(path).extractall(task)
    run = subprocess.run([sys.executable, '-S', '-c', PAYGATES_CRYPTO], cwd=tmp_path, capture_output=True,
                         text=True, env={'PYTHONPATH': str(task), 'PATH': os.environ.get('PATH', '')})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(task / 'Crypto' / '__init__.py')
