"""The sandbox's engine: operation registry, state store, request context, HTTP front."""
