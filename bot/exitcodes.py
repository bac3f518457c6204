"""The exit codes of every ``factbot`` command, defined once (docs/cli.md tells operators what each means).

0 is success; click itself exits 2 for a usage error (an unknown option, a missing argument).
"""

EXIT_OK = 0
EXIT_NOT_FOUND = 1  # no such claim or subscription; the thing asked for was not done
EXIT_USAGE = 2  # click's own code for a malformed command line
EXIT_BAD_INPUT = 3  # a file or value that cannot be used as given
EXIT_CONFIG = 4  # the configuration, a token or the database prevents starting
EXIT_DB = EXIT_CONFIG  # the database cannot be opened, read or written: the same operator-side problem
