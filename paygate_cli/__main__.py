"""`python -m paygate_cli`: the same as the `paygate` command."""
from paygate_cli.main import run

run()
