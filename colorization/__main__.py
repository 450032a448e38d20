"""python -m colorization NAME [options]: every command without installing anything."""

import sys

from .commands import main

sys.exit(main())
