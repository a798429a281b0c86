"""`python -m graphreg_zoo.cli` = `graphreg-zoo`."""
from . import main

main()
