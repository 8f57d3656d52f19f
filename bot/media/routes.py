"""`GET /media/<id>?exp=&sig=`: Herald's media under short-lived signed links.

Instagram and TikTok pull media from a public URL (their pull mode); `herald serve` answers
those pulls from the media store when `HERALD_PUBLIC_URL` and `HERALD_MEDIA_SIGNING_KEY` are
set. A link works until `exp` and only for its id; the file goes out from disk with range
requests (aiohttp's FileResponse), never read into memory whole.
"""

from __future__ import annotations

from aiohttp import web

from engine.adapters.file_media_store import FileMediaStore
from engine.errors import NotFound


def media_routes(store: FileMediaStore) -> list[web.RouteDef]:
    """The route serving `store`'s files to whoever holds a valid signed link."""

    async def serve_media(request: web.Request) -> web.StreamResponse:
        media_id = request.match_info["media_id"]
        exp, sig = request.query.get("exp", ""), request.query.get("sig", "")
        if not store.verify(media_id, exp, sig):
            # Same answer for a bad, expired or foreign link: nothing to learn from it.
            return web.Response(status=403, text="link expired or not valid\n")
        try:
            asset = await store.get(media_id)
        except NotFound:
            return web.Response(status=404, text="no such media\n")
        return web.FileResponse(
            store.path_of(asset),
            headers={
                "Content-Type": asset.mime_type,
                "Cache-Control": "private, no-store",
            },
        )

    # web.get also answers HEAD (platforms check a URL before pulling it).
    return [web.get("/media/{media_id}", serve_media)]
