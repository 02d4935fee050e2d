"""Entry point of ``python -m nfm_shards``."""

import sys

from .cli import main

sys.exit(main())
