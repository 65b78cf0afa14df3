"""The deployment zip: `make package` for the dev stage, its size against the 5 MB limit.

Packages a copy of the project into .local/bench/package, its config's
example values filled in (deploy/filled_copy.py: `make package` refuses them;
the build/ of `make package` is left alone), and reads the zip it wrote: its
size and its ten largest entries.
Skipped in smoke mode (packaging needs the package index the first time;
tests/test_deploy_template.py covers it).
Run: .venv/bin/python -m bench.package_size [--smoke]
"""
import os
import shutil
import subprocess
import sys

from bench import figures
from deploy import filled_copy
from deploy.package import ZIP_LIMIT, zip_summary
from localdev import LOCAL_DIR, PROJECT_ROOT

STAGE = 'dev'
OUT = LOCAL_DIR / 'bench' / 'package'


def measure(smoke=False):
    if smoke:
        print('deployment zip: not packaged in smoke mode')
        return []
    if OUT.exists():
        shutil.rmtree(OUT)
    filled_copy.make(OUT / 'source', requirements=True)
    # Chalice's cache of built dependencies: share the project's, as `make package` does.
    cache = PROJECT_ROOT / '.chalice' / 'deployments'
    cache.mkdir(parents=True, exist_ok=True)
    (OUT / 'source' / '.chalice' / 'deployments').symlink_to(cache, target_is_directory=True)
    env = {**os.environ, 'AWS_DEFAULT_REGION': os.environ.get('AWS_DEFAULT_REGION', 'us-east-1')}
    run = subprocess.run([sys.executable, '-m', 'deploy.package', '--stage', STAGE,
                          '--project-dir', str(OUT / 'source'), '--out', str(OUT)],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    zip_path = OUT / 'deployment.zip'
    if not zip_path.exists():
        raise RuntimeError(f'make package wrote no zip:\n{run.stdout[-2000:]}{run.stderr[-2000:]}')
    size, largest = zip_summary(zip_path)
    print(f'deployment zip ({STAGE} stage): {size / 1e6:.2f} MB; its largest entries (compressed):')
    for compressed, _, name in largest:
        print(f'  {compressed / 1e3:8.1f} kB  {name}')
    return [figures.check('deployment zip size', f'<= {ZIP_LIMIT / 1e6:.2f} MB', f'{size / 1e6:.2f} MB',
                          size <= ZIP_LIMIT)]


if __name__ == '__main__':
    figures.run(measure, __doc__.split('\n')[0])
