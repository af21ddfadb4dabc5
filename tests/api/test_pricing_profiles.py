"""The pricing profile routes, on the real database."""

from __future__ import annotations

import pytest

from api.routes.pricing_profiles import router

URL = "/api/pricing-profiles"

BODY = {
    "name": "electronics",
    "strategy": "markup_cost",
    "fallback_strategy": "follow_lowest",
    "currency": "pln",
    "markup_percent": 35.5,
    "beat_by_amount": "0.5",
    "beat_by_percent": 0.1,
    "min_price": "10",
    "max_price": 2499.99,
    "margin_floor_percent": "12",
    "charm_ending": 0.99,
    "max_change_percent": 20,
    "marketplace_fees": {"ebay_de": 9.5, "allegro_pl": "8.25"},
}


@pytest.fixture
def api(client):
    """The client, with the pricing profile routes on its app (until api/app.py includes them)."""
    if not any(getattr(route, "path", "").startswith(URL) for route in client.app.routes):
        client.app.include_router(router)
    return client


def create(api, **changes):
    response = api.post(URL, json={**BODY, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def default_names(api):
    return [profile["name"] for profile in api.get(URL).json() if profile["is_default"]]


def problems(response):
    assert response.status_code == 422, response.text
    return {tuple(error["loc"]): error["msg"] for error in response.json()["detail"]}


class TestCreateAndRead:
    def test_created_with_exact_decimals(self, api):
        profile = create(api)

        assert {key: profile[key] for key in BODY} == {
            "name": "electronics",
            "strategy": "markup_cost",
            "fallback_strategy": "follow_lowest",
            "currency": "PLN",
            "markup_percent": "35.5",
            "beat_by_amount": "0.50",
            "beat_by_percent": "0.1",  # a JSON number, read without binary error
            "min_price": "10.00",
            "max_price": "2499.99",
            "margin_floor_percent": "12",
            "charm_ending": "0.99",
            "max_change_percent": "20",
            "marketplace_fees": {"ebay_de": "9.5", "allegro_pl": "8.25"},
        }
        assert profile["is_default"] is False
        assert profile["effective_fees"]["ebay_de"] == "9.5"
        assert profile["effective_fees"]["amazon_de"] == "15"
        assert profile["created_at"]
        assert profile["updated_at"]
        assert api.get(f"{URL}/{profile['id']}").json() == profile

    def test_only_the_required_fields(self, api):
        optional = ["fallback_strategy", "min_price", "max_price", "margin_floor_percent", "charm_ending"]
        cleared = dict.fromkeys([*optional, "max_change_percent"])
        zero = {"markup_percent": 0, "beat_by_amount": 0, "beat_by_percent": 0, "marketplace_fees": {}}
        profile = create(api, **cleared, **zero)
        assert (profile["min_price"], profile["markup_percent"], profile["marketplace_fees"]) == (
            None,
            "0",
            {},
        )
        response = api.post(URL, json={"name": "bare", "strategy": "follow_lowest", "currency": "EUR"})
        assert response.status_code == 201
        assert response.json()["beat_by_amount"] == "0.00"

    def test_the_list_puts_the_default_first_then_names(self, api):
        create(api, name="zebra")
        create(api, name="apple")
        assert [(p["name"], p["is_default"]) for p in api.get(URL).json()] == [
            ("default", True), ("apple", False), ("zebra", False),
        ]  # fmt: skip

    def test_the_seeded_default(self, api):
        (default,) = [profile for profile in api.get(URL).json() if profile["is_default"]]
        assert (default["name"], default["strategy"], default["charm_ending"]) == (
            "default", "follow_lowest", "0.99",
        )  # fmt: skip
        # Never below cost + fee + VAT (migration 0006): a margin of 0 % of the net price.
        assert default["margin_floor_percent"] == "0"

    def test_unknown_ids_are_404(self, api):
        assert api.get(f"{URL}/999999").status_code == 404
        assert api.patch(f"{URL}/999999", json={"markup_percent": 1}).status_code == 404
        assert api.delete(f"{URL}/999999").status_code == 404
        assert api.post(f"{URL}/999999/default").status_code == 404
        assert "999999" in api.get(f"{URL}/999999").json()["detail"]

    def test_a_taken_name_is_409(self, api):
        create(api)
        response = api.post(URL, json=BODY)
        assert response.status_code == 409
        assert "'electronics'" in response.json()["detail"]
        assert api.post(URL, json={**BODY, "name": "default"}).status_code == 409


class TestValidation:
    def test_every_problem_at_once_each_naming_its_field(self, api):
        response = api.post(
            URL,
            json={
                "name": "bad",
                "strategy": "cheapest",
                "currency": "EURO",
                "markup_percent": -1,
                "beat_by_amount": "0.001",
                "beat_by_percent": 100,
                "min_price": 0,
                "margin_floor_percent": "1.2345",
                "charm_ending": 1,
                "max_change_percent": 10000,
                "marketplace_fees": {"etsy": 5, "ebay_de": 100},
            },
        )
        found = problems(response)
        assert set(found) == {
            ("body", "strategy"), ("body", "currency"), ("body", "markup_percent"),
            ("body", "beat_by_amount"), ("body", "beat_by_percent"), ("body", "min_price"),
            ("body", "margin_floor_percent"), ("body", "charm_ending"), ("body", "max_change_percent"),
            ("body", "marketplace_fees", "etsy"), ("body", "marketplace_fees", "ebay_de"),
        }  # fmt: skip
        for loc, message in found.items():
            assert loc[-1] in message, message
        assert "follow_lowest" in found[("body", "strategy")]

    def test_an_unknown_marketplace_names_the_known_ones(self, api):
        found = problems(api.post(URL, json={**BODY, "marketplace_fees": {"etsy": 5}}))
        message = found[("body", "marketplace_fees", "etsy")]
        for marketplace in ("amazon_de", "amazon_pl", "ebay_de", "ebay_pl", "kaufland_de", "allegro_pl"):
            assert marketplace in message

    @pytest.mark.parametrize("fee", [-1, 100, "100.0", "9.0001"])
    def test_a_fee_is_from_0_to_below_100(self, api, fee):
        assert ("body", "marketplace_fees", "ebay_de") in problems(
            api.post(URL, json={**BODY, "marketplace_fees": {"ebay_de": fee}})
        )

    def test_min_above_max(self, api):
        found = problems(api.post(URL, json={**BODY, "min_price": 30, "max_price": 20}))
        assert "above max_price" in found[("body", "min_price")]

    def test_fallback_equal_to_the_strategy(self, api):
        found = problems(api.post(URL, json={**BODY, "fallback_strategy": "markup_cost"}))
        assert ("body", "fallback_strategy") in found

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("markup_percent", "abc"),
            ("markup_percent", True),
            ("min_price", "NaN"),
            ("name", ""),
            ("name", "x" * 101),
            ("marketplace_fees", [1]),
            ("marketplace_fees", {"ebay_de": "lots"}),
            ("unknown_field", 1),
        ],
    )
    def test_malformed_values(self, api, field, value):
        response = api.post(URL, json={**BODY, field: value})
        assert response.status_code == 422
        assert field in str(response.json()["detail"])

    @pytest.mark.parametrize("field", ["name", "strategy", "currency"])
    def test_required_fields(self, api, field):
        body = {key: value for key, value in BODY.items() if key != field}
        assert ("body", field) in problems(api.post(URL, json=body))

    def test_an_absurd_number_is_422(self, api):
        assert ("body", "markup_percent") in problems(
            api.post(URL, json={**BODY, "markup_percent": "1e999999"})
        )
        assert ("body", "max_price") in problems(api.post(URL, json={**BODY, "max_price": "1e12"}))


class TestUpdate:
    def test_partial(self, api):
        profile = create(api)
        response = api.patch(f"{URL}/{profile['id']}", json={"markup_percent": "40", "min_price": None})
        assert response.status_code == 200, response.text
        changed = response.json()
        assert (changed["markup_percent"], changed["min_price"]) == ("40", None)
        unchanged = {"markup_percent", "min_price", "updated_at"}
        assert {k: v for k, v in changed.items() if k not in unchanged} == {
            k: v for k, v in profile.items() if k not in unchanged
        }
        assert api.get(f"{URL}/{profile['id']}").json() == changed

    def test_fees_are_replaced_whole(self, api):
        profile = create(api)
        changed = api.patch(f"{URL}/{profile['id']}", json={"marketplace_fees": {"amazon_de": 12}}).json()
        assert changed["marketplace_fees"] == {"amazon_de": "12"}
        assert changed["effective_fees"]["ebay_de"] == "11"

    def test_the_merged_values_are_validated(self, api):
        profile = create(api)
        found = problems(api.patch(f"{URL}/{profile['id']}", json={"min_price": 3000}))
        assert "above max_price" in found[("body", "min_price")]
        found = problems(api.patch(f"{URL}/{profile['id']}", json={"strategy": "follow_lowest"}))
        assert ("body", "fallback_strategy") in found  # the stored fallback is now the same

    @pytest.mark.parametrize("field", ["name", "strategy", "currency", "markup_percent", "is_default"])
    def test_a_required_field_cannot_be_null(self, api, field):
        profile = create(api)
        assert ("body", field) in problems(api.patch(f"{URL}/{profile['id']}", json={field: None}))

    def test_renaming_to_a_taken_name_is_409(self, api):
        profile = create(api)
        response = api.patch(f"{URL}/{profile['id']}", json={"name": "default"})
        assert response.status_code == 409
        assert api.patch(f"{URL}/{profile['id']}", json={"name": "electronics"}).status_code == 200


class TestDefault:
    def test_switching_leaves_exactly_one(self, api):
        profile = create(api)
        response = api.post(f"{URL}/{profile['id']}/default")
        assert response.status_code == 200
        assert response.json()["is_default"] is True
        assert default_names(api) == ["electronics"]
        assert api.get(URL).json()[0]["name"] == "electronics"

        (old,) = [p for p in api.get(URL).json() if p["name"] == "default"]
        assert api.post(f"{URL}/{old['id']}/default").json()["is_default"] is True
        assert default_names(api) == ["default"]

    def test_created_or_patched_as_the_default(self, api):
        create(api, is_default=True)
        assert default_names(api) == ["electronics"]
        other = create(api, name="toys")
        assert api.patch(f"{URL}/{other['id']}", json={"is_default": True}).json()["is_default"] is True
        assert default_names(api) == ["toys"]

    def test_the_default_cannot_be_deleted(self, api):
        (default,) = api.get(URL).json()
        response = api.delete(f"{URL}/{default['id']}")
        assert response.status_code == 409
        assert "make another profile the default first" in response.json()["detail"]
        assert api.get(f"{URL}/{default['id']}").status_code == 200

    def test_the_default_cannot_just_stop_being_one(self, api):
        (default,) = api.get(URL).json()
        response = api.patch(f"{URL}/{default['id']}", json={"is_default": False})
        assert response.status_code == 409
        assert default_names(api) == ["default"]

    def test_delete(self, api):
        profile = create(api)
        response = api.delete(f"{URL}/{profile['id']}")
        assert (response.status_code, response.content) == (204, b"")
        assert api.get(f"{URL}/{profile['id']}").status_code == 404
        assert [p["name"] for p in api.get(URL).json()] == ["default"]


def test_vat_margin_and_marketplace_fields(api):
    profile = create(
        api,
        use_other_marketplaces=True,
        min_source_percent="80",
        category_vat_rates={"de": {" Bücher ": 7}},
    )
    assert (profile["use_other_marketplaces"], profile["min_source_percent"]) == (True, "80")
    assert profile["category_vat_rates"] == {"DE": {"Bücher": "7"}}
    changed = api.patch(f"{URL}/{profile['id']}", json={"category_vat_rates": {"PL": {"Książki": "5"}}})
    assert changed.json()["category_vat_rates"] == {"PL": {"Książki": "5"}}
    found = problems(api.post(URL, json={**BODY, "name": "x", "margin_floor_percent": 100,
                                         "category_vat_rates": {"DE": {"Bücher": 100}}}))  # fmt: skip
    assert set(found) == {("body", "margin_floor_percent"), ("body", "category_vat_rates", "DE", "Bücher")}
    (default,) = [p for p in api.get(URL).json() if p["is_default"]]
    assert (default["use_other_marketplaces"], default["min_source_percent"]) == (False, "80")
