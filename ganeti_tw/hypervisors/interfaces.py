"""The contract every hypervisor provider fulfils (spec 8.1).

The node daemon's backend drives instances only through this interface, so a
new hypervisor is one new module providing it plus one line in the registry.
"""

from zope.interface import Interface


class IHypervisor(Interface):
    """A hypervisor on this node.

    Lifecycle, query and migration methods are coroutines (``async def``):
    providers talk to their hypervisor through child processes or sockets
    and must not block the reactor. Parameter checks and the console
    command are plain methods, computed from their arguments alone.

    ``instance`` is a ``ganeti_tw.objects.Instance`` whose ``hvparams`` and
    ``beparams`` are already filled with the cluster defaults. Failures raise
    ``errors.HypervisorError``.
    """

    def start_instance(instance, block_devices):
        """Start ``instance``; ``block_devices`` is a list of ``(disk_dict, device_path)``."""

    def stop_instance(instance, force):
        """Stop ``instance``: a clean shutdown request, or a hard stop if ``force``."""

    def reboot_instance(instance):
        """Soft-reboot a running ``instance`` (the hypervisor's own reboot)."""

    def list_instances():
        """The names of the instances running on this node, as a list of str."""

    def get_instance_info(name):
        """``(name, id, memory, vcpus, state, cpu_time)`` of a running instance, else None."""

    def get_all_instances_info():
        """The ``get_instance_info`` tuple of every instance running on this node."""

    def get_node_info():
        """This node's resources as a dict.

        Keys ``memory_total``, ``memory_free``, ``memory_dom0`` (MiB) and
        ``cpu_total``, ``cpu_nodes``, ``cpu_sockets`` (counts).
        """

    def get_console_command(instance):
        """The shell command line that attaches to ``instance``'s console on this node."""

    def verify():
        """Self-check of the hypervisor on this node: None if usable, else an error string."""

    def migration_info(instance):
        """On the source: the text the target needs to accept ``instance`` (str)."""

    def accept_instance(instance, info, target):
        """On the target: prepare to receive ``instance``; ``target`` is this node's address."""

    def migrate_instance(instance, target, live):
        """On the source: send ``instance`` to ``target``, live or paused, and drop it here."""

    def migration_status(instance):
        """On the source, during ``migrate_instance``: a progress dict, or None if unknown.

        Keys as in QMP ``query-migrate``: ``status``, ``ram`` (``transferred``,
        ``remaining``, ``total`` bytes), ``downtime`` (ms, once completed).
        """

    def finalize_migration(instance, info, success):
        """On the target: make ``instance`` run here if ``success``, else undo the accept."""

    def check_parameter_syntax(hvparams):
        """Master-side check of filled ``hvparams`` that touches no file; raises HypervisorError."""

    def validate_parameters(hvparams):
        """Node-side check of filled ``hvparams`` (named files exist); raises HypervisorError."""
