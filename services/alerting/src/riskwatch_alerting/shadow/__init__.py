"""Shadow runs (issue 23 item 2): proposed rule versions on live traffic, raising nothing."""
