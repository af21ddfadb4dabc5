"""Standard Webhooks signatures: the specification's test vector, the clock window, rotation."""

from __future__ import annotations

import pytest

from services.access.webhook_signatures import SignatureRejected, SignedDelivery, sign, verify
from services.platform.settings import InvalidSigningSecret, signing_key

# The test vector of the Standard Webhooks specification.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
OTHER_SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LW9sZA=="


def headers(
    signature: str = SIGNATURE, timestamp: int | str = TIMESTAMP, msg_id: str = MSG_ID
) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


class TestSign:
    def test_the_specification_vector(self):
        assert sign(signing_key(SECRET), MSG_ID, TIMESTAMP, BODY) == SIGNATURE

    def test_the_prefix_is_optional(self):
        assert signing_key(SECRET) == signing_key(SECRET.removeprefix("whsec_"))

    @pytest.mark.parametrize("secret", ["whsec_not*base64", "whsec_", "whsec_abc"])
    def test_a_secret_that_is_not_base64_is_refused(self, secret):
        with pytest.raises(InvalidSigningSecret):
            signing_key(secret)


class TestVerify:
    def test_a_valid_signature_at_the_signing_time(self):
        delivery = verify([signing_key(SECRET)], headers(), BODY, now=TIMESTAMP)
        assert delivery == SignedDelivery(MSG_ID, TIMESTAMP)

    @pytest.mark.parametrize("offset", [-300, 300])
    def test_five_minutes_either_way_is_still_accepted(self, offset):
        verify([signing_key(SECRET)], headers(), BODY, now=TIMESTAMP + offset)

    @pytest.mark.parametrize("offset", [-301, 301])
    def test_a_timestamp_outside_five_minutes_is_refused_saying_so(self, offset):
        with pytest.raises(SignatureRejected, match="more than 5 minutes away"):
            verify([signing_key(SECRET)], headers(), BODY, now=TIMESTAMP + offset)

    def test_a_changed_body_is_refused(self):
        with pytest.raises(SignatureRejected, match="does not match"):
            verify([signing_key(SECRET)], headers(), b'{"test": 2432232315}', now=TIMESTAMP)

    def test_another_secret_is_refused(self):
        with pytest.raises(SignatureRejected, match="does not match"):
            verify([signing_key(OTHER_SECRET)], headers(), BODY, now=TIMESTAMP)

    def test_another_message_id_is_refused(self):
        with pytest.raises(SignatureRejected):
            verify([signing_key(SECRET)], headers(msg_id="msg_other"), BODY, now=TIMESTAMP)

    def test_any_of_several_signatures_may_match(self):
        # A sender rotating its secret signs with the old and the new one.
        other = sign(signing_key(OTHER_SECRET), MSG_ID, TIMESTAMP, BODY)
        verify([signing_key(SECRET)], headers(f"{other} {SIGNATURE}"), BODY, now=TIMESTAMP)

    def test_any_of_our_secrets_may_match(self):
        # We rotate: the old and the new secret are both configured.
        verify([signing_key(OTHER_SECRET), signing_key(SECRET)], headers(), BODY, now=TIMESTAMP)

    def test_other_versions_are_ignored(self):
        with pytest.raises(SignatureRejected):
            verify([signing_key(SECRET)], headers(SIGNATURE.replace("v1,", "v1a,")), BODY, now=TIMESTAMP)

    @pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
    def test_a_missing_header_is_named(self, missing):
        incomplete = {name: value for name, value in headers().items() if name != missing}
        with pytest.raises(SignatureRejected, match=f"missing {missing}"):
            verify([signing_key(SECRET)], incomplete, BODY, now=TIMESTAMP)

    def test_a_timestamp_that_is_not_a_number_is_refused(self):
        with pytest.raises(SignatureRejected, match="unix seconds"):
            verify([signing_key(SECRET)], headers(timestamp="yesterday"), BODY, now=TIMESTAMP)
