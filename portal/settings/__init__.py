"""Settings package: ``base`` (shared), ``local`` (make run), ``test``, ``production``.

Every value comes from the environment; see README.md and .env.example for the list.
"""
