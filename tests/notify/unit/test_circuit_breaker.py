from riskwatch_notify.domain.circuit_breaker import CircuitBreaker, CircuitState


def test_opens_after_consecutive_failures_and_half_opens_after_cooldown() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cooldown_seconds=30)
    breaker.record_transient_failure(0)
    breaker.record_transient_failure(1)
    assert breaker.state(1) is CircuitState.CLOSED
    breaker.record_transient_failure(2)
    assert breaker.state(2) is CircuitState.OPEN
    assert not breaker.allows_primary(31)
    assert breaker.state(32) is CircuitState.HALF_OPEN
    assert breaker.allows_primary(32)


def test_success_resets_the_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, cooldown_seconds=30)
    breaker.record_transient_failure(0)
    breaker.record_success()
    breaker.record_transient_failure(1)
    assert breaker.state(1) is CircuitState.CLOSED


def test_failed_probe_reopens_for_a_full_cooldown() -> None:
    breaker = CircuitBreaker(failure_threshold=2, cooldown_seconds=30)
    breaker.record_transient_failure(0)
    breaker.record_transient_failure(0)
    breaker.record_transient_failure(40)  # the half-open probe fails
    assert breaker.state(69) is CircuitState.OPEN
    assert breaker.state(70) is CircuitState.HALF_OPEN
    breaker.record_success()
    assert breaker.state(70) is CircuitState.CLOSED
