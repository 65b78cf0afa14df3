"""A copy of the project to package, its config's example values filled in as a merchant's would be.

`make package` refuses a stage that still holds the committed config's example
values, so the tests and benchmarks that package the project package a copy.
"""
import json
import re
import shutil

from deploy.package import ALL_ZEROS, PROJECT_ROOT


def make(target, filled=True, requirements=False):
    """Copy app.py, chalicelib/ and .chalice/*.json into `target` (and requirements.txt when
    `requirements`: the zip then carries the dependencies, as a real package does)."""
    target.mkdir(parents=True)
    shutil.copy2(PROJECT_ROOT / 'app.py', target / 'app.py')
    if requirements:
        shutil.copy2(PROJECT_ROOT / 'requirements.txt', target / 'requirements.txt')
    shutil.copytree(PROJECT_ROOT / 'chalicelib', target / 'chalicelib',
                    ignore=shutil.ignore_patterns('__pycache__'))
    (target / '.chalice').mkdir()
    for path in (PROJECT_ROOT / '.chalice').glob('*.json'):
        shutil.copy2(path, target / '.chalice' / path.name)
    if filled:
        config_path = target / '.chalice' / 'config.json'
        config = json.loads(config_path.read_text())
        for stage in config['stages'].values():
            variables = stage.get('environment_variables', {})
            variables.update({name: merchant_value(value) for name, value in variables.items()})
        config_path.write_text(json.dumps(config, indent=2))


def merchant_value(value):
    """A merchant's value for one of the config's examples (others unchanged)."""
    value = value.replace('CHANGE-ME-', 'merchant-').replace('example.com', 'merchant.test')
    return value[:-1] + '1' if ALL_ZEROS.fullmatch(value) else value
