import sys

from mocopr.cli import main

sys.exit(main())
