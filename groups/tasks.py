from celery import shared_task

from groups import services


@shared_task
def group_figures_refresh(tree_id: int) -> None:
    services.group_figures_refresh(tree_id=tree_id)


@shared_task
def group_figures_refresh_all() -> None:
    services.group_figures_refresh_all()
