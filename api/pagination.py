"""Links between the pages of a list route, for clients that walk them (n8n's pagination follows a
`next` URL until it is null).

    next_page_url(request, page, total_pages) -> str | None

The next page's URL as an absolute path (no scheme or host: behind a proxy, such as Railway's, the
host the app sees is not the client's), with the request's query parameters kept as they were
(order and repeats included) and `page` set to the next one; None on the last page, past it, or
when there is no page at all.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request

PAGE = "page"


def next_page_url(request: Request, page: int, total_pages: int) -> str | None:
    """`/api/products?status=imported&page=3` for page 2 of 5; None from the last page on."""
    if page >= total_pages:
        return None
    following = str(page + 1)
    params: list[tuple[str, str]] = []
    replaced = False
    for name, value in request.query_params.multi_items():
        if name == PAGE:
            if not replaced:
                params.append((PAGE, following))
                replaced = True
            continue
        params.append((name, value))
    if not replaced:
        params.append((PAGE, following))
    return f"{request.url.path}?{urlencode(params)}"
