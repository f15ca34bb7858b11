"""Who reads a BigQuery dataset publicly through authorized views, datasets and routines."""

from __future__ import annotations

from phigate_providers.gcp.authorized import public_through
from phigate_providers.gcp.links import Link

P = "//bigquery.googleapis.com/projects/p/datasets"


def test_a_chain_of_authorized_views_carries_the_public_to_its_end() -> None:
    # clinical authorizes a view of staging; staging authorizes a view of portal, open to all.
    links = [Link(f"{P}/staging/tables/v1", f"{P}/clinical", "authorized view p.staging.v1"),
             Link(f"{P}/portal/tables/v2", f"{P}/staging", "authorized view p.portal.v2")]
    own = {f"{P}/clinical": frozenset(), f"{P}/staging": frozenset(), f"{P}/portal": frozenset({"allUsers"}),
           f"{P}/staging/tables/v1": frozenset(), f"{P}/portal/tables/v2": frozenset()}
    assert public_through(links, own, frozenset(), "p") == {f"{P}/clinical": frozenset({"allUsers"}),
                                                            f"{P}/staging": frozenset({"allUsers"})}


def test_a_reader_not_seen_leaves_the_public_unknown_and_a_missing_view_reads_nothing() -> None:
    links = [Link(f"{P}/unread/tables/v", f"{P}/a", "authorized view p.unread.v"),
             Link(f"{P}/listed/tables/gone", f"{P}/b", "authorized view p.listed.gone"),
             Link(f"{P}/cut/tables/v", f"{P}/c", "authorized view p.cut.v"),
             Link("//bigquery.googleapis.com/projects/q/datasets/d", f"{P}/e", "authorized dataset q.d")]
    own = {f"{P}/unread": None, f"{P}/listed": frozenset(), f"{P}/cut": frozenset()}
    assert public_through(links, own, frozenset({f"{P}/cut"}), "p") == {
        f"{P}/a": None, f"{P}/b": frozenset(), f"{P}/c": None, f"{P}/e": None}
