"""Hypervisor providers (IHypervisor) and their registry: see the instances issue."""
