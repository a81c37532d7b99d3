"""The group tree's background work: figures recounts. Each is safe to receive twice (a
recount is a pure function of the rows) and holds the one figures claim, so a second recount
asked for meanwhile returns at once and the holder counts its tree too; a lost message costs a
minute at most, until beat's round recounts the trees still marked stale (groups.services,
"Figures")."""

from celery import shared_task

from groups import services

# A recount starts rounds for at most STALE_ROUND_BUDGET_SECONDS (5 minutes) and a round of
# every tree takes a few minutes on the full tree with 10 million members: 20 minutes is room
# for both, and well under the broker's visibility timeout (2 hours).
FIGURES_SOFT_TIME_LIMIT = 20 * 60
FIGURES_TIME_LIMIT = FIGURES_SOFT_TIME_LIMIT + 5 * 60


@shared_task(soft_time_limit=FIGURES_SOFT_TIME_LIMIT, time_limit=FIGURES_TIME_LIMIT)
def group_figures_refresh(tree_id: int) -> None:
    services.group_figures_refresh(tree_id=tree_id)


@shared_task(soft_time_limit=FIGURES_SOFT_TIME_LIMIT, time_limit=FIGURES_TIME_LIMIT)
def group_figures_refresh_all() -> None:
    services.group_figures_refresh_all()


@shared_task(soft_time_limit=FIGURES_SOFT_TIME_LIMIT, time_limit=FIGURES_TIME_LIMIT)
def group_figures_refresh_stale() -> None:
    """Beat's round (GROUP_FIGURES_CATCH_UP_SECONDS): recount every tree still marked stale."""
    services.group_figures_refresh_stale()


# The engine's run on the full tree (72,000 booths, 700,000 members moving) takes under a
# minute; an hour is room for a national mapping, and well under the visibility timeout
# (CELERY_VISIBILITY_TIMEOUT, 5 hours). Cut short, the step in flight rolls back whole and
# the next run of the same file (the page's "Apply" again) resumes from the ledger.
DELIMITATION_SOFT_TIME_LIMIT = 60 * 60
DELIMITATION_TIME_LIMIT = DELIMITATION_SOFT_TIME_LIMIT + 5 * 60


@shared_task(soft_time_limit=DELIMITATION_SOFT_TIME_LIMIT, time_limit=DELIMITATION_TIME_LIMIT)
def delimitation_apply_kept(
    digest: str, file_name: str, actor_id: int, check_id: int | None = None
) -> None:
    """Apply a mapping kept by the delimitation page (idempotent: groups.delimitation.office)."""
    from groups.delimitation import office

    office.delimitation_run_kept(
        digest=digest, file_name=file_name, actor_id=actor_id, check_id=check_id
    )


# A dry run is the run rolled back (Andhra Pradesh's split: about 50 s): the run's limits.
@shared_task(soft_time_limit=DELIMITATION_SOFT_TIME_LIMIT, time_limit=DELIMITATION_TIME_LIMIT)
def delimitation_check_kept(check_id: int) -> None:
    """The dry run of a mapping uploaded on the delimitation page (idempotent: it runs a
    waiting check only; groups.delimitation.office)."""
    from groups.delimitation import office

    office.delimitation_check_run(check_id=check_id)


@shared_task(soft_time_limit=50, time_limit=60)
def delimitation_checks_resume() -> int:
    """Beat's round (GROUP_DELIMIT_CHECK_RESUME_SECONDS): stalled checks are sent again."""
    from groups.delimitation import office

    return office.delimitation_checks_resume()
