"""The rule routes, on the real database."""

from __future__ import annotations

import pytest

from api.routes.rules import router
from services.rules import FIELDS, GLOBAL_TEMPLATES

URL = "/api/rules"
CHEAP = {"field": "price", "op": "lt", "value": 10}
BODY = {"name": "Cheap stuff", "type": "budget", "action": "warn", "weight": 20, "conditions": CHEAP}
TEMPLATE = {
    "key": "cheap",
    "name": "Cheap",
    "description": "Prices under 10",
    "type": "budget",
    "action": "warn",
    "weight": 5,
    "conditions": CHEAP,
}


@pytest.fixture
def api(client):
    """The client, with the rule routes on its app (until api/app.py includes them)."""
    if not any(getattr(route, "path", "").startswith(URL) for route in client.app.routes):
        client.app.include_router(router)
    return client


def create(api, **changes):
    response = api.post(URL, json={**BODY, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def problems(response):
    assert response.status_code == 422, response.text
    return {tuple(error["loc"]): error["msg"] for error in response.json()["detail"]}


class TestRules:
    def test_create_read_update_delete(self, api):
        rule = create(api)
        assert {key: rule[key] for key in BODY} == BODY
        assert (rule["enabled"], rule["template_key"]) == (True, None)
        assert rule["created_at"]
        assert api.get(f"{URL}/{rule['id']}").json() == rule

        response = api.patch(f"{URL}/{rule['id']}", json={"weight": 30, "enabled": False})
        assert response.status_code == 200, response.text
        changed = response.json()
        assert (changed["weight"], changed["enabled"], changed["conditions"]) == (30, False, CHEAP)
        assert api.get(f"{URL}/{rule['id']}").json() == changed

        response = api.delete(f"{URL}/{rule['id']}")
        assert (response.status_code, response.content) == (204, b"")
        assert api.get(f"{URL}/{rule['id']}").status_code == 404

    def test_weight_and_enabled_have_defaults(self, api):
        response = api.post(URL, json={key: BODY[key] for key in ("name", "type", "action", "conditions")})
        assert response.status_code == 201
        assert (response.json()["weight"], response.json()["enabled"]) == (0, True)

    def test_filters(self, api):
        a = create(api)["id"]
        b = create(api, type="quality", action="block")["id"]
        c = create(api, enabled=False)["id"]

        def ids(**params):
            response = api.get(URL, params=params)
            assert response.status_code == 200, response.text
            return [rule["id"] for rule in response.json()]

        assert ids() == [a, b, c]
        assert ids(type="quality") == [b]
        assert ids(action="warn") == [a, c]
        assert ids(enabled="false") == [c]
        assert ids(type="budget", action="warn", enabled="true") == [a]
        assert api.get(URL, params={"type": "colour"}).status_code == 422
        assert api.get(URL, params={"action": "ban"}).status_code == 422

    def test_unknown_ids(self, api):
        for response in (
            api.get(f"{URL}/999999"),
            api.patch(f"{URL}/999999", json={"weight": 1}),
            api.delete(f"{URL}/999999"),
        ):
            assert response.status_code == 404
            assert "999999" in response.json()["detail"]
        assert api.get(f"{URL}/99999999999").status_code == 422  # beyond the id column, not a 500


class TestValidation:
    def test_every_problem_with_its_path(self, api):
        response = api.post(
            URL,
            json={
                "name": "",
                "type": "colour",
                "action": "ban",
                "weight": 5000,
                "conditions": {
                    "all": [CHEAP, {"field": "prize", "op": "lt", "value": 1}, {"field": "price", "op": "lt"}]
                },
            },
        )
        found = problems(response)
        assert set(found) == {
            ("body", "name"),
            ("body", "type"),
            ("body", "action"),
            ("body", "weight"),
            ("body", "conditions", "all", 1, "field"),
            ("body", "conditions", "all", 2),
        }
        assert "category, product, budget, quality" in found[("body", "type")]
        assert "block, warn, prefer" in found[("body", "action")]
        assert "1000" in found[("body", "weight")]
        assert "value" in found[("body", "conditions", "all", 2)]

    @pytest.mark.parametrize("conditions", [[CHEAP], "price < 10", 5])
    def test_conditions_must_be_a_json_object(self, api, conditions):
        assert ("body", "conditions") in problems(api.post(URL, json={**BODY, "conditions": conditions}))

    def test_conditions_are_bounded(self, api):
        huge = {"any": [{"field": "title", "op": "contains", "value": "x" * 400} for _ in range(60)]}
        message = problems(api.post(URL, json={**BODY, "conditions": huge}))[("body", "conditions")]
        assert "20000 characters" in message

    @pytest.mark.parametrize(
        ("field", "value"),
        [("weight", True), ("weight", 1.5), ("weight", "5"), ("enabled", "yes"), ("unknown", 1)],
    )
    def test_malformed_values(self, api, field, value):
        assert ("body", field) in problems(api.post(URL, json={**BODY, field: value}))

    def test_update_validates_the_merged_rule(self, api):
        rule = create(api)
        found = problems(
            api.patch(
                f"{URL}/{rule['id']}", json={"conditions": {"field": "price", "op": "contains", "value": "x"}}
            )
        )
        assert ("body", "conditions", "op") in found
        assert ("body", "name") in problems(api.patch(f"{URL}/{rule['id']}", json={"name": None}))
        assert ("body", "type") in problems(api.patch(f"{URL}/{rule['id']}", json={"type": "colour"}))
        assert api.get(f"{URL}/{rule['id']}").json() == rule


class TestFields:
    def test_every_field_with_its_kind_and_description(self, api):
        response = api.get(f"{URL}/fields")
        assert response.status_code == 200
        fields = response.json()
        assert [field["name"] for field in fields] == list(FIELDS)
        for field in fields:
            spec = FIELDS[field["name"]]
            assert (field["kind"], field["description"]) == (spec.kind, spec.description)
            assert "exists" in field["operators"]


class TestTemplates:
    def test_the_global_ones_then_the_saved_ones(self, api):
        assert api.post(f"{URL}/templates", json=TEMPLATE).status_code == 201
        templates = api.get(f"{URL}/templates").json()
        assert [(t["key"], t["global"]) for t in templates] == [
            *((template.key, True) for template in GLOBAL_TEMPLATES),
            ("cheap", False),
        ]
        assert templates[-1] == {**TEMPLATE, "global": False}
        first = GLOBAL_TEMPLATES[0]
        assert templates[0] == {**first.to_json(), "global": True}

    @pytest.mark.parametrize("template", GLOBAL_TEMPLATES, ids=lambda template: template.key)
    def test_a_rule_from_each_global_template(self, api, template):
        response = api.post(URL, json={"template": template.key})
        assert response.status_code == 201, response.text
        rule = response.json()
        assert {
            key: rule[key] for key in ("name", "type", "action", "weight", "conditions", "template_key")
        } == {
            **{key: value for key, value in template.to_json().items() if key not in ("key", "description")},
            "template_key": template.key,
        }

    def test_a_rule_from_a_template_with_overrides(self, api):
        response = api.post(
            URL,
            json={
                "template": "low_margin",
                "name": "Below 15 %",
                "weight": 70,
                "enabled": False,
                "conditions": {"field": "margin_percent", "op": "lt", "value": 15},
            },
        )
        assert response.status_code == 201, response.text
        rule = response.json()
        assert (rule["name"], rule["weight"], rule["enabled"], rule["action"], rule["template_key"]) == (
            "Below 15 %",
            70,
            False,
            "warn",
            "low_margin",
        )

    def test_a_rule_from_a_saved_template(self, api):
        api.post(f"{URL}/templates", json=TEMPLATE)
        rule = api.post(URL, json={"template": "cheap"}).json()
        assert (rule["template_key"], rule["name"], rule["conditions"]) == ("cheap", "Cheap", CHEAP)

    def test_a_template_fixes_type_and_action(self, api):
        found = problems(api.post(URL, json={"template": "low_margin", "type": "quality"}))
        assert "comes from the template" in found[("body", "type")]

    def test_an_unknown_template_or_bad_overrides(self, api):
        assert ("body", "template") in problems(api.post(URL, json={"template": "nope"}))
        found = problems(
            api.post(URL, json={"template": "low_margin", "conditions": {"field": "x", "op": "eq"}})
        )
        assert ("body", "conditions", "field") in found

    def test_save_and_delete(self, api):
        response = api.post(f"{URL}/templates", json=TEMPLATE)
        assert response.status_code == 201, response.text
        assert response.json() == {**TEMPLATE, "global": False}

        duplicate = api.post(f"{URL}/templates", json=TEMPLATE)
        assert duplicate.status_code == 409
        assert "already exists" in duplicate.json()["detail"]

        response = api.delete(f"{URL}/templates/cheap")
        assert (response.status_code, response.content) == (204, b"")
        assert api.delete(f"{URL}/templates/cheap").status_code == 404
        assert [t["key"] for t in api.get(f"{URL}/templates").json()] == [t.key for t in GLOBAL_TEMPLATES]

    def test_global_templates_are_read_only(self, api):
        response = api.post(f"{URL}/templates", json={**TEMPLATE, "key": "low_margin"})
        assert response.status_code == 409
        assert "global" in response.json()["detail"]
        response = api.delete(f"{URL}/templates/low_margin")
        assert response.status_code == 409
        assert response.json()["detail"] == "global templates cannot be deleted"

    def test_a_template_is_validated(self, api):
        found = problems(
            api.post(
                f"{URL}/templates",
                json={
                    **TEMPLATE,
                    "key": "Bad Key",
                    "action": "ban",
                    "conditions": {"field": "prize", "op": "lt", "value": 1},
                },
            )
        )
        assert set(found) == {("body", "key"), ("body", "action"), ("body", "conditions", "field")}
        assert ("body", "conditions") in problems(
            api.post(f"{URL}/templates", json={**TEMPLATE, "conditions": [1]})
        )
