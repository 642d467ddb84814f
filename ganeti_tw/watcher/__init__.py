"""ganeti-watcher (spec 11.1): keeps daemons and instances up on every node.

Blocking code without Twisted: the same pass runs from cron
(``bin/ganeti-watcher``) and, in a thread, from the twistd service
(``daemons/watcher.py``).
"""
