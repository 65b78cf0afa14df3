"""Tools for running Paygate on a laptop and in tests: DynamoDB Local, the
provider sandbox, and `chalice local` without its 44 ms keep-alive stall.
None of this is deployed."""
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = PROJECT_ROOT / '.local'
