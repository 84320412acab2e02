"""What an account may be: the username, role and password rules, and :class:`AccountError`
that says why a change was refused."""

from __future__ import annotations

import functools
import re
import secrets

from sectionist.analysis.errors import ParameterError
from sectionist.dashboard.models import ROLES
from sectionist.dashboard.ui.i18n import N_, _

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD_LENGTH = 10
#: The least zxcvbn strength score (0–4) a chosen password needs: 3 is "safely unguessable"
#: (about 10^8 guesses and more).
MIN_PASSWORD_SCORE = 3


class AccountError(ParameterError):
    """A refused account change (a bad username, role or password, the last admin…): its text is
    English (the ``sectionist users`` command, logs); :meth:`translated` gives the admin page the same
    message in the request's language. ``translate`` names variables that are themselves English
    messages (zxcvbn's hint)."""

    def __init__(self, message: str, *, translate: tuple[str, ...] = (), **variables):
        self.message, self.variables, self.translate = message, variables, translate
        super().__init__(message % variables)

    def translated(self) -> str:
        variables = {k: _(v) if k in self.translate else v for k, v in self.variables.items()}
        return _(self.message, **variables)


#: zxcvbn's warnings (its feedback is English) without their full stop, marked so the admin page can
#: show them translated.
ZXCVBN_WARNINGS = (
    N_("Straight rows of keys are easy to guess"), N_("Short keyboard patterns are easy to guess"),
    N_('Repeats like "aaa" are easy to guess'), N_('Repeats like "abcabcabc" are only slightly harder to guess than "abc"'),
    N_('Sequences like "abc" or "6543" are easy to guess'), N_("Recent years are easy to guess"),
    N_("Dates are often easy to guess"), N_("This is a top-10 common password"),
    N_("This is a top-100 common password"), N_("This is a very common password"),
    N_("This is similar to a commonly used password"), N_("A word by itself is easy to guess"),
    N_("Names and surnames by themselves are easy to guess"), N_("Common names and surnames are easy to guess"),
)


def generate_password() -> str:
    """A random password of 20 URL-safe characters."""
    return secrets.token_urlsafe(15)


def valid_username(username: str) -> str:
    """``username`` without surrounding blanks, else :class:`AccountError`."""
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise AccountError(
            N_("username %(username)s: use 1–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"),
            username=repr(username))
    return username


def valid_role(role: str) -> str:
    """``role`` if it is one of :data:`sectionist.dashboard.models.ROLES`, else :class:`AccountError`."""
    if role not in ROLES:
        raise AccountError(N_("role %(role)s: use one of %(roles)s"), role=repr(role), roles=", ".join(ROLES))
    return role


def valid_password(password: str, username: str | None = None) -> str:
    """``password`` if the policy allows it, else :class:`AccountError` saying why.

    The policy: at least :data:`MIN_PASSWORD_LENGTH` characters; not in zxcvbn's list of 30,000
    common passwords (shipped with the ``zxcvbn`` package: no network, no list in the repo); not
    the username nor containing it (any case, usernames of 3+ characters); and zxcvbn's strength
    score at least :data:`MIN_PASSWORD_SCORE` (which refuses repeats such as ``aaaaaaaaaa``,
    sequences and keyboard walks). Generated passwords (:func:`generate_password`) always pass.
    """
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(N_("password too short: use at least %(length)s characters"), length=MIN_PASSWORD_LENGTH)
    low = password.lower()
    if low in _common_passwords():
        raise AccountError(N_("password is in a list of common passwords: choose another"))
    name = (username or "").strip().lower()
    if name and (low == name or (len(name) >= 3 and name in low)):
        raise AccountError(N_("password must not be or contain the username"))
    from zxcvbn import zxcvbn

    # zxcvbn refuses more than 72 characters (its matching is quadratic): judge the first 72
    result = zxcvbn(password[:72], user_inputs=[name] if name else None)
    if result["score"] < MIN_PASSWORD_SCORE:
        hint = (result["feedback"].get("warning") or N_("add more words or characters")).rstrip(".")
        raise AccountError(N_("password too easy to guess (%(hint)s): use a longer or less predictable one"),
                           translate=("hint",), hint=hint)
    return password


@functools.lru_cache(maxsize=1)
def _common_passwords() -> frozenset:
    """zxcvbn's list of common passwords (from leaked password sets), lower case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(w.lower() for w in FREQUENCY_LISTS["passwords"])


def hash_password(password: str) -> str:
    """werkzeug's salted hash of ``password``."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password)
