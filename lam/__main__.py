import sys

from lam.cli.main import main

sys.exit(main())
