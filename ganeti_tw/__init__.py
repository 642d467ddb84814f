"""ganeti-tw: the Ganeti cluster virtualization manager, rebuilt on Twisted."""

__version__ = "0.1.0"
