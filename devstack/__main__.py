"""Entry point: ``python -m devstack``."""

import logging
import os
import sys

from devstack.app import main

code = main()
# Everything is stopped and flushed by now; skip the interpreter's finalization, which takes
# seconds once moto's many modules are loaded.
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
