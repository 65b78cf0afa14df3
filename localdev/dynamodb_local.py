"""Amazon's DynamoDB Local, fetched from the npm registry and run on 127.0.0.1.

Amazon's download site is out of reach on machines that only see package
registries; the npm package amplify-dynamodb-simulator ships DynamoDB Local
1.25.1 inside it. `npm pack` fetches the tarball alone (no install scripts);
we keep its emulator/ directory under .local/ and check the jar's digest.
"""
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from localdev import LOCAL_DIR, ports

PACKAGE = 'amplify-dynamodb-simulator@2.9.30'
JAR_SHA256 = '454305e9bc3e6ebcca5b62569869e31563b8d7e346474e94557b2600702146c7'
INSTALL_DIR = LOCAL_DIR / 'dynamodb-local'
LAUNCHER = Path(__file__).with_name('LoopbackDynamoDB.java')


def _require(command, hint):
    path = shutil.which(command)
    if not path:
        raise RuntimeError(f'{command} is needed for DynamoDB Local: {hint}')
    return path


def ensure_installed():
    """Fetch DynamoDB Local once; return the directory holding DynamoDBLocal.jar."""
    jar = INSTALL_DIR / 'DynamoDBLocal.jar'
    if jar.exists() and _sha256(jar) == JAR_SHA256:
        return INSTALL_DIR
    npm = _require('npm', 'install Node.js and npm (Debian: apt-get install npm)')
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, 'pack', PACKAGE, '--silent', '--pack-destination', tmp],
                       check=True, stdout=subprocess.DEVNULL)
        tarball = next(Path(tmp).glob('*.tgz'))
        staging = Path(tmp) / 'x'
        with tarfile.open(tarball) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith('package/emulator/')]
            archive.extractall(staging, members=members, filter='data')
        if _sha256(staging / 'package/emulator/DynamoDBLocal.jar') != JAR_SHA256:
            raise RuntimeError(f'{PACKAGE} holds an unexpected DynamoDBLocal.jar; refusing to run it')
        if INSTALL_DIR.exists():
            shutil.rmtree(INSTALL_DIR)
        INSTALL_DIR.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging / 'package/emulator'), INSTALL_DIR)
    return INSTALL_DIR


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


class DynamoDBLocal:
    """One DynamoDB Local process on 127.0.0.1; in memory unless given a data directory."""

    def __init__(self, data_dir=None, port=None):
        self.data_dir = data_dir
        self.port = port or ports.free_port()
        self.process = None

    @property
    def endpoint(self):
        return f'http://127.0.0.1:{self.port}'

    def start(self, timeout=90):
        home = ensure_installed()
        java = _require('java', 'install Java 17 or newer (Debian: apt-get install default-jre-headless)')
        storage = ['-inMemory']
        if self.data_dir:
            Path(self.data_dir).mkdir(parents=True, exist_ok=True)
            storage = ['-dbPath', str(self.data_dir)]
        command = [java, f'-Djava.library.path={home / "DynamoDBLocal_lib"}',
                   '-cp', str(home / 'DynamoDBLocal.jar'), str(LAUNCHER),
                   '-port', str(self.port), '-sharedDb', '-disableTelemetry', *storage]
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self._log,
                                        cwd=home, start_new_session=True)
        try:
            ports.wait_listening(self.port, timeout, self.process)
        except RuntimeError as exc:
            errors = self.stop() or ''
            raise RuntimeError(f'DynamoDB Local did not start: {exc}\n{errors}') from None
        return self

    def stop(self):
        """Stop the process; return what it wrote to stderr (for error messages)."""
        if self.process is None:
            return ''
        process, self.process = self.process, None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._log.seek(0)
        errors = self._log.read().decode('utf-8', 'replace')
        self._log.close()
        return errors

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def client_environment(endpoint):
    """Environment that points boto3 at a local endpoint with throwaway credentials."""
    return {'PAYGATE_DYNAMODB_ENDPOINT': endpoint,
            'AWS_ACCESS_KEY_ID': os.environ.get('AWS_ACCESS_KEY_ID', 'local'),
            'AWS_SECRET_ACCESS_KEY': os.environ.get('AWS_SECRET_ACCESS_KEY', 'local'),
            'AWS_DEFAULT_REGION': os.environ.get('AWS_DEFAULT_REGION', 'us-east-1')}


if __name__ == '__main__':
    print(f'DynamoDB Local is in {ensure_installed()}')
