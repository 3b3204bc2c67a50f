"""VM network interfaces: AddVmInterface, UpdateVmInterface, RemoveVmInterface, MACs from the pool."""

from __future__ import annotations

from ovirtsdk4 import types

from . import faults as msg
from .faults import EngineFault, backend_failed, incomplete
from .model import USER, Nic, Vm

# VmInterfaceType descriptions (the ${InterfaceType} of the NETWORK_*_VM_INTERFACE events), by REST name.
INTERFACE_TYPES = {
    "virtio": "VirtIO",
    "rtl8139": "rtl8139",
    "e1000": "e1000",
    "e1000e": "e1000e",
    "rtl8139_virtio": "Dual mode rtl8139, VirtIO",
    "spapr_vlan": "sPAPR VLAN",
    "pci_passthrough": "PCI Passthrough",
}


class NetOps:
    """Mixin of :class:`World`."""

    def vm_nic(self, vm_id: str, nic_id: str) -> tuple[Vm, Nic]:
        vm = self.get_vm(vm_id)
        if nic_id not in vm.nic_ids:
            raise EngineFault(404, None)
        return vm, self.nics[nic_id]

    def _profile_id(self, ref: types.VnicProfile | None) -> str | None:
        if ref is None or not (ref.id or ref.name):
            return None  # <vnic_profile/>: the interface has no network
        return self.resolve(self.vnic_profiles, ref, "VnicProfile").id

    def _check_mac(self, mac: str, nic: Nic | None) -> None:
        for other in self.nics.values():
            if other is not nic and other.mac == mac:
                raise backend_failed(
                    409, msg.MAC_IN_USE.format(mac=mac, vm=self.vms[other.vm_id].name)
                )

    def add_nic(self, vm_id: str, spec: types.Nic, correlation_id: str | None) -> Nic:
        with self.lock:
            vm = self.get_vm(vm_id)
            if not spec.name:
                raise incomplete("Nic", ["name"], "add")
            if any(self.nics[n].name == spec.name for n in vm.nic_ids):
                raise backend_failed(409, msg.NIC_NAME_IN_USE)
            profile_id = self._profile_id(spec.vnic_profile)
            mac = spec.mac.address.lower() if spec.mac is not None and spec.mac.address else None
            if mac:
                self._check_mac(mac, None)
            interface = spec.interface.value if spec.interface is not None else "virtio"
            nic = Nic(
                self.new_id(),
                spec.name,
                mac or self.new_mac(),
                vm.id,
                interface,
                plugged=spec.plugged if spec.plugged is not None else True,
                linked=spec.linked if spec.linked is not None else True,
                vnic_profile_id=profile_id,
            )
            self.nics[nic.id] = nic
            vm.nic_ids.append(nic.id)
            self.emit(
                932,
                f"Interface {nic.name} ({INTERFACE_TYPES[interface]}) was added to VM {vm.name}. "
                f"(User: {USER})",
                correlation_id=correlation_id,
                vm=vm,
            )
            return nic

    def update_nic(
        self, vm_id: str, nic_id: str, spec: types.Nic, correlation_id: str | None
    ) -> Nic:
        with self.lock:
            vm, nic = self.vm_nic(vm_id, nic_id)
            if spec.name and spec.name != nic.name:
                if any(self.nics[n].name == spec.name for n in vm.nic_ids):
                    raise backend_failed(409, msg.NIC_NAME_IN_USE)
                nic.name = spec.name
            if spec.vnic_profile is not None:
                nic.vnic_profile_id = self._profile_id(spec.vnic_profile)
            if spec.mac is not None and spec.mac.address and spec.mac.address.lower() != nic.mac:
                self._check_mac(spec.mac.address.lower(), nic)
                nic.mac = spec.mac.address.lower()
            if spec.interface is not None:
                nic.interface = spec.interface.value
            if spec.plugged is not None:
                nic.plugged = spec.plugged
            link_state = " "
            if spec.linked is not None and spec.linked != nic.linked:
                nic.linked = spec.linked
                link_state = "Link State is UP." if spec.linked else "Link State is DOWN."
            self.emit(
                934,
                f"Interface {nic.name} ({INTERFACE_TYPES[nic.interface]}) was updated for VM "
                f"{vm.name}. {link_state} (User: {USER})",
                correlation_id=correlation_id,
                vm=vm,
            )
            return nic

    def remove_nic(self, vm_id: str, nic_id: str, correlation_id: str | None) -> None:
        with self.lock:
            vm, nic = self.vm_nic(vm_id, nic_id)
            vm.nic_ids.remove(nic.id)
            del self.nics[nic.id]
            self.emit(
                930,
                f"Interface {nic.name} ({INTERFACE_TYPES[nic.interface]}) was removed from VM "
                f"{vm.name}. (User: {USER})",
                correlation_id=correlation_id,
                vm=vm,
            )
