"""Similar: the five reward dimensions, the judges, MCTS-P, the SRM data and the reward model.

Submodules import torch only where they need it; ``import reward_model`` itself is cheap.
"""

from reward_model.dimensions import CODES, DIMENSIONS, PAIR_TYPES, TOTAL, Dimension

__all__ = ["CODES", "DIMENSIONS", "PAIR_TYPES", "TOTAL", "Dimension"]
