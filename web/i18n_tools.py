"""Keeping the catalogs of the web UI up to date.

    python -m web.i18n_tools update   # re-extract both catalogs, write the .pot files, update the Thai .po files
    python -m web.i18n_tools check    # list Thai entries that are missing, empty, fuzzy or have other placeholders

`update` reads babel.cfg at the repository root: the sections under web/ make the catalog "messages"
(the UI's strings and labels), those under domain/ and application/ the catalog "errors" (the templates of
domain errors). New msgids arrive in the .po files untranslated (or fuzzy, when close to an old one);
translate them, remove the fuzzy flags, and run the tests: tests/unit/test_i18n.py fails while any is left.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from web.i18n import LOCALES, TRANSLATIONS, placeholders, po_path

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "babel.cfg"
# Which top-level directories of babel.cfg make each catalog.
DOMAINS: dict[str, tuple[str, ...]] = {"messages": ("web",), "errors": ("domain", "application")}
TRANSLATED = tuple(locale for locale in LOCALES if locale != "en")  # English is the msgids themselves
PROJECT = "Smart Safety Zone 4.0"
HEADER = {
    "project": PROJECT,
    "version": "0.1",
    "copyright_holder": "Smart Safety Zone 4.0 CCOC",
    "charset": "utf-8",
    "fuzzy": False,
}


def _mapping() -> tuple[list[tuple[str, str]], dict[str, dict]]:
    with MAPPING.open(encoding="utf-8") as f:
        return parse_mapping_cfg(f, str(MAPPING))


def extract(domain: str) -> Catalog:
    """The template catalog of a domain, extracted in memory from the sources that babel.cfg names."""
    method_map, options_map = _mapping()
    catalog = Catalog(**HEADER)
    for top in DOMAINS[domain]:
        prefix = top + "/"
        # babel.cfg's patterns are relative to the repository root; walk only this directory.
        methods = [(p[len(prefix) :], m) for p, m in method_map if p.startswith(prefix)]
        options = {p[len(prefix) :]: o for p, o in options_map.items() if p.startswith(prefix)}
        if not methods or not (ROOT / top).is_dir():
            continue
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / top,
            methods,
            options,
            keywords=DEFAULT_KEYWORDS,
            comment_tags=("TRANSLATORS:",),
            strip_comment_tags=True,
        ):
            catalog.add(message, None, [(f"{prefix}{filename}", lineno)], auto_comments=comments, context=context)
    return catalog


def read(locale: str, domain: str) -> Catalog:
    path = po_path(locale, domain)
    if not path.exists():
        return Catalog(locale=locale, domain=domain, language_team=f"{locale} <ccoc@localhost>", **HEADER)
    with path.open("rb") as f:
        return read_po(f, locale=locale, domain=domain)


def _write(catalog: Catalog, path: Path, **options: object) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, include_lineno=False, sort_by_file=False, **options)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or _dateless(path.read_bytes()) != _dateless(buffer.getvalue()):
        path.write_bytes(buffer.getvalue())


def _dateless(po: bytes) -> bytes:
    """A .po/.pot file without its creation date: a re-extraction that changes nothing rewrites nothing."""
    return b"\n".join(line for line in po.split(b"\n") if not line.startswith(b'"POT-Creation-Date:'))


def update() -> None:
    for domain in DOMAINS:
        template = extract(domain)
        _write(template, TRANSLATIONS / f"{domain}.pot", omit_header=False)
        for locale in TRANSLATED:
            catalog = read(locale, domain)
            catalog.update(template, no_fuzzy_matching=False, update_header_comment=False, update_creation_date=False)
            _write(catalog, po_path(locale, domain), ignore_obsolete=True)
            print(f"{po_path(locale, domain).relative_to(ROOT)}: {len(template)} messages")


@dataclass(frozen=True)
class Problem:
    domain: str
    msgid: str
    context: str | None
    what: str

    def __str__(self) -> str:
        where = f" [{self.context}]" if self.context else ""
        return f"{self.domain}: {self.msgid!r}{where}: {self.what}"


def problems(locale: str = "th") -> list[Problem]:
    """What keeps the catalogs of a locale from covering the sources: every extracted msgid needs a
    non-empty, non-fuzzy translation with the same named placeholders."""
    found: list[Problem] = []
    for domain in DOMAINS:
        translated = read(locale, domain)
        for message in extract(domain):
            if not message.id:
                continue
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            entry = translated.get(message.id, context=message.context)
            if entry is None:
                found.append(Problem(domain, msgid, message.context, "missing"))
                continue
            strings = entry.string if isinstance(entry.string, (list, tuple)) else (entry.string,)
            if not all(s and s.strip() for s in strings):
                found.append(Problem(domain, msgid, message.context, "not translated"))
            elif entry.fuzzy:
                found.append(Problem(domain, msgid, message.context, "fuzzy"))
            else:
                ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
                expected = set().union(*(placeholders(i) for i in ids))
                for s in strings:
                    if placeholders(s) != expected:
                        found.append(
                            Problem(
                                domain,
                                msgid,
                                message.context,
                                f"placeholders {sorted(placeholders(s))} instead of {sorted(expected)}",
                            )
                        )
                        break
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "update":
        update()
        return 0
    if command == "check":
        found = [p for locale in TRANSLATED for p in problems(locale)]
        for problem in found:
            print(problem)
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
