"""Jira Cloud with a scoped API token: requests through Atlassian's gateway
(https://api.atlassian.com/ex/jira/{cloudId}), links to the site people open."""

from __future__ import annotations

import pytest
import responses

from tests.backends.contract import make_draft
from tests.fakes.jira_fake import EMAIL, TOKEN, JiraFake
from tracker.backends.jira import from_config, is_gateway
from tracker.config import JiraConfig
from tracker.errors import ConfigError

GATEWAY = "https://api.atlassian.com/ex/jira/11223344-a1b2-c3d4-e5f6-0123456789ab"
SITE = "https://acme.atlassian.net"


def test_requests_go_through_the_gateway_and_links_use_the_site() -> None:
    fake = JiraFake("cloud", base_url=GATEWAY)
    cfg = JiraConfig(url=GATEWAY, site_url=SITE, project=fake.project)
    backend = from_config(cfg, {}, email=EMAIL, token=TOKEN, pat=None, sleeper=lambda _s: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        ticket = backend.create(make_draft())
        listed = backend.list_tracked()
        fetched = backend.fetch(ticket.url)  # a site link in a postmortem still binds
        sent = [c.request.url or "" for c in rsps.calls]
    assert sent and all(u.startswith(GATEWAY + "/rest/api/") for u in sent)
    assert not any("serverInfo" in u for u in sent)  # the gateway is Cloud: nothing to ask
    assert ticket.url == f"{SITE}/browse/{ticket.ref}"
    assert [t.url for t in listed] == [ticket.url]
    assert fetched is not None and fetched.ref == ticket.ref


def test_the_gateway_without_a_site_url_is_a_config_error() -> None:
    cfg = JiraConfig(url=GATEWAY + "/", project="OPS")
    with pytest.raises(ConfigError, match=r"set jira\.site_url to the site people open"):
        from_config(cfg, {}, email=EMAIL, token=TOKEN, pat=None)
    assert is_gateway(GATEWAY) and not is_gateway(SITE)
