"""The centring study: how fast and how stably each centring setup trains.

:func:`centering_study` fits named setups × a learning-rate grid × runs (repeats × CV
folds), every setup of a run from one start, and returns a :class:`CenteringStudy`;
:class:`CenteringStudyDisplay` plots it. :data:`STUDY_FIGURES` is the registry of the
per-fit figures (name -> :class:`StudyFigure`) that the study's arrays, summary,
``cv_results_`` and the command line's outputs are built from;
:data:`DEFAULT_TARGET_RULE` states how the default target loss is chosen.
"""

from ._display import CenteringStudyDisplay
from ._figures import DEFAULT_TARGET_RULE, STUDY_FIGURES, StudyFigure
from ._study import CenteringStudy, centering_study

__all__ = ["DEFAULT_TARGET_RULE", "STUDY_FIGURES", "CenteringStudy", "CenteringStudyDisplay",
           "StudyFigure", "centering_study"]
