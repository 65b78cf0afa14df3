"""`make run`'s program as a real process on free ports, for the tests that need the whole local run."""
import os
import signal
import subprocess
import sys
import threading
import time

from localdev import PROJECT_ROOT
from localdev.ports import free_port


class RunCommand:
    def __init__(self, data_dir, extra_env=None, sigint_ignored=False, ports=None):
        """`sigint_ignored`: started the way a non-interactive shell starts a background job.
        `ports`: (Paygate's, the sandbox's), when the caller must know them first; else free ones."""
        self.port, self.sandbox_port = ports or (free_port(), free_port())
        env = {k: v for k, v in os.environ.items() if not k.startswith(('PAYGATE_', 'AWS_'))}
        env.update(extra_env or {})
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'localdev.run', '--port', str(self.port),
             '--sandbox-port', str(self.sandbox_port), '--data-dir', str(data_dir)],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None)
        self.output = []
        self._reader = None
        self._wait_for('Serving on')
        self.url = f'http://127.0.0.1:{self.port}'

    def _wait_for(self, text, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
            self.output.append(line)
            if text in line:
                return
        self.stop()
        raise AssertionError('run command did not start:\n' + ''.join(self.output))

    def keep_reading(self):
        """Collect the rest of the output from a thread, so that a long test never fills the pipe."""
        self._reader = threading.Thread(target=lambda: self.output.extend(self.process.stdout), daemon=True)
        self._reader.start()

    def stop(self, signum=signal.SIGINT):
        if self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout=30)
        if self._reader:
            self._reader.join(timeout=10)
        else:
            self.output.append(self.process.stdout.read())
        return ''.join(self.output)
