"""The Discord adapter: mentions, slash commands and the message context menu.

``render`` turns the core's results into embeds and buttons (pure, no I/O),
``components`` holds the persistent buttons, ``client`` the bot itself,
``commands`` the ``factbot discord`` admin commands and ``runner`` starts it.
Nothing here matches or stores anything: that is the core's job.
"""
