"""A refresh's build VM and its failures: the name and mark that let a resume find the VM
(and never touch another), and the errors a refresh step ends with."""

from __future__ import annotations

import re

from console.errors import ConsoleError
from console.ovirt import Vm

RUNNING = ("up", "powering_up", "wait_for_launch", "reboot_in_progress", "powering_down")
_MARK = re.compile(r"vps-console template-refresh=(?P<template>\S+) job=(?P<job>\S+)")


class RefreshFailed(ConsoleError):
    """A step cannot finish; `code` names the kind of failure for scripts."""

    def __init__(self, message: str, hint: str | None = None, *, code: str = "step_failed"):
        super().__init__(message, hint)
        self.code = code


class RefreshBusy(ConsoleError):
    """Another runner holds the refresh, or the template already has one open."""


class Cancelled(Exception):
    pass


def build_vm_name(template: str, refresh_id: str) -> str:
    return f"tpl-build-{template}-{refresh_id}"


def mark(template: str, refresh_id: str) -> str:
    return f"vps-console template-refresh={template} job={refresh_id}"


def refresh_of(vm: Vm) -> str | None:
    """The refresh job a build VM belongs to, from the mark in its comment."""
    match = _MARK.search(vm.comment or "")
    return match.group("job") if match else None
