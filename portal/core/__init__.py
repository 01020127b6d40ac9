"""The domain: models and services. Nothing in here handles a request."""
