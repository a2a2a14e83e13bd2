"""The README's grant list for the token library is what the library really calls."""

import re
import time
from pathlib import Path

from pd_connect.client.access_tokens import get_access_token
from pd_connect.client.pagerduty_client import PagerDutyClient

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_grants() -> set[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Use the tokens from your own functions", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`((?:dynamodb|kms|secretsmanager):[A-Za-z]+)`", section.split("```", 1)[0]))


def record_calls(calls: set[str], container) -> None:
    def hook(model, **_):
        calls.add(f"{model.service_model.signing_name}:{model.name}")

    for client in (container.aws.dynamodb, container.aws.kms, container.aws.secretsmanager):
        client.meta.events.register("before-call.*.*", hook)


def test_every_call_of_a_lookup_by_app_user_with_a_refresh_is_granted_in_the_readme(browser, aws, container):
    from urllib.parse import parse_qs, quote, urlsplit

    from pd_connect.client.confirmations import confirm_connection
    from pd_connect.flow.links import sign_link

    from .conftest import LINK_SIGNING_KEY

    answer = browser.connect(login="PADA001", query="link=" + quote(sign_link(LINK_SIGNING_KEY, "alice")))
    confirm_connection(parse_qs(urlsplit(answer["headers"]["Location"]).query)["pagerduty_result"][0], "alice")
    (item,) = aws.dynamodb.scan(TableName=aws.table_name, FilterExpression="kind = :c", ExpressionAttributeValues={":c": {"S": "connection"}})["Items"]
    aws.dynamodb.update_item(  # about to expire: the next read refreshes
        TableName=aws.table_name, Key={"pk": item["pk"]},
        UpdateExpression="SET access_token_expires_at = :now", ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
    )
    calls: set[str] = set()
    record_calls(calls, container)  # the library's clients: this process's container

    assert get_access_token(app_user_id="alice")
    assert PagerDutyClient(app_user_id="alice").get("/users/me").status_code == 200

    assert {"dynamodb:Query", "dynamodb:UpdateItem", "kms:Decrypt", "kms:Encrypt"} <= calls  # it did refresh
    assert calls <= documented_grants()
