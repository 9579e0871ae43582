import sys

from wayfarer.cli import main

sys.exit(main())
