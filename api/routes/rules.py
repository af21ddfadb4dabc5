"""Rule routes: the seller's rules, the fields a condition may name, and rule templates."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn, cast

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from api.auth import AUTH_RESPONSES, ApiKeyAccess
from api.deps import SessionDep
from api.problems import unprocessable
from schemas.rules import FieldRead, RuleCreate, RuleRead, RuleUpdate, TemplateCreate, TemplateRead
from services.rules import FIELDS, OPERATORS_BY_KIND, Action, RuleType
from services.rules import store as rule_store
from services.rules.store import (
    FieldProblem,
    GlobalTemplateReadOnly,
    InvalidRuleValues,
    RuleFields,
    RuleNotFound,
    TemplateFields,
    TemplateKeyTaken,
    TemplateNotFound,
)

# GETs need a read key, every other method a write key (api/auth.py).
router = APIRouter(prefix="/api/rules", tags=["rules"], dependencies=[ApiKeyAccess], responses=AUTH_RESPONSES)

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such rule"}}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"description": "Not a usable rule: every problem, each with its path"}
}
TemplateKey = Annotated[str, Path(max_length=rule_store.KEY_MAX_LENGTH)]
RuleId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The rule's id")]  # an integer column


def _refuse(exc: Exception) -> NoReturn:
    """The HTTP answer for a rule_store error."""
    if isinstance(exc, RuleNotFound | TemplateNotFound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, exc.message) from None
    if isinstance(exc, TemplateKeyTaken | GlobalTemplateReadOnly):
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if isinstance(exc, InvalidRuleValues):
        raise unprocessable(exc.problems) from None
    raise exc


# The fixed paths come before /{rule_id}.


@router.get("/fields", response_model=list[FieldRead])
def list_fields() -> list[FieldRead]:
    """The facts a condition may name, with their kind and the operators that apply to them."""
    return [
        FieldRead(
            name=spec.name,
            kind=spec.kind,
            description=spec.description,
            operators=list(OPERATORS_BY_KIND[spec.kind]),
        )
        for spec in FIELDS.values()
    ]


@router.get("/templates", response_model=list[TemplateRead])
def list_templates(session: SessionDep) -> list[TemplateRead]:
    """The global templates (`"global": true`), then the seller's saved ones (`"global": false`)."""
    return [TemplateRead.model_validate(view) for view in rule_store.list_templates(session)]


@router.post(
    "/templates",
    response_model=TemplateRead,
    status_code=status.HTTP_201_CREATED,
    responses={**INVALID, 409: {"description": "The key is taken, or is a global template's"}},
)
def save_template(body: TemplateCreate, session: SessionDep) -> TemplateRead:
    try:
        view = rule_store.save_template(session, cast(TemplateFields, body.model_dump()))
    except (InvalidRuleValues, TemplateKeyTaken) as exc:
        _refuse(exc)
    session.commit()
    return TemplateRead.model_validate(view)


@router.delete(
    "/templates/{key}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        404: {"description": "No such template"},
        409: {"description": "Global templates cannot be deleted"},
    },
)
def delete_template(key: TemplateKey, session: SessionDep) -> Response:
    try:
        rule_store.delete_template(session, key)
    except (TemplateNotFound, GlobalTemplateReadOnly) as exc:
        _refuse(exc)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("", response_model=list[RuleRead])
def list_rules(
    session: SessionDep,
    rule_type: Annotated[RuleType | None, Query(alias="type")] = None,
    action: Annotated[Action | None, Query()] = None,
    enabled: Annotated[bool | None, Query()] = None,
) -> list[RuleRead]:
    """The rules, by id, filtered by type, action and whether they are enabled."""
    rows = rule_store.list_rules(session, type=rule_type, action=action, enabled=enabled)
    return [RuleRead.model_validate(row) for row in rows]


@router.post(
    "",
    response_model=RuleRead,
    status_code=status.HTTP_201_CREATED,
    responses={**INVALID},
)
def create_rule(body: RuleCreate, session: SessionDep) -> RuleRead:
    """A rule from its fields, or from `template` (a template's key) with optional overrides of
    name, weight, conditions and enabled."""
    fields = cast(RuleFields, body.model_dump(exclude_unset=True, exclude={"template"}))
    try:
        if body.template is None:
            row = rule_store.create_rule(session, fields)
        else:
            row = rule_store.create_from_template(session, body.template, fields)
    except TemplateNotFound as exc:
        message = f"{exc.message}: GET /api/rules/templates lists them"
        raise unprocessable([FieldProblem(("template",), message)]) from None
    except InvalidRuleValues as exc:
        _refuse(exc)
    answer = RuleRead.model_validate(row)
    session.commit()
    return answer


@router.get("/{rule_id}", response_model=RuleRead, responses=NOT_FOUND)
def get_rule(rule_id: RuleId, session: SessionDep) -> RuleRead:
    try:
        return RuleRead.model_validate(rule_store.get_rule(session, rule_id))
    except RuleNotFound as exc:
        _refuse(exc)


@router.patch("/{rule_id}", response_model=RuleRead, responses={**NOT_FOUND, **INVALID})
def update_rule(rule_id: RuleId, body: RuleUpdate, session: SessionDep) -> RuleRead:
    """Change the fields sent; `conditions` are replaced whole."""
    try:
        row = rule_store.update_rule(session, rule_id, cast(RuleFields, body.model_dump(exclude_unset=True)))
    except (RuleNotFound, InvalidRuleValues) as exc:
        _refuse(exc)
    answer = RuleRead.model_validate(row)
    session.commit()
    return answer


@router.delete(
    "/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, responses=NOT_FOUND
)
def delete_rule(rule_id: RuleId, session: SessionDep) -> Response:
    try:
        rule_store.delete_rule(session, rule_id)
    except RuleNotFound as exc:
        _refuse(exc)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
