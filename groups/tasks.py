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
