"""What `make deploy` checks before it touches AWS: the stage's settings that would otherwise fail
a customer's request, not the deploy. Each problem names its variable and what is wrong.

    python -m ops --stage dev bootstrap     (runs these first and stops on any problem)
"""
from __future__ import annotations

from pydantic import ValidationError

from chalicelib.platform.settings import ENV_PREFIX, Settings


def stage_problems(environment: dict[str, str]) -> list[str]:
    """The problems of a stage's CLOSELOOP_* variables (as Lambda will see them); none: deployable."""
    from chalicelib.why import TaxonomyError, load_taxonomy
    from chalicelib.why.reasons import parse_reasons

    values = {name: environment[ENV_PREFIX + name.upper()] for name in Settings.model_fields
              if ENV_PREFIX + name.upper() in environment}
    try:
        settings = Settings(**values)
    except ValidationError as error:
        return [f"{ENV_PREFIX}{'.'.join(map(str, problem['loc'])).upper() or 'SETTINGS'}: {problem['msg']}"
                for problem in error.errors()]
    problems = []
    try:
        parse_reasons(settings.reasons)
    except ValueError as error:
        problems.append(f"{ENV_PREFIX}REASONS: {error}")
    try:
        taxonomy = load_taxonomy.__wrapped__(settings.themes_taxonomy)  # read afresh: the file may have changed
    except TaxonomyError as error:
        problems.append(f"{ENV_PREFIX}THEMES_TAXONOMY: {error}")
        return problems
    return problems + routing_problems(settings.routing, [theme.key for theme in taxonomy.themes])


def routing_problems(text: str, theme_keys: list[str]) -> list[str]:
    """CLOSELOOP_ROUTING read as the stage will read it, its rules' themes checked against the
    stage's own taxonomy: a typo would otherwise fail every detractor's follow-up."""
    from chalicelib.followups.routing import Routing

    if not text.strip():
        return []
    try:
        Routing.model_validate_json(text, context={"theme_keys": theme_keys})
    except ValidationError as error:
        return [f"{ENV_PREFIX}ROUTING: {'.'.join(map(str, problem['loc'])) or 'routing'}: {problem['msg']}"
                for problem in error.errors()]
    return []
