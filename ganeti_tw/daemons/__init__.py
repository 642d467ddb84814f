"""One service maker per daemon: wiring only."""
