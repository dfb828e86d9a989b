"""Typed errors raised when a Questionnaire cannot be used; messages are safe to show users."""


class QuestionnaireError(Exception):
    """Base class: this Questionnaire cannot be rendered; str(error) is a plain-language reason."""


class UnsupportedQuestionnaire(QuestionnaireError):
    """The Questionnaire uses something we must refuse (unknown modifier extension, bad structure)."""


class QuestionnaireTooLarge(QuestionnaireError):
    """The Questionnaire exceeds a size limit (item count, nesting depth, option count)."""
