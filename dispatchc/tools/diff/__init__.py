"""``dispatchc diff``: which requests a change to a routing file handles
differently (SPEC §11).

``regions`` finds every region of requests (host and path) whose handling
differs, from the two files' plans; ``handling`` asks explain what each file
does with the region's example URL; ``engine`` puts the two together;
``as_text``, ``as_json``, ``as_github`` and ``as_markdown`` print them;
``git`` reads the old file from a revision; ``command`` is the command.
"""

from .command import run as run
from .engine import Change as Change
from .engine import FileDiff as FileDiff
from .engine import compare as compare
