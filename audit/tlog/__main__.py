"""`python -m audit.tlog ...` is the same as `python -m audit.tlog.verify ...`."""

import sys

from .verify import main

sys.exit(main())
