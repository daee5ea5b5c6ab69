"""One set-up for the benchmark scripts: Django on the test settings with a throw-away test
database (DATABASE_URL's server, else embedded SQLite) and checkpoints in a temporary file."""
import os
import tempfile
from contextlib import contextmanager


@contextmanager
def throwaway_database():
    """Set Django up, create a test database, yield its connection, and destroy it after."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.test")
    os.environ["AUDIT_CHECKPOINT_FILE"] = os.path.join(tempfile.mkdtemp(), "checkpoints.jsonl")
    import django
    from django.db import connection
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield connection
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)
