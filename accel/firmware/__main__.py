import sys

from accel.firmware.cli import main

sys.exit(main())
