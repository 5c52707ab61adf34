"""Detection health (issue 23 item 5): per rule fire rate, volume against its own baseline and
precision; operational alerts to the owners when a rule spikes or a model drifts; metrics."""
