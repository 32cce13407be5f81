"""The exit statuses of every ``continuum`` subcommand, which scripts can rely on.

0    it worked (for ``config check``: the configuration is valid)
1    a runtime failure: the database, the gateway or a key store answered an error or
     could not be reached, or what was asked for does not exist (a key id to revoke)
2    a usage error: bad arguments (argparse's own status), or a bad configuration
     (a file, key or setting: the message names it and the fix)
130  interrupted (Ctrl-C)
"""

from __future__ import annotations

OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130

EPILOG = """\
exit status: 0 ok; 1 runtime failure (database or gateway unreachable, request refused,
nothing found); 2 usage error (bad arguments, or a bad configuration: the message names
the file, key and fix); 130 interrupted."""
