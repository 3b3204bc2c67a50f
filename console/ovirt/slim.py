"""A VM listing read straight into list rows: no SDK objects, no whole XML tree.

The SDK's readers build a `types.Vm` (and one object per nested element) for every VM,
in pure Python, before the console keeps a dozen values of it: at thousands of VMs that
parse is most of a listing's time, and it holds the GIL against the UI loop. Here the
body is fed in chunks to the C pull parser (expat), each VM element is read into a
`VmRow` when it ends and then dropped, so memory stays at one VM's elements.

What it reads mirrors the SDK's VmReader (ovirtsdk4/readers.py) and `rows.vm_row`: the
VM's `id` attribute; its own `name`, `status`, `description`, `comment`, `fqdn`,
`memory` elements; `cpu/topology` (sockets, cores, threads); `memory_policy/guaranteed`;
`cluster` and `template` as links (`id` attribute, and `name` when followed); and, when
the listing followed `disk_attachments.disk`, each attachment's `disk/provisioned_size`.
Every child of the root is read as a VM, whatever its tag, as VmReader.read_many does.

Even so, a thread parsing megabytes shares the GIL with the UI loop, and on a busy machine
the OS may pause it while it holds the GIL: the loop then waits tens of milliseconds. So a
large body (a page of a listing) is parsed in one helper process (`Parser`); a small one
(a screenful, a few VMs re-read) in the calling thread, where it costs less than the trip.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

from console.ovirt.models import GiB, MiB
from console.ovirt.records import VmRow
from console.text_safety import safe_text

# Bytes handed to the C parser at once: each feed holds the GIL only that long.
CHUNK = 64 * 1024
# Bodies from this size on are parsed in the helper process (a page of 500 VMs is ~1.6 MB,
# a first screenful of 100 ~0.3 MB).
ELSEWHERE_BYTES = 1 << 20
# The helper's malloc maps allocations from this size on (glibc; a no-op elsewhere).
MMAP_THRESHOLD = 128 * 1024
# An unknown status reads as none, as the SDK's Reader.parse_enum makes it. Spelled out, not
# read from ovirtsdk4.types.VmStatus: the helper process must not load the SDK (~18 MiB) to
# parse; a test pins this set to the SDK's.
STATUSES = frozenset(
    {
        "down",
        "image_locked",
        "migrating",
        "not_responding",
        "paused",
        "powering_down",
        "powering_up",
        "reboot_in_progress",
        "restoring_state",
        "saving_state",
        "suspended",
        "unassigned",
        "unknown",
        "up",
        "wait_for_launch",
    }
)


def vm_rows(
    body: bytes, *, cluster_names: dict[str, str], template_names: dict[str, str]
) -> list[VmRow]:
    """The rows of a `GET /vms` answer (a `<vms>` document)."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    found: list[VmRow] = []
    root: ET.Element | None = None
    depth = 0
    for offset in range(0, len(body), CHUNK):
        parser.feed(body[offset : offset + CHUNK])
        events = cast(Iterator[tuple[str, ET.Element]], parser.read_events())
        for event, element in events:
            if event == "start":
                if root is None:
                    root = element
                depth += 1
                continue
            depth -= 1
            if depth == 1 and root is not None:
                found.append(_row(element, cluster_names, template_names))
                root.clear()  # the VM is read: let its elements go
    parser.close()
    return found


def looks_full(body: bytes, size: int) -> bool:
    """Whether a `GET /vms` answer likely holds `size` VMs, without parsing it: a listing
    that follows nothing has a `<vm ` start tag for each VM and no other (text never holds
    a raw `<`). Only a hint: when wrong, a page is fetched once too often or not ahead."""
    return body.count(b"<vm ") + body.count(b"<vm>") >= size


def _int(text: str | None) -> int | None:
    # The SDK reads an empty element as no value (`<memory/>`); anything else must be a number.
    return int(text) if text else None


def _named(link: ET.Element | None, names: dict[str, str]) -> str | None:
    if link is None:
        return None
    return link.findtext("name") or names.get(link.get("id") or "")


def _row(vm: ET.Element, cluster_names: dict[str, str], template_names: dict[str, str]) -> VmRow:
    cluster_name = _named(vm.find("cluster"), cluster_names)
    template_name = _named(vm.find("template"), template_names)
    topology = vm.find("cpu/topology")
    cpus = 1
    if topology is not None:
        cpus = (
            (_int(topology.findtext("sockets")) or 1)
            * (_int(topology.findtext("cores")) or 1)
            * (_int(topology.findtext("threads")) or 1)
        )
    guaranteed = _int(vm.findtext("memory_policy/guaranteed"))
    sizes = [
        _int(attachment.findtext("disk/provisioned_size"))
        for attachment in vm.iterfind("disk_attachments/*")
    ]
    gib = [-(-size // GiB) for size in sizes if size is not None]
    status = vm.findtext("status")
    fqdn = vm.findtext("fqdn")
    return VmRow(
        id=vm.get("id"),  # type: ignore[arg-type]  # as the SDK: an engine always sends it
        name=safe_text(vm.findtext("name") or ""),
        status=safe_text(status) if status in STATUSES else "",
        cluster=safe_text(cluster_name) if cluster_name else None,
        cpus=cpus,
        memory_mib=(_int(vm.findtext("memory")) or 0) // MiB,
        guaranteed_mib=guaranteed // MiB if guaranteed is not None else None,
        disk_gib=sum(gib) if gib else None,
        fqdn=safe_text(fqdn) if fqdn else None,
        template_name=safe_text(template_name) if template_name else None,
        description=safe_text(vm.findtext("description") or ""),
        comment=safe_text(vm.findtext("comment") or ""),
    )


class Parser:
    """Parses listings; large bodies in one helper process (`python -m console.ovirt.slim`,
    started on first need, ended by `close` or when the console's end closes its stdin).
    Thread-safe: one body at a time goes to the helper."""

    def __init__(self, elsewhere_bytes: int = ELSEWHERE_BYTES) -> None:
        self.elsewhere_bytes = elsewhere_bytes
        self._helper: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._broken = False

    def vm_rows(
        self, body: bytes, *, cluster_names: dict[str, str], template_names: dict[str, str]
    ) -> list[VmRow]:
        if len(body) >= self.elsewhere_bytes and not self._broken:
            with self._lock:
                try:
                    found = self._ask(body, cluster_names, template_names)
                except (OSError, EOFError, pickle.UnpicklingError, struct.error):
                    # No helper here (a sandbox, a limit on processes) or it died: parse in
                    # this thread from now on, as a small body is.
                    self._broken = True
                    self._stop()
                    found = None
            if isinstance(found, list):
                return found
        # In this thread: small bodies, and what the helper could not read (then the error
        # raised here is the one the caller sees).
        return vm_rows(body, cluster_names=cluster_names, template_names=template_names)

    def _ask(self, body: bytes, clusters: dict[str, str], templates: dict[str, str]) -> object:
        helper = self._helper
        if helper is None or helper.poll() is not None:
            helper = self._helper = _start_helper()
        assert helper.stdin is not None and helper.stdout is not None
        _send_request(helper.stdin, body, clusters, templates)
        return _receive(helper.stdout)

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        helper, self._helper = self._helper, None
        if helper is None:
            return
        for stream in (helper.stdin, helper.stdout):
            if stream is not None:
                stream.close()
        try:
            helper.wait(timeout=5)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()


def _start_helper() -> subprocess.Popen[bytes]:
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    # glibc's malloc: bodies and pickles of megabytes are mapped and unmapped on their own
    # rather than left in the heap once the dynamic threshold has grown past them.
    env.setdefault("MALLOC_MMAP_THRESHOLD_", str(MMAP_THRESHOLD))
    return subprocess.Popen(
        [sys.executable, "-m", "console.ovirt.slim"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        # It shares the console's terminal: neither its output nor the terminal's signals.
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )


def _send(stream: IO[bytes], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("!Q", len(data)))
    stream.write(data)
    stream.flush()


def _send_request(
    stream: IO[bytes], body: bytes, clusters: dict[str, str], templates: dict[str, str]
) -> None:
    """The names pickled, the body as it is: a pickle of it would copy megabytes first."""
    _send(stream, (clusters, templates))
    stream.write(struct.pack("!Q", len(body)))
    stream.write(body)
    stream.flush()


def _receive_request(stream: IO[bytes]) -> tuple[bytes, dict[str, str], dict[str, str]]:
    clusters, templates = cast(tuple[dict[str, str], dict[str, str]], _receive(stream))
    (size,) = struct.unpack("!Q", _exactly(stream, 8))
    return _exactly(stream, size), clusters, templates


def _receive(stream: IO[bytes]) -> object:
    (size,) = struct.unpack("!Q", _exactly(stream, 8))
    return pickle.loads(_exactly(stream, size))


def _exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError("the parse helper ended")
    return data


def _serve() -> None:
    """The helper: reads (body, cluster names, template names), answers the rows; or None
    when the body does not parse (the console parses it again itself, to raise the error)."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            body, clusters, templates = _receive_request(stdin)
        except EOFError:
            return
        try:
            answer: object = vm_rows(body, cluster_names=clusters, template_names=templates)
        except Exception:  # noqa: BLE001 - reported by the console's own parse
            answer = None
        del body  # before the answer is pickled
        _send(stdout, answer)


if __name__ == "__main__":
    _serve()
