"""Targets: what a plan compiles to (``dispatchc build --target NAME``)."""

from .base import DEFAULT as DEFAULT
from .base import HEADER as HEADER
from .base import REGISTRY as REGISTRY
from .base import Job as Job
from .base import Target as Target
from .base import get as get
from .base import recorded_target as recorded_target
from .base import summaries as summaries
