"""A minimal plain-SDK provisioning: the yardstick for the console's calls and wall time.

What a careful engineer would write by hand with ovirtsdk4 to make the same VM the console
makes for a standard Linux order: find the template, clone it, wait for the copy, set vCPU
and memory, grow the disk and wait for it, start with cloud-init (hostname, root password),
wait until the guest reports its address and hostname. No preflight, no marks or tag, no
store, no journal: only the engine work. It polls at one fixed cadence (`poll`), the one
the console's paced waits never exceed.

Used by bench/flow_calls.py (side by side with the console, one engine, one run); also
runnable alone against any engine: .venv/bin/python bench/sdk_baseline.py URL USER PASSWORD
NAME [--template alma9] [--cluster prod-a] [--poll 5]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import ovirtsdk4 as sdk
from ovirtsdk4 import types

MiB = 1024**2
GiB = 1024**3


@dataclass
class Wanted:
    name: str
    template: str
    cluster: str
    cpus: int
    memory_mib: int
    disk_gib: int
    hostname: str
    root_password: str


def provision(connection: sdk.Connection, wanted: Wanted, poll: float) -> dict:
    """Make the VM; returns its address and the wall time (the calls are the engine's log)."""
    started = time.perf_counter()
    system = connection.system_service()
    vms = system.vms_service()
    template = system.templates_service().list(search=f"name={wanted.template}")[0]
    vm = vms.add(
        types.Vm(
            name=wanted.name,
            cluster=types.Cluster(name=wanted.cluster),
            template=types.Template(id=template.id),
        ),
        clone=True,
    )
    vm_service = vms.vm_service(vm.id)
    while vm_service.get().status == types.VmStatus.IMAGE_LOCKED:
        time.sleep(poll)
    vm_service.update(
        types.Vm(
            cpu=types.Cpu(topology=types.CpuTopology(sockets=wanted.cpus, cores=1, threads=1)),
            memory=wanted.memory_mib * MiB,
            memory_policy=types.MemoryPolicy(
                guaranteed=wanted.memory_mib * MiB, max=4 * wanted.memory_mib * MiB
            ),
        )
    )
    attachments = vm_service.disk_attachments_service()
    attachment = attachments.list()[0]
    attachments.attachment_service(attachment.id).update(
        types.DiskAttachment(disk=types.Disk(provisioned_size=wanted.disk_gib * GiB))
    )
    disk_service = system.disks_service().disk_service(attachment.id)
    while True:
        time.sleep(poll)
        disk = disk_service.get()
        if disk.status == types.DiskStatus.OK and disk.provisioned_size >= wanted.disk_gib * GiB:
            break
    vm_service.start(
        use_cloud_init=True,
        vm=types.Vm(
            initialization=types.Initialization(
                host_name=wanted.hostname, user_name="root", root_password=wanted.root_password
            )
        ),
    )
    while True:
        time.sleep(poll)
        vm = vm_service.get(follow="reported_devices")
        ips = [
            ip.address
            for device in vm.reported_devices or []
            for ip in device.ips or []
            if ip.address and not ip.address.startswith("fe80")
        ]
        if vm.status == types.VmStatus.UP and ips and vm.fqdn == wanted.hostname:
            return {"ips": ips, "wall_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("username")
    parser.add_argument("password")
    parser.add_argument("name")
    parser.add_argument("--template", default="alma9")
    parser.add_argument("--cluster", default="prod-a")
    parser.add_argument("--poll", type=float, default=5.0)
    args = parser.parse_args()
    connection = sdk.Connection(url=args.url, username=args.username, password=args.password)
    try:
        result = provision(
            connection,
            Wanted(
                args.name,
                args.template,
                args.cluster,
                2,
                2048,
                30,
                f"{args.name}.example.net",
                "Bench-Only-Pass-1",
            ),
            args.poll,
        )
    finally:
        connection.close()
    print(result)


if __name__ == "__main__":
    main()
