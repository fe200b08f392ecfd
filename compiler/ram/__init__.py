"""An independent RAM policy evaluator: the simulator's second opinion against the trie.

It reads RAM policy documents (ours or anyone's) and decides requests the way RAM does, with
its own glob matcher and condition code; it imports nothing else from the project.
"""

from compiler.ram.conditions import OPERATORS, Condition, ConditionError, KeyTest, fold_context
from compiler.ram.document import (
    PolicyDocument,
    PolicyDocumentError,
    Statement,
    UnsupportedPolicyError,
)
from compiler.ram.evaluator import Evaluation, RamEvaluator, StatementRef
from compiler.ram.glob import GlobPattern, glob_match

__all__ = [
    "OPERATORS",
    "Condition",
    "ConditionError",
    "Evaluation",
    "GlobPattern",
    "KeyTest",
    "PolicyDocument",
    "PolicyDocumentError",
    "RamEvaluator",
    "Statement",
    "StatementRef",
    "UnsupportedPolicyError",
    "fold_context",
    "glob_match",
]
