"""The target-neutral plan: precedence, names, automata, fallback chains.

``build(table)`` turns the IR into a ``Plan`` once; targets and tools
(explain, show, lint, diff) read it and never recompute order or names.
"""

from .automaton import MAX_STATES as MAX_STATES
from .automaton import State as State
from .plan import BlockPlan as BlockPlan
from .plan import HostRule as HostRule
from .plan import Plan as Plan
from .plan import PlanError as PlanError
from .plan import RoutePlan as RoutePlan
from .plan import build as build
from .plan import route_name as route_name
