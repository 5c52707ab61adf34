"""Cases: a customer's alerts grouped into one unit of work, with its timeline, suppressions
and report. `domain` and `suppression` are pure; `store` holds the SQL; `service` the use
cases the API and the event path call."""
