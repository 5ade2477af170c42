from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _unicode_lower(sender, connection, **kwargs) -> None:
    """SQLite's lower() folds only A-Z; account names are matched case-insensitively in every
    script ("ÖKO GmbH" = "öko gmbh"), as PostgreSQL's lower() does. accounts.references uses it."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "unicode_lower", 1, lambda text: text.lower() if isinstance(text, str) else text, deterministic=True)


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        connection_created.connect(_unicode_lower, dispatch_uid="accounts.unicode_lower")
