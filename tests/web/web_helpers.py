"""Small readers for the pages' HTML (standard library only)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

HTML = {"accept": "text/html"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def tags(html: str, name: str) -> list[dict[str, str]]:
    """The attributes of every ``<name>`` start tag, in document order."""
    parser = _Collector()
    parser.feed(html)
    return [attrs for tag, attrs in parser.tags if tag == name]


def hidden_value(html: str, name: str) -> str:
    for attrs in tags(html, "input"):
        if attrs.get("name") == name:
            return attrs.get("value", "")
    raise AssertionError(f"no input named {name!r}")


def result_links(html: str) -> list[str]:
    """The record links of the result cards, best first."""
    found = re.findall(
        r'<h3 class="govuk-heading-s app-result__title"><a [^>]*href="([^"]+)"', html
    )
    return [link.replace("&amp;", "&") for link in found]


def result_ids(html: str) -> list[str]:
    from urllib.parse import unquote

    return [unquote(urlsplit(link).path.removeprefix("/records/")) for link in result_links(html)]


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def main_text(html: str) -> str:
    """The ``<main>`` element, for comparisons that ignore the header."""
    start, end = html.index("<main"), html.index("</main>")
    return html[start:end]
