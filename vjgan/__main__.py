"""`python -m vjgan` is the `vjgan` command."""

import sys

from vjgan.cli import main

sys.exit(main())
