"""One module per AWS service the sandbox adds to (or overrides in) moto.

Importing this package registers every operation and seeder (see ``sandbox.core.registry``).
"""
