"""API fixtures: a populated site, a client of its application and a token per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.api.fleet import Fleet, populate

from valueloop.api.app import create_app
from valueloop.api.auth import ROLES, issue_token
from valueloop.site import Site


@pytest.fixture
def fleet(site: Site) -> Fleet:
    """The small fleet of :mod:`api.fleet`, written to the site's store."""
    return populate(site)


@pytest.fixture
def tokens(site: Site) -> dict[str, str]:
    """A token per role, each named after its role."""
    return {role: issue_token(site.store, role, role) for role in ROLES}


@pytest.fixture
def client(site: Site, fleet: Fleet) -> Iterator[TestClient]:
    """A client of the application serving the populated site."""
    with TestClient(create_app(site)) as test_client:
        yield test_client
