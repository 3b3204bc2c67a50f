"""The provision form: template, cluster, resources, hostname, license keys, SSH keys.

It fills itself from a draft plan, reads back what the engineer typed (as Overrides and
license keys), shows each problem beside its field with the order's value and a change
mark, and tells its screen when something was edited (`ProvisionForm.Edited`). Every
value from billing (the order's hostname, its sizes) is shown as plain text.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Select, Static

from console.flow.licenses import FieldProblem, check_license
from console.flow.plan import Overrides, Plan
from console.store.models import Order
from console.tui.formatting import format_memory, theme_style
from console.tui.widgets.form_field import FormField
from console.tui.widgets.plan_view import PlanView
from console.units import SizeError, parse_gib, parse_memory

# FieldProblem.field (console.flow.plan) -> the input it is about.
FIELD_WIDGETS = {
    "product": "template",
    "template": "template",
    "version": "template",
    "cluster": "cluster",
    "cpus": "cpus",
    "memory": "memory",
    "guaranteed_memory": "guaranteed",
    "disk": "disk",
    "hostname": "hostname",
    "ssh_keys": "ssh_keys",
}
SIZE_EXAMPLE = "e.g. 8 (GiB) or 8192M"
# Short enough for the label column.
LICENSE_LABELS = {
    "windows": "Windows key",
    "mssql": "MSSQL key",
    "plesk": "Plesk key",
    "cpanel": "cPanel key",
}


def parse_count(value: str) -> int:
    value = value.strip()
    if not value.isdigit() or int(value) < 1:
        raise SizeError(f"{value!r} is not a whole number of vCPUs")
    return int(value)


class ProvisionForm(VerticalScroll):
    """The editable part of the Provision screen, with the plan view below its fields."""

    class Edited(Message):
        """The engineer changed a field; `license_only` when only a key was typed."""

        def __init__(self, license_only: bool) -> None:
            super().__init__()
            self.license_only = license_only

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.license_kinds: tuple[str, ...] = ()
        self.vault_labels: dict[str, str] = {}  # kind -> `vault: …-3V66T, 14 left`
        self.filling = False
        self.locked: set[str] = set()  # fields a retry may not change

    def compose(self) -> ComposeResult:
        yield FormField(
            "Template", Select([], prompt="template", compact=True, allow_blank=True, id="template")
        )
        yield FormField(
            "Cluster", Select([], prompt="cluster", compact=True, allow_blank=True, id="cluster")
        )
        yield FormField("vCPU", Input(compact=True, id="cpus"))
        yield FormField("RAM", Input(compact=True, id="memory", placeholder="GiB, or 8192M"))
        yield FormField(
            "Guaranteed", Input(compact=True, id="guaranteed", placeholder="same as RAM")
        )
        yield FormField("Disk", Input(compact=True, id="disk", placeholder="GiB"))
        yield FormField("Hostname", Input(compact=True, id="hostname"), classes="-wide")
        yield Vertical(id="licenses")
        yield FormField(
            "SSH keys",
            Input(compact=True, id="ssh_keys", placeholder="ssh-ed25519 AAAA... (; between keys)"),
            classes="-wide",
        )
        yield FormField(
            "Admin pass",
            Static("", id="password"),
            note="generated; shown once at the end (ctrl+g: new one)",
        )
        yield PlanView(id="preflight")

    # ---- filling ------------------------------------------------------------------------

    async def fill(
        self,
        order: Order,
        plan: Plan | None,
        template_options: list[tuple[str, tuple[str, int]]],
        clusters: list[str],
        license_kinds: tuple[str, ...],
    ) -> None:
        """Prefill from the draft plan (or, without one, from the order itself)."""
        self.license_kinds = license_kinds
        self.filling = True
        try:
            template = self.query_one("#template", Select)
            template.set_options(template_options)
            if plan is not None:
                chosen = (plan.template_name, plan.template_version)
                if any(value == chosen for _, value in template_options):
                    template.value = chosen
            cluster = self.query_one("#cluster", Select)
            cluster.set_options([(name, name) for name in clusters])
            if plan is not None and plan.cluster in clusters:
                cluster.value = plan.cluster
            if plan is not None:
                self._set("cpus", str(plan.cpus))
                self._set("memory", format_memory(plan.memory_mib))
                # Left empty, guaranteed RAM follows RAM; filled in only when it differs.
                self._set(
                    "guaranteed",
                    ""
                    if plan.guaranteed_mib == plan.memory_mib
                    else format_memory(plan.guaranteed_mib),
                )
                self._set("disk", f"{plan.disk_gib}G")
                self._set("hostname", plan.hostname)
                self._set("ssh_keys", "; ".join(plan.ssh_keys))
            else:
                self._set("cpus", str(order.cpus or ""))
                self._set("memory", format_memory(order.memory_mib) if order.memory_mib else "")
                self._set("disk", f"{order.disk_gib}G" if order.disk_gib else "")
                self._set("hostname", order.hostname or "")
            box = self.query_one("#licenses", Vertical)
            await box.remove_children()
            for kind in license_kinds:
                await box.mount(
                    FormField(
                        LICENSE_LABELS.get(kind, f"{kind} key"),
                        Input(
                            password=True,
                            compact=True,
                            id=f"license-{kind}",
                            classes="license-input",
                            placeholder=f"paste the {kind} key",
                        ),
                        note="required",
                        id=f"field-license-{kind}",
                        classes="-wide",
                    )
                )
        finally:
            self.filling = False
        self.show_order_marks(order)

    def lock_fields(self, names: set[str], step: str, note: str | None = None) -> None:
        """A retry's form: the fields a finished step already applied are shown, not edited
        (`note` says why when it is not a retry: a pre-cloned VM's template and cluster)."""
        for name in names:
            self.query_one(f"#{name}").disabled = True
            self._field(name).show_note(note or f"applied before {step}; fixed on this retry")
        self.locked = set(names)

    def show_vault(self, labels: dict[str, str]) -> None:
        """The keys the vault reserved for the order, masked in their fields' place: an
        empty field launches with the vault's key; a pasted one overrides it. A cursor
        waiting in a field the vault now fills moves on to what is left to paste."""
        focused = self.app.focused
        waiting = (
            isinstance(focused, Input) and focused.has_class("license-input") and not focused.value
        )
        self.vault_labels = {
            kind: label for kind, label in labels.items() if kind in self.license_kinds
        }
        for kind, label in self.vault_labels.items():
            self.query_one(f"#license-{kind}", Input).placeholder = label
        self.license_problems()
        if waiting:
            self.focus_start()

    def _set(self, name: str, value: str) -> None:
        self.query_one(f"#{name}", Input).value = value

    def show_password(self, note: str) -> None:
        self.query_one("#password", Static).update(Text(note))

    def focus_start(self) -> None:
        """The first license key the vault does not give (the paste is the engineer's job)."""
        first = next(
            (
                self.query_one(f"#license-{kind}", Input)
                for kind in self.license_kinds
                if kind not in self.vault_labels
            ),
            None,
        )
        editable = (
            self.query_one(f"#{name}", Input)
            for name in ("cpus", "memory", "guaranteed", "disk", "hostname", "ssh_keys")
            if name not in self.locked
        )
        target = first or next(editable, None)
        if target is not None:
            target.focus()

    # ---- reading ------------------------------------------------------------------------

    def read_resources(self, *, report: bool = False) -> dict[str, int | None]:
        """Parsed resource fields; one that does not parse is left None (and, with
        `report`, its error shown beside it)."""
        values: dict[str, int | None] = {}
        for name, parse in (
            ("cpus", parse_count),
            ("memory", parse_memory),
            ("guaranteed", parse_memory),
            ("disk", parse_gib),
        ):
            control = self.query_one(f"#{name}", Input)
            raw = control.value.strip()
            if not raw:
                values[name] = None
                continue
            try:
                values[name] = parse(raw)
            except (SizeError, ValueError) as exc:
                values[name] = None
                if report:
                    self._field(name).show_error(
                        str(exc).split(";")[0], SIZE_EXAMPLE if name != "cpus" else "e.g. 4"
                    )
        return values

    def overrides(self) -> Overrides:
        values = self.read_resources(report=False)
        template = self.query_one("#template", Select).value
        cluster = self.query_one("#cluster", Select).value
        keys = [
            key.strip()
            for key in self.query_one("#ssh_keys", Input).value.split(";")
            if key.strip()
        ]
        return Overrides(
            template=template[0] if isinstance(template, tuple) else None,
            version=template[1] if isinstance(template, tuple) else None,
            cluster=cluster if isinstance(cluster, str) else None,
            cpus=values["cpus"],
            memory_mib=values["memory"],
            guaranteed_mib=values["guaranteed"],
            disk_gib=values["disk"],
            hostname=self.query_one("#hostname", Input).value.strip() or None,
            ssh_keys=tuple(keys),
        )

    def licenses(self) -> dict[str, str]:
        return {
            kind: self.query_one(f"#license-{kind}", Input).value for kind in self.license_kinds
        }

    def state(self) -> int:
        """What the engineer has typed, as one number, to tell a real change from an echo."""
        return hash((self.overrides(), tuple(sorted(self.licenses().items()))))

    # ---- validating ---------------------------------------------------------------------

    def _field(self, name: str) -> FormField:
        field = self.query_one(f"#{name}").parent
        assert isinstance(field, FormField)
        return field

    def license_problems(self) -> dict[str, Any]:
        problems: dict[str, Any] = {}
        for kind, value in self.licenses().items():
            field = self.query_one(f"#field-license-{kind}", FormField)
            if not value.strip() and kind in self.vault_labels:
                field.show_error(None)
                field.show_note(
                    Text(
                        "from the vault (paste to override)", style=theme_style(self.app, "success")
                    )
                )
                continue
            if not value.strip():
                field.show_error(None)
                field.show_note("required: paste the key")
                problems[kind] = "missing"
                continue
            problem = check_license(kind, value)
            if problem is not None:
                field.show_error(problem.message, problem.fix)
                problems[kind] = problem
            else:
                field.show_error(None)
                field.show_note(Text("ok", style=theme_style(self.app, "success")))
        return problems

    def show_problems(self, order: Order | None, problems: list[FieldProblem]) -> None:
        """Parse errors first (they are the engineer's typing), then the plan's problems."""
        for name in set(FIELD_WIDGETS.values()):
            self._field(name).show_error(None)
        self.read_resources(report=True)
        for problem in problems:
            widget = FIELD_WIDGETS.get(problem.field.split("[")[0])
            if widget is None:
                continue
            field = self._field(widget)
            if not field.error:
                field.show_error(problem.message, problem.fix)
        self.show_order_marks(order)

    def show_order_marks(self, order: Order | None) -> None:
        """Beside each resource: the order's value, and a mark when the engineer changed it."""
        if order is None:
            return
        values = self.read_resources()
        for name, ordered, shown in (
            ("cpus", order.cpus, lambda v: f"{v}"),
            ("memory", order.memory_mib, format_memory),
            ("disk", order.disk_gib, lambda v: f"{v}G"),
        ):
            if name in self.locked:
                continue
            field = self._field(name)
            current = values.get(name)
            if ordered is None:
                field.show_note("order: -")
            elif current is not None and current != ordered:
                field.show_note(
                    Text(
                        f"* changed (order: {shown(ordered)})",
                        style=theme_style(self.app, "warning", bold=True),
                    )
                )
            else:
                field.show_note(Text(f"order: {shown(ordered)}"))

    def focus_first_invalid(self) -> None:
        for field in self.query(FormField):
            if field.error or (
                isinstance(field.control, Input)
                and field.control.has_class("license-input")
                and not field.control.value.strip()
                and (field.control.id or "").removeprefix("license-") not in self.vault_labels
            ):
                field.control.focus()
                return

    @on(Input.Changed)
    @on(Select.Changed)
    def _edited(self, event: Input.Changed | Select.Changed) -> None:
        if self.filling:
            return
        event.stop()
        self.post_message(
            self.Edited(isinstance(event, Input.Changed) and event.input.has_class("license-input"))
        )
