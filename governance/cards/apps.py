from django.apps import AppConfig


class ModelCardsConfig(AppConfig):
    name = "governance.cards"
    label = "model_cards"
    verbose_name = "Model cards and lineage"

    def ready(self):
        from governance.cards.models import ModelCard
        from governance.cards.policies import register_card_policies
        from portal import navigation
        from portal.permissions import has_perm

        register_card_policies()
        from governance.cards.inbox import register as register_inbox
        register_inbox()

        import governance.cards.transitions  # noqa: F401  (registers the card review kind with portal.workflow)
        navigation.add_item("Models", "Model cards", "model_cards:card_list",
                            lambda user: has_perm(user, "view", ModelCard))
