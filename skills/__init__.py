"""The nine skills of the Trauma Resiliency Model as data, their practice flow and sensation logs.

This package never imports ``trm_bio`` (nor Qt): the app imports it.
"""

from skills.flow import FlowError, FlowEvent, FlowState, PracticeFlow
from skills.loader import default_user_dir, load_plans, load_skills
from skills.model import (
    HELP_NOW_ID,
    Plan,
    PlanLibrary,
    Skill,
    SkillFileError,
    SkillLibrary,
    Step,
    Strategy,
    UnknownSkillError,
)
from skills.sensations import (
    BODY_LOCATIONS,
    SENSATION_WORDS,
    SensationError,
    SensationLog,
    Valence,
    Vocabulary,
    Zone,
    ZoneRating,
    load_vocabulary,
    log_entry_from_dict,
)

__all__ = [
    "BODY_LOCATIONS",
    "HELP_NOW_ID",
    "SENSATION_WORDS",
    "FlowError",
    "FlowEvent",
    "FlowState",
    "Plan",
    "PlanLibrary",
    "PracticeFlow",
    "SensationError",
    "SensationLog",
    "Skill",
    "SkillFileError",
    "SkillLibrary",
    "Step",
    "Strategy",
    "UnknownSkillError",
    "Valence",
    "Vocabulary",
    "Zone",
    "ZoneRating",
    "default_user_dir",
    "load_plans",
    "load_skills",
    "load_vocabulary",
    "log_entry_from_dict",
]
