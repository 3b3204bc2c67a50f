"""vps-console: turn paid billing orders into running, licensed oVirt VMs."""

__version__ = "0.1.0"
