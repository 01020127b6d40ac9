"""Outbound webhooks: subscriptions of a tenant, client or supplier, signed deliveries.

Events are noted by :mod:`portal.plugins.events` while a change runs and written as
:class:`~portal.webhooks.models.WebhookDelivery` rows plus outbox rows in the same
transaction; the worker delivers them (:mod:`portal.webhooks.delivery`), signed by the
Standard Webhooks scheme. The pages are :mod:`portal.webhooks.views`, the API
:mod:`portal.api.webhooks`. See docs/webhooks.md.
"""
