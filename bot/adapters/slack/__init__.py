"""The Slack adapter: mentions, ``/factcheck``, the message shortcut, App Home and Block Kit replies.

``render`` turns the core's results into Block Kit (pure, no I/O), ``app``
holds the Bolt app and its listeners, ``runner`` starts it in Socket Mode or
HTTP mode (with the multi-workspace OAuth install) and posts digests.
Nothing here matches or stores anything: that is the core's job.
"""
