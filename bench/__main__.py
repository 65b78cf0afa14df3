"""`make bench`: every benchmark, each in its own process, then one table of every figure.

Exits 1 when a figure misses its target (or a benchmark fails).
Run: .venv/bin/python -m bench [--smoke]
"""
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import figures
from localdev import PROJECT_ROOT

SCRIPTS = ('round_trips', 'cold_start', 'cpu', 'memory', 'notify_cost', 'package_size')


def main():
    args = figures.options(__doc__.split('\n')[0])
    gathered, failed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for script in SCRIPTS:
            print(f'\n==== bench.{script}', flush=True)
            out = Path(tmp) / f'{script}.json'
            command = [sys.executable, '-m', f'bench.{script}', '--figures-to', str(out)]
            run = subprocess.run(command + (['--smoke'] if args.smoke else []), cwd=PROJECT_ROOT)
            if out.exists():
                gathered += figures.load(out)
            if not out.exists() or run.returncode not in (0, 1):
                failed.append(script)
    print('\n==== every figure\n')
    print(figures.table(gathered))
    missed = [figure.name for figure in gathered if figure.missed]
    print(f'\n{len(gathered)} figures, {len(missed)} missed their target'
          + (f'; benchmarks that failed: {", ".join(failed)}' if failed else ''))
    sys.exit(1 if missed or failed else 0)


if __name__ == '__main__':
    main()
