"""Thin Celery entry points for model cards: ids only, tolerant of extra kwargs, idempotent."""
from celery import shared_task

from governance.cards import services
from governance.cards.models import ExportStatus
from portal.retry import task_retry

EXPORT_POLLS = 30


@shared_task(name="model_cards.share_apply", acks_late=True)
def share_apply(card_id: int, **_ignored) -> int:
    """Create the RAM shares still pending for a card (a repeat skips active shares)."""
    return services.model_card_shares_apply(card_id=card_id)


@shared_task(name="model_cards.export_run", bind=True, acks_late=True, max_retries=EXPORT_POLLS)
def export_run(self, export_id: int, **_ignored) -> str:
    """Start or poll one export job; re-enqueued with backoff while SageMaker is working."""
    status = services.model_card_export_advance(export_id=export_id)
    if status == ExportStatus.IN_PROGRESS:
        if self.request.retries >= EXPORT_POLLS:
            services.model_card_export_give_up(export_id=export_id, reason="SageMaker did not finish the export "
                                               "in time; request a new export.")
            return ExportStatus.FAILED
        raise task_retry(self, base=1.0, cap=30.0)
    return status


@shared_task(name="model_cards.sync", acks_late=True)
def sync(**_ignored) -> dict:
    """Import cards and versions created or edited directly in SageMaker (beat)."""
    return services.model_cards_sync()
