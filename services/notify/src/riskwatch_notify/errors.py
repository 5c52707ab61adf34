"""The notify service's errors (rendered as problem+json by the shared handler)."""

from __future__ import annotations

from riskwatch_shared.errors import Conflict, Forbidden, InvalidInput, NotFound


class RecipientNotFound(NotFound):
    title = "Recipient not found"
    type_slug = "recipient-not-found"


class TeamNotFound(NotFound):
    title = "Team not found"
    type_slug = "team-not-found"


class SubscriptionNotFound(NotFound):
    title = "Subscription not found"
    type_slug = "subscription-not-found"


class EscalationPolicyNotFound(NotFound):
    title = "Escalation policy not found"
    type_slug = "escalation-policy-not-found"


class DeliveryNotFound(NotFound):
    title = "Delivery not found"
    type_slug = "delivery-not-found"


class InboxMessageNotFound(NotFound):
    title = "Inbox message not found"
    type_slug = "inbox-message-not-found"


class NoInbox(NotFound):
    title = "No inbox for this user"
    type_slug = "no-inbox"


class DuplicateRecipient(Conflict):
    title = "Recipient already exists"
    type_slug = "duplicate-recipient"


class DuplicateTeam(Conflict):
    title = "Team already exists"
    type_slug = "duplicate-team"


class NotRedrivable(Conflict):
    title = "Delivery cannot be re-driven"
    type_slug = "not-redrivable"


class InvalidPolicy(InvalidInput):
    title = "Invalid escalation policy"
    type_slug = "invalid-escalation-policy"


class RefusedWebhookUrl(InvalidInput):
    title = "Webhook URL not allowed"
    type_slug = "webhook-url-refused"


class InvalidCursor(InvalidInput):
    title = "Invalid cursor"
    type_slug = "invalid-cursor"


class NotAllowed(Forbidden):
    title = "Not allowed"
    type_slug = "forbidden"


class PolicyProposalNotFound(NotFound):
    title = "Escalation policy proposal not found"
    type_slug = "escalation-policy-proposal-not-found"


class PolicyProposalNotPending(Conflict):
    title = "Escalation policy proposal already decided"
    type_slug = "escalation-policy-proposal-not-pending"


class PolicySelfApprovalNotAllowed(Forbidden):
    title = "The author of an escalation policy change cannot approve it"
    type_slug = "escalation-policy-self-approval"


class PolicyApprovalNotAllowed(Forbidden):
    title = "Not allowed to approve or reject escalation policy changes"
    type_slug = "escalation-policy-approval-forbidden"


class NoAddressForChannel(Conflict):
    title = "The recipient has no address on this channel"
    type_slug = "no-address-for-channel"


class ImportConflict(Conflict):
    title = "Configuration import conflict"
    type_slug = "config-import-conflict"
