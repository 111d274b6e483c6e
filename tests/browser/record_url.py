"""The "browser" JupyterLab launches in the browser smoke test: it writes the address it was asked
to open (argv[2]) to a file (argv[1]), so the test can open what `make course` opens."""
import sys

with open(sys.argv[1], "w", encoding="utf-8") as f:
    f.write(sys.argv[2])
