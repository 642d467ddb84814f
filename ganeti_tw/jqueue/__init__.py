"""The job queue: jobs of opcodes, their states, persistence and replication."""
