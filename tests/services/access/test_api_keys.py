"""API keys: stored hashed, found by the key, last use recorded at most once a minute, revoked."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from models import ApiKey
from services.access import api_keys
from services.access.api_keys import AmbiguousKey, KeyNotFound, Scope


class TestScope:
    def test_write_implies_read(self):
        assert Scope.WRITE.allows(Scope.READ)
        assert Scope.WRITE.allows(Scope.WRITE)
        assert Scope.READ.allows(Scope.READ)
        assert not Scope.READ.allows(Scope.WRITE)


class TestCreate:
    def test_only_the_hash_and_a_prefix_are_stored(self, db_session):
        created = api_keys.create_key(db_session, " dashboard ", Scope.READ)

        row = db_session.scalar(select(ApiKey))
        assert row.name == "dashboard"
        assert row.scope == "read"
        assert created.key.startswith("lpk_")
        assert len(created.key) >= 40
        assert row.prefix == created.key[:12]
        assert row.key_hash == hashlib.sha256(created.key.encode()).hexdigest()
        stored = " ".join(str(value) for value in db_session.execute(text("SELECT * FROM api_keys")).one())
        assert created.key not in stored

    def test_every_key_is_new(self, db_session):
        keys = {api_keys.create_key(db_session, "n8n", Scope.WRITE).key for _ in range(3)}
        assert len(keys) == 3

    @pytest.mark.parametrize("name", ["", "   ", "x" * 101])
    def test_a_name_is_required_and_short(self, db_session, name):
        with pytest.raises(ValueError, match="name"):
            api_keys.create_key(db_session, name, Scope.READ)


class TestFind:
    def test_by_the_key(self, db_session):
        created = api_keys.create_key(db_session, "n8n", Scope.WRITE)
        assert api_keys.find_key(db_session, created.key) == created.row

    @pytest.mark.parametrize("presented", ["lpk_wrong", "not-even-ours", ""])
    def test_an_unknown_key_is_none(self, db_session, presented):
        api_keys.create_key(db_session, "n8n", Scope.WRITE)
        assert api_keys.find_key(db_session, presented) is None


class TestRecordUse:
    def test_the_first_use_is_recorded_and_again_only_after_a_minute(self, db_session):
        row = api_keys.create_key(db_session, "n8n", Scope.WRITE).row
        assert api_keys.record_use(db_session, row) is True
        db_session.refresh(row)
        first = row.last_used_at
        assert first is not None

        assert api_keys.record_use(db_session, row, now=first + timedelta(seconds=59)) is False

        db_session.execute(text("UPDATE api_keys SET last_used_at = now() - interval '2 minutes'"))
        db_session.refresh(row)
        assert api_keys.record_use(db_session, row, now=datetime.now(UTC)) is True
        db_session.refresh(row)
        assert row.last_used_at == first  # now() of the test's one transaction


class TestResolveAndRevoke:
    def test_by_id_prefix_or_the_whole_key(self, db_session):
        created = api_keys.create_key(db_session, "n8n", Scope.WRITE)
        api_keys.create_key(db_session, "other", Scope.READ)
        for reference in (str(created.row.id), created.row.prefix, created.key):
            assert api_keys.resolve(db_session, reference) == created.row

    def test_an_unknown_reference_is_said(self, db_session):
        with pytest.raises(KeyNotFound, match="lpk_nothing"):
            api_keys.resolve(db_session, "lpk_nothing")

    def test_an_ambiguous_prefix_names_the_ids(self, db_session):
        one = api_keys.create_key(db_session, "one", Scope.READ).row
        two = api_keys.create_key(db_session, "two", Scope.READ).row
        two.prefix = one.prefix
        db_session.flush()
        with pytest.raises(AmbiguousKey, match=str(two.id)):
            api_keys.resolve(db_session, one.prefix)

    def test_revoking_twice_changes_nothing_the_second_time(self, db_session):
        row = api_keys.create_key(db_session, "n8n", Scope.WRITE).row
        assert api_keys.revoke(db_session, row) is True
        revoked_at = row.revoked_at
        assert revoked_at is not None
        assert api_keys.revoke(db_session, row) is False
        assert row.revoked_at == revoked_at
