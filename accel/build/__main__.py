import sys

from accel.build.cli import main

sys.exit(main())
