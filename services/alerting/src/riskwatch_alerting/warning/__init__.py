"""Credit early warning: the indicator catalogue, segment baselines, the watch-list link."""
