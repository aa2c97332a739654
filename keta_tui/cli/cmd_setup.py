"""`keta init` (create or upgrade the database, load settings) and `keta demo`."""
from __future__ import annotations


def register(subparsers) -> None:
    init = subparsers.add_parser("init", help="create or upgrade the database and load clinic settings",
                                 description="Create or upgrade the database; load a settings file "
                                             "(validated whole: an invalid file changes nothing).")
    init.add_argument("--config", metavar="FILE", help="clinic settings TOML (default: keep the stored "
                                                       "settings, or load the bundled example)")
    init.set_defaults(func=run_init)

    demo = subparsers.add_parser("demo", help="write the synthetic demo clinic into the database",
                                 description="Rebuild the chosen database as the synthetic demo clinic. "
                                             "Refuses a database that holds real (non-demo) data.")
    demo.add_argument("--size", choices=("tiny", "small", "large"), default="small",
                      help="small: ~400 patients, 18 months (default); large: ~5 years, 20,000 patients")
    demo.add_argument("--seed", type=int, default=None, help="random seed (same seed, same clinic)")
    demo.add_argument("--today", metavar="YYYY-MM-DD", help="the demo's today (default: the clinic's today)")
    demo.set_defaults(func=run_demo)


def _database_file_exists(target: str) -> bool | None:
    """Whether a SQLite file exists already (None for a server URL)."""
    from pathlib import Path

    from keta_tui.db.connection import is_url

    return None if is_url(target) else Path(target).expanduser().exists()


def run_init(ctx, args) -> int:
    from keta_tui.clinic.settings import EXAMPLE_PATH, load_settings_file
    from keta_tui.clinic.setup import apply_settings, has_settings
    from keta_tui.db.connection import describe

    # Validate first: a bad file leaves the database as it was (or not created at all).
    settings = load_settings_file(args.config) if args.config else None
    existed = _database_file_exists(ctx.db_target)
    ctx.open(create=True)
    where = describe(ctx.db_target)
    print(f"database {where}: {'created' if existed is False else 'ready, schema up to date'}")
    if settings is not None:
        apply_settings(settings, ctx.actor)
        print(f"loaded settings from {args.config}: {settings.name}, {len(settings.chairs)} chairs, "
              f"{len(settings.treatments)} treatments, {len(settings.protocols)} protocols")
    elif has_settings():
        print("settings unchanged (load new ones with --config FILE)")
    else:
        apply_settings(load_settings_file(EXAMPLE_PATH), ctx.actor)
        print(f"no settings yet: loaded the bundled example ({EXAMPLE_PATH.name}); "
              "edit a copy and run 'keta init --config FILE'")
    return 0


def run_demo(ctx, args) -> int:
    from keta_tui.clinic.clock import parse_date
    from keta_tui.clinic.demo import DEFAULT_SEED, build_demo
    from keta_tui.clinic.settings import example_settings
    from keta_tui.db.connection import describe

    base = example_settings()
    today = None
    if args.today:
        today = parse_date(args.today, ctx.clock.now().astimezone(base.tz).date())
    ctx.open(create=True)
    seed = DEFAULT_SEED if args.seed is None else args.seed
    summary = build_demo(size=args.size, seed=seed, today=today, clock=ctx.clock, actor=ctx.actor, base=base)
    print(f"demo clinic ({summary.size}, seed {summary.seed}) written to {describe(ctx.db_target)}: "
          f"{summary.patients:,} patients, {summary.courses:,} courses, {summary.sessions:,} sessions")
    local_now = summary.now.astimezone(base.tz)
    print(f"today is {summary.today:%a %Y-%m-%d}, built around {local_now:%H:%M} clinic time")
    if summary.opened_today:
        print(f"today is normally closed ({base.closure_reason(summary.today)}); the demo settings open it "
              "(closures.open_dates) so the board has a busy day")
    return 0
