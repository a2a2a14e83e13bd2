"""The correlation id of a request's log lines: API Gateway's requestId, unless it cannot tell
requests apart (missing, repeated, or from `sam local start-api`, which sends one id for all)."""

from pd_connect.flow.failures import failure_for
from pd_connect.flow.pages import default_pages
from pd_connect.platform.web import App, _RequestIds, parse_request


def context(request_id=None):
    return {} if request_id is None else {"requestId": request_id}


def test_a_unique_request_id_is_kept():
    ids = _RequestIds(emulated=False)
    assert [ids.of(context("JTHoQgr2oAMEPMg=")), ids.of(context("JTHoTh0poAMEJVQ="))] == [
        "JTHoQgr2oAMEPMg=",
        "JTHoTh0poAMEJVQ=",
    ]


def test_a_missing_or_empty_request_id_gets_a_fresh_one_per_request():
    ids = _RequestIds(emulated=False)
    made = [ids.of(context()), ids.of(context("")), ids.of(context(None)), ids.of({"requestId": None})]
    assert all(made) and len(set(made)) == len(made)


def test_a_repeated_request_id_gets_a_fresh_one_each_time_it_repeats():
    ids = _RequestIds(emulated=False)
    first = ids.of(context("c0ffee00-0000-4000-8000-000000000000"))
    again = [ids.of(context("c0ffee00-0000-4000-8000-000000000000")) for _ in range(3)]
    assert first == "c0ffee00-0000-4000-8000-000000000000"
    assert first not in again and len(set(again)) == 3


def test_under_sam_local_even_the_first_sight_of_its_constant_id_is_replaced():
    # Each `sam local start-api` request may run in a new container, which sees SAM's id once.
    ids = _RequestIds(emulated=True)
    made = {ids.of(context("c0ffee00-0000-4000-8000-000000000000")) for _ in range(3)}
    assert "c0ffee00-0000-4000-8000-000000000000" not in made and len(made) == 3


def test_parse_request_and_log_lines_carry_distinct_ids_for_repeated_events(log_lines):
    event = {"rawPath": "/missing", "requestContext": {"http": {"method": "GET"}, "requestId": "same"}}
    assert parse_request(event).request_id != parse_request(event).request_id

    pages = default_pages()
    app = App(render_failure=lambda failure, reference: pages.failure(failure.reason, reference=reference), failure_for=failure_for)
    app.resolve(event)
    app.resolve(event)
    correlation_ids = [line.get("correlation_id") for line in log_lines.matching("connect flow failed")]
    assert len(correlation_ids) == 2 and len(set(correlation_ids)) == 2 and None not in correlation_ids
