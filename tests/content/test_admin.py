"""The admin shows content read only: every change goes through the services."""

from __future__ import annotations

from content.models import Content, Notice

from .conftest import submitted


def test_the_admin_shows_content_and_changes_nothing(client, asha, tree, esha):
    content = submitted(esha, [tree.north_goa])
    revision = Content.objects.get(pk=content.pk).submitted_revision
    notice = Notice.objects.get(content=content, kind=Notice.Kind.AWAITING)
    client.force_login(asha)

    for url in (
        "/admin/content/content/",
        f"/admin/content/content/{content.pk}/change/",
        f"/admin/content/revision/{revision.pk}/change/",
        "/admin/content/trustedauthor/",
        "/admin/content/notice/",
        f"/admin/content/notice/{notice.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    page = client.get(f"/admin/content/content/{content.pk}/change/").content.decode()
    assert "Sunday rally" in page
    assert client.get("/admin/content/content/add/").status_code == 403
    assert client.get("/admin/content/notice/add/").status_code == 403
    response = client.post(f"/admin/content/content/{content.pk}/change/", {"title": "Changed"})
    assert response.status_code == 403
    assert Content.objects.get(pk=content.pk).title == "Sunday rally"
