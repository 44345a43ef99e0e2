import sys

from accel.firmware.build import main

sys.exit(main())
