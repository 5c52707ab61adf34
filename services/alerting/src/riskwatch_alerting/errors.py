"""The alerting service's errors (rendered as problem+json by the shared handler)."""

from __future__ import annotations

from riskwatch_alerting.rules import RuleError
from riskwatch_shared.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError


class RuleNotFound(NotFound):
    title = "Rule not found"
    type_slug = "rule-not-found"


class RuleVersionNotFound(NotFound):
    title = "Rule version not found"
    type_slug = "rule-version-not-found"


class TemplateNotFound(NotFound):
    title = "Rule template not found"
    type_slug = "rule-template-not-found"


class ListNotFound(NotFound):
    title = "Managed list not found"
    type_slug = "list-not-found"


class AlertNotFound(NotFound):
    title = "Alert not found"
    type_slug = "alert-not-found"


class DuplicateList(Conflict):
    title = "Managed list already exists"
    type_slug = "duplicate-list"


class TransitionNotAllowed(Conflict):
    title = "Alert transition not allowed"
    type_slug = "alert-transition-not-allowed"


class MeasureNotPossible(Conflict):
    title = "Measure not possible"
    type_slug = "measure-not-possible"


class RuleStatusConflict(Conflict):
    title = "Rule status change not allowed"
    type_slug = "rule-status-conflict"


class ActivationNotAllowed(Forbidden):
    title = "Not allowed to switch rules on or off"
    type_slug = "rule-activation-forbidden"


class InvalidRuleDefinition(InvalidInput):
    title = "Invalid rule"
    type_slug = "invalid-rule"


class InvalidCondition(InvalidInput):
    """The condition does not parse or type-check; `line`/`column` point at the problem."""

    title = "Invalid rule condition"
    type_slug = "invalid-rule-condition"

    @classmethod
    def from_rule_error(cls, error: RuleError, *, field: str = "condition") -> InvalidCondition:
        kind = "syntax" if error.__class__.__name__ == "RuleSyntaxError" else "type"
        return cls(
            error.message,
            field=field,
            line=error.line,
            column=error.column,
            error_kind=kind,
        )


class InvalidQuery(InvalidInput):
    title = "Invalid query"
    type_slug = "invalid-query"


class CaseNotFound(NotFound):
    title = "Case not found"


class CaseTransitionNotAllowed(Conflict):
    title = "Case transition not allowed"


class SuppressionNotFound(NotFound):
    title = "Suppression not found"


class WatchlistEntryNotFound(NotFound):
    title = "Watch-list entry not found"
    type_slug = "watchlist-entry-not-found"


class WatchlistCustomerUnknown(NotFound):
    title = "Customer not found"
    type_slug = "watchlist-customer-not-found"


class WatchlistEntryClosed(Conflict):
    title = "Watch-list entry already exited"
    type_slug = "watchlist-entry-exited"


class InvalidReviewDate(InvalidInput):
    title = "Invalid review date"
    type_slug = "invalid-review-date"


class SelfApprovalNotAllowed(Forbidden):
    title = "The author of a rule change cannot approve it"
    type_slug = "rule-self-approval"


class ProposalNotFound(NotFound):
    title = "Rule proposal not found"
    type_slug = "rule-proposal-not-found"


class ProposalNotPending(Conflict):
    title = "Rule proposal already decided"
    type_slug = "rule-proposal-not-pending"


class ApprovalNotAllowed(Forbidden):
    title = "Not allowed to approve or reject rule changes"
    type_slug = "rule-approval-forbidden"


class OperationalAlertNotFound(NotFound):
    title = "Operational alert not found"
    type_slug = "operational-alert-not-found"


class OperationalAcknowledgeNotAllowed(Forbidden):
    title = "Not allowed to acknowledge operational alerts"
    type_slug = "operational-acknowledge-forbidden"


class ListProposalNotFound(NotFound):
    title = "List proposal not found"
    type_slug = "list-proposal-not-found"


class ListProposalNotPending(Conflict):
    title = "List proposal already decided"
    type_slug = "list-proposal-not-pending"


class ListSelfApprovalNotAllowed(Forbidden):
    title = "The author of a list change cannot approve it"
    type_slug = "list-self-approval"


class ListApprovalNotAllowed(Forbidden):
    title = "Not allowed to approve or reject list changes"
    type_slug = "list-approval-forbidden"


class ShadowRunNotFound(NotFound):
    title = "Shadow run not found"
    type_slug = "shadow-run-not-found"


class ShadowLimitReached(Conflict):
    title = "Too many shadow runs"
    type_slug = "shadow-limit-reached"


class ShadowNotAllowed(Forbidden):
    title = "Not allowed to start or stop shadow runs or rollouts"
    type_slug = "shadow-forbidden"


class BacktestJobNotFound(NotFound):
    title = "Backtest job not found"
    type_slug = "backtest-job-not-found"


class BacktestJobFinished(Conflict):
    title = "Backtest job already finished"
    type_slug = "backtest-job-finished"


class BacktestIdempotencyConflict(Conflict):
    title = "Idempotency-Key already used for another backtest"
    type_slug = "backtest-idempotency-conflict"


class TooManyBacktests(ServiceError):
    """The install already runs as many backtest jobs as it allows (queued ones included)."""

    status_code = 429
    title = "Too many backtest jobs running in this install"
    type_slug = "backtest-install-limit"
    retry_after = 30


class TooManyBacktestsOfUser(ServiceError):
    """The caller already has as many backtest jobs queued or running as one user may."""

    status_code = 429
    title = "You already have the most backtest jobs one user may run at once"
    type_slug = "backtest-user-limit"
    retry_after = 30


class RolloutNotPossible(Conflict):
    title = "Rule rollout not possible"
    type_slug = "rule-rollout-conflict"


class ImportConflict(Conflict):
    title = "Configuration import conflict"
    type_slug = "config-import-conflict"
