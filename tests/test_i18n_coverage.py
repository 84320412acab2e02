"""Every display string of the dashboard's code goes through gettext (tests/i18n_lint.py)."""

from tests.i18n_lint import untranslated_literals


def test_display_strings_in_the_code_go_through_gettext():
    found = untranslated_literals()
    assert not found, "display strings without _(): " + "; ".join("%s:%d %s %r" % f for f in found[:15])
