"""The scoring service's errors (rendered as problem+json by the shared handler)."""

from __future__ import annotations

from riskwatch_shared.errors import Conflict, Forbidden, InvalidInput, NotFound


class CustomerNotScored(NotFound):
    title = "Customer not scored"
    type_slug = "customer-not-scored"


class ModelNotFound(NotFound):
    title = "Model not found"
    type_slug = "model-not-found"


class InvalidTrainingData(InvalidInput):
    title = "Invalid training data"
    type_slug = "invalid-training-data"


class ModelNotTrainable(InvalidInput):
    title = "Model kind cannot be trained"
    type_slug = "model-not-trainable"


class ModelNotDeployable(Conflict):
    title = "Model cannot score live customers"
    type_slug = "model-not-deployable"


class InvalidCursorError(InvalidInput):
    title = "Invalid cursor"
    type_slug = "invalid-cursor"


class InvalidTransactionInput(InvalidInput):
    title = "Invalid transaction"
    type_slug = "invalid-transaction"


class InvalidModelTransition(Conflict):
    title = "Model status cannot change that way"
    type_slug = "invalid-model-transition"


class ModelProposalNotFound(NotFound):
    title = "Model proposal not found"
    type_slug = "model-proposal-not-found"


class ModelProposalNotPending(Conflict):
    title = "Model proposal already decided"
    type_slug = "model-proposal-not-pending"


class ModelSelfApprovalNotAllowed(Forbidden):
    title = "The author of a model change cannot approve it"
    type_slug = "model-self-approval"


class ModelApprovalNotAllowed(Forbidden):
    title = "Not allowed to approve or reject model changes"
    type_slug = "model-approval-forbidden"
