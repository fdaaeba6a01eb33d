"""Which change notification, if any, a legacy session or a modern
``subscriptions/listen`` stream gets for a change; encoded once per recipient."""

from mocopr.app.changes import PROMPTS, RESOURCES, TOOLS, UPDATED, Change
from mocopr.app.session import LegacySession
from mocopr.protocol import messages

_LIST_CHANGED = {
    TOOLS: "notifications/tools/list_changed",
    PROMPTS: "notifications/prompts/list_changed",
    RESOURCES: "notifications/resources/list_changed",
}
_FILTER_FIELD = {
    TOOLS: "toolsListChanged",
    PROMPTS: "promptsListChanged",
    RESOURCES: "resourcesListChanged",
}


def for_session(session: LegacySession, change: Change) -> bytes | None:
    """Legacy: list changes go to every initialized session, updates to subscribers."""
    if not session.initialized:
        return None
    if change.kind == UPDATED:
        if change.uri not in session.subscriptions:
            return None
        return messages.encode_notification("notifications/resources/updated", {"uri": change.uri})
    return messages.encode_notification(_LIST_CHANGED[change.kind], {})


def for_listener(
    subscription: messages.SubscriptionFilter, subscription_id: messages.RequestId, change: Change
) -> bytes | None:
    """Modern: only what the stream opted in to, tagged with its subscription id."""
    meta = {messages.META_SUBSCRIPTION_ID: subscription_id}
    if change.kind == UPDATED:
        uris = subscription.resourceSubscriptions
        if uris is messages.UNSET or change.uri not in uris:
            return None
        return messages.encode_notification(
            "notifications/resources/updated", {"_meta": meta, "uri": change.uri}
        )
    if not getattr(subscription, _FILTER_FIELD[change.kind]):
        return None
    return messages.encode_notification(_LIST_CHANGED[change.kind], {"_meta": meta})
