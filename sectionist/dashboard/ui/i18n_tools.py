"""Maintain the translation catalogues (a developer tool, not used at run time).

::

    python -m sectionist.dashboard.ui.i18n_tools update          # extract strings, merge into es, compile .mo
    python -m sectionist.dashboard.ui.i18n_tools merge FILE.po   # add the translations in FILE.po, then update
    python -m sectionist.dashboard.ui.i18n_tools check           # list untranslated or fuzzy strings (exit 1)

Strings are extracted (Babel, mapping in ``babel.cfg``) from the dashboard's Python modules (the
keywords ``_``, ``N_``, ``ngettext``, ``pgettext``), :mod:`sectionist.analysis.glossary` (``N_``) and the
Jinja templates. The catalogue is written sorted by message id, without source references, so
that its diffs show only what changed; every write is atomic and serialised by a lock file
(several people or sessions may update it at once).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import io
import os
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from sectionist.dashboard.ui.i18n import DOMAIN, LANGUAGES, TRANSLATIONS_DIR

#: The folder the sources are searched from (``sectionist/``): locations read ``dashboard/…`` and ``analysis/…``.
ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2),
            "lazy_gettext": None}
#: (folder, method map) pairs searched for strings.
SOURCES = (
    ("dashboard", [("**/i18n_tools.py", "ignore"), ("**.py", "python"), ("auth/templates/**.html", "jinja2")]),
    ("analysis", [("glossary.py", "python")]),
)
TRANSLATED = tuple(lang for lang in LANGUAGES if lang != "en")


def po_path(lang: str) -> Path:
    return TRANSLATIONS_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return TRANSLATIONS_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def extract() -> Catalog:
    """Every translatable string of the sources, as a template catalogue."""
    template = Catalog(project="sectionist", domain=DOMAIN, creation_date=HEADER_DATE)
    for folder, method_map in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
                ROOT / folder, method_map=method_map, keywords=KEYWORDS,
                options_map={"**.html": {"extensions": "jinja2.ext.i18n"}}):
            template.add(message, locations=[(f"{folder}/{filename}", lineno)], auto_comments=comments,
                         context=context)
    return template


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.is_file():
        return _header(Catalog(locale=lang, domain=DOMAIN, project="sectionist"), lang)
    with path.open("rb") as fh:
        return _header(read_po(fh, locale=lang, domain=DOMAIN), lang)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def po_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, no_location=True, omit_header=False, sort_output=True,
             ignore_obsolete=True, include_previous=False)
    return buf.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


#: Fixed header dates: the catalogue changes only when its strings do.
HEADER_DATE = datetime.datetime(2026, 12, 1, tzinfo=datetime.timezone.utc)
#: gettext's plural rule per language (two forms in Spanish, as translators expect; CLDR's third
#: "many" form for exact millions is not used).
PLURAL_FORMS = {"es": (2, "(n != 1)")}


def _header(catalog: Catalog, lang: str) -> Catalog:
    catalog.project, catalog.version = "sectionist", "1"
    catalog.copyright_holder = "the sectionist developers"
    catalog.msgid_bugs_address = ""
    catalog.last_translator = "the sectionist developers"
    catalog.language_team = {"es": "Spanish"}.get(lang, lang)
    catalog.creation_date = catalog.revision_date = HEADER_DATE
    catalog.fuzzy = False
    if lang in PLURAL_FORMS:
        catalog._num_plurals, catalog._plural_expr = PLURAL_FORMS[lang]  # babel has no setter
    return catalog


def save(catalog: Catalog, lang: str) -> None:
    _header(catalog, lang)
    _atomic_write(po_path(lang), po_bytes(catalog))
    _atomic_write(mo_path(lang), mo_bytes(catalog))


@contextlib.contextmanager
def locked():
    """Serialise catalogue updates (a lock file beside the catalogues)."""
    TRANSLATIONS_DIR.mkdir(parents=True, exist_ok=True)
    with open(TRANSLATIONS_DIR / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def update(fragments=()) -> dict:
    """Extract, add the translations of ``fragments`` (``.po`` files), drop strings no longer in
    the code, compile. Returns ``{lang: number of untranslated strings}``."""
    template = extract()
    missing = {}
    with locked():
        for lang in TRANSLATED:
            catalog = load(lang)
            for fragment in fragments:
                with open(fragment, "rb") as fh:
                    extra = read_po(fh, locale=lang, domain=DOMAIN)
                for message in extra:
                    if not message.id or not message.string:
                        continue
                    if isinstance(message.id, tuple):  # a fragment without Plural-Forms reads CLDR's count
                        message.string = tuple(message.string[:catalog.num_plurals])
                    current = catalog.get(message.id, context=message.context)
                    if current is None:
                        catalog.add(message.id, message.string, context=message.context)
                    else:
                        current.string = message.string
                        current.flags.discard("fuzzy")
            catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
            save(catalog, lang)
            missing[lang] = len(untranslated(catalog))
    return missing


def untranslated(catalog: Catalog) -> list:
    """The message ids of ``catalog`` without a translation (empty, or marked fuzzy)."""
    out = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            out.append(message.id)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sectionist.dashboard.ui.i18n_tools", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("update", help="extract the strings, merge them into every catalogue, compile")
    merge = sub.add_parser("merge", help="add the translations of .po fragments, then update")
    merge.add_argument("fragments", nargs="+", type=Path)
    sub.add_parser("check", help="list the strings a catalogue does not translate (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.command in ("update", "merge"):
        missing = update(args.fragments if args.command == "merge" else ())
        for lang, n in missing.items():
            print(f"{lang}: {len(load(lang)) - n} translated, {n} untranslated ({po_path(lang).relative_to(ROOT)})")
        return 0
    bad = 0
    for lang in TRANSLATED:
        ids = untranslated(load(lang))
        for message_id in ids:
            print(f"{lang}: untranslated: {message_id!r}")
        bad += len(ids)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
