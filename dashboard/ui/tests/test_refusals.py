from dashboard.ui.refusals import CONFLICT, FORBIDDEN, TOO_MANY, Refusal


class Taken(Refusal):
    kind = CONFLICT
    message = "Taken."


def test_each_kind_of_refusal_has_one_status():
    assert Refusal().status == 422
    assert Taken().status == 409
    assert type("NotYours", (Refusal,), {"kind": FORBIDDEN})().status == 403
    assert type("Slow", (Refusal,), {"kind": TOO_MANY})(retry_after=60).status == 429


def test_the_message_is_the_class_default_or_the_one_given():
    assert Taken().message == str(Taken()) == "Taken."
    refusal = Taken("Taken by order 42.", retry_after=5)
    assert (refusal.message, refusal.retry_after) == ("Taken by order 42.", 5)
