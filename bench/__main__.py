"""`python -m bench`: run every benchmark and print the table."""
import sys

from bench.run import main

sys.exit(main())
