"""The watch list (issue 22 item 3): customers followed closely until their exit criteria hold."""
