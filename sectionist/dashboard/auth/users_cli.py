"""``sectionist users``: manage the dashboard's accounts (add, list, remove, passwd, role).

The database is chosen by ``--db URL`` (``sqlite:///FILE`` or ``postgresql://…``), else by
``--store DIR`` (the store's default database, ``<store>/sectionist.sqlite``), else by
``$SECTIONIST_DB_URL`` (resolved once by :meth:`sectionist.settings.Settings.resolve`, handed to
the command as ``args.settings``). There is no default account and no default password: ``users add``
generates a random password unless one is given on standard input, and prints it once.
"""

from __future__ import annotations

import argparse
import sys

from sectionist.analysis.errors import ParameterError

ROLE_HELP = "admin: manage users and see everyone's judgements; expert: judge; viewer: browse and listen"


def register_cli(subparsers, options) -> None:
    """Add ``users`` (``options``: the shared options; ``options.database`` adds ``--db``/``--store``)."""
    p = subparsers.add_parser(
        "users",
        help="manage dashboard accounts (add, list, remove, passwd, role)",
        description="Manage the accounts of the dashboard. " + ROLE_HELP + ".",
        epilog="Example: sectionist users add ada --role expert --store demo/store",
    )
    sub = p.add_subparsers(dest="users_command", metavar="ACTION")
    sub.required = True

    a = sub.add_parser("add", help="create an account (prints a random password once)",
                       description="Create an account. Without --password-stdin a random password is generated "
                       "and printed once.")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=["admin", "expert", "viewer"], help=ROLE_HELP)
    a.add_argument("--password-stdin", action="store_true", help="read the password from standard input (first line)")
    exists = a.add_mutually_exclusive_group()
    exists.add_argument("--if-missing", action="store_true", help="do nothing (exit 0) when the account exists already")
    exists.add_argument("--reset-if-exists", action="store_true",
                        help="when the account exists, give it this role and a new password (ends its sessions); "
                        "what 'make demo' uses so every run prints a working password")
    options.database(a)
    a.set_defaults(func=_add)

    ls = sub.add_parser("list", help="list accounts", description="List the accounts and their roles.")
    ls.add_argument("--all", action="store_true", help="include removed (deactivated) accounts")
    options.database(ls)
    ls.set_defaults(func=_list)

    rm = sub.add_parser("remove", help="remove an account (ends its sessions; judgements are kept)",
                        description="Remove an account and end its sessions. An account with judgements is "
                        "deactivated so its judgements and history stay; one without is deleted.")
    rm.add_argument("username")
    options.database(rm)
    rm.set_defaults(func=_remove)

    pw = sub.add_parser("passwd", help="set a new password (ends open sessions)",
                        description="Set a new password (random and printed once, or from standard input). "
                        "Open sessions of the account end.")
    pw.add_argument("username")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from standard input (first line)")
    options.database(pw)
    pw.set_defaults(func=_passwd)

    ro = sub.add_parser("role", help="change an account's role", description="Change an account's role. " + ROLE_HELP + ".")
    ro.add_argument("username")
    ro.add_argument("role", choices=["admin", "expert", "viewer"])
    options.database(ro)
    ro.set_defaults(func=_role)


def open_db(args):
    """The database of a command: ``--db``, else ``--store``'s (a folder's ``sectionist.sqlite``, or for an
    ``s3://`` store the SQLite file ``serve`` uses), else ``$SECTIONIST_DB_URL``
    (:func:`sectionist.settings.command_database_url`)."""
    from sectionist.dashboard.models import Database

    from sectionist.settings import command_database_url

    return Database(command_database_url(args.settings, args.store, args.db))


def _stdin_password() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise ParameterError("--password-stdin: no password on standard input")
    return password


def _add(args: argparse.Namespace) -> int:
    from sectionist.dashboard.auth.accounts import create_user, get_user

    password = _stdin_password() if args.password_stdin else None
    db = open_db(args)
    try:
        existed = get_user(db, args.username) is not None
        out = create_user(db, args.username, args.role, password, if_missing=args.if_missing,
                          reset_if_exists=args.reset_if_exists)
    finally:
        db.dispose()
    if out is None:
        print(f"user {args.username!r} exists already; left unchanged "
              f"(a new password: sectionist users passwd {args.username} …)")
        return 0
    verb = "reset" if existed else "created"
    print(f"{verb} user {args.username!r} with role {args.role} in {db.safe_url}")
    if not args.password_stdin:
        print(f"password (shown once): {out}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from sectionist.dashboard.auth.accounts import list_users

    db = open_db(args)
    try:
        users = list_users(db, include_removed=args.all)
    finally:
        db.dispose()
    if not users:
        print("no accounts (add one: sectionist users add NAME --role admin …)")
        return 0
    width = max(len(u.username) for u in users)
    for u in users:
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
        state = "" if u.active else "  (removed)"
        print(f"{u.username:<{width}}  {u.role:<6}  created {u.created_at:%Y-%m-%d}  last login {last}{state}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from sectionist.dashboard.auth.accounts import remove_user

    db = open_db(args)
    try:
        deleted = remove_user(db, args.username)
    finally:
        db.dispose()
    print(f"removed {args.username!r}" + ("" if deleted else " (deactivated: their judgements are kept)"))
    return 0


def _passwd(args: argparse.Namespace) -> int:
    from sectionist.dashboard.auth.accounts import set_password

    password = _stdin_password() if args.password_stdin else None
    db = open_db(args)
    try:
        out = set_password(db, args.username, password)
    finally:
        db.dispose()
    print(f"new password set for {args.username!r}; their open sessions have ended")
    if not args.password_stdin:
        print(f"password (shown once): {out}")
    return 0


def _role(args: argparse.Namespace) -> int:
    from sectionist.dashboard.auth.accounts import set_role

    db = open_db(args)
    try:
        set_role(db, args.username, args.role)
    finally:
        db.dispose()
    print(f"{args.username!r} is now {args.role}")
    return 0
