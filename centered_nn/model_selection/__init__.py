"""The centring study: how fast and how stably each centring setup trains.

:func:`centering_study` fits named setups × a learning-rate grid × CV folds from one
start and returns a :class:`CenteringStudy`; :class:`CenteringStudyDisplay` plots it.
"""

from ._display import CenteringStudyDisplay
from ._study import CenteringStudy, centering_study

__all__ = ["CenteringStudy", "CenteringStudyDisplay", "centering_study"]
