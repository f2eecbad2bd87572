import sys

from trm_bio.cli import main

sys.exit(main())
