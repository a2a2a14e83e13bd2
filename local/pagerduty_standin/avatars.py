"""GET /avatars/<user id>.svg: each demo user's picture, served by the stand-in itself.

PagerDuty's /users/me names a Gravatar image; with no internet that image fails, so the stand-in
answers an avatar of its own: the user's initials on a colour derived from their id.
"""

from __future__ import annotations

import hashlib
from html import escape

from .accounts import AVATAR_PATH, UserDirectory
from .errors import ApiError
from .wire import Request, Response

_COLOURS = ("#06ac38", "#005a24", "#2b6cb0", "#6b46c1", "#b7791f", "#c53030", "#2c7a7b", "#4a5568")


class AvatarEndpoint:
    def __init__(self, users: UserDirectory) -> None:
        self._users = users

    def __call__(self, request: Request) -> Response:
        user_id = request.path[len(AVATAR_PATH) :].removesuffix(".svg")
        user = self._users.find(user_id) if request.path.endswith(".svg") else None
        if user is None:
            raise ApiError(404, "Not Found", 2100)
        return Response(
            200,
            render(user.name, user.id).encode("utf-8"),
            (("Content-Type", "image/svg+xml"), ("Cache-Control", "public, max-age=3600")),
        )


def initials(name: str) -> str:
    return "".join(word[0] for word in name.split()[:2]).upper() or "?"


def render(name: str, user_id: str) -> str:
    colour = _COLOURS[hashlib.sha256(user_id.encode()).digest()[0] % len(_COLOURS)]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
        f'<rect width="96" height="96" fill="{colour}"/>'
        '<text x="48" y="50" fill="#fff" font-family="system-ui,sans-serif" font-size="38" font-weight="600" '
        f'text-anchor="middle" dominant-baseline="middle">{escape(initials(name))}</text></svg>'
    )
