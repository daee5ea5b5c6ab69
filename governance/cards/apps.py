from django.apps import AppConfig


class ModelCardsConfig(AppConfig):
    name = "governance.cards"
    label = "model_cards"
    verbose_name = "Model cards and lineage"
