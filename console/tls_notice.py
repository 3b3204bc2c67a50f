"""What the console says when an engine's TLS certificate is not verified, or an engine or
billing is reached over plain http.

`insecure = true` (accepted only with `insecure_acknowledged = true` in the config) turns
verification off for that engine; an http:// URL to another host is accepted only with
`insecure_acknowledged = true` as well. Neither may be silent: the CLI warns on every run
(`warn_if_insecure`, called by the root command) and the TUI shows `insecure_banner` in
red for as long as it runs.
"""

from __future__ import annotations

import click

from console.config import Config, EngineConfig, plain_http_over_network

FIX = (
    "set ca_file to the engine's CA (download it from "
    "https://ENGINE/ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA) "
    "and remove insecure / insecure_acknowledged"
)


def insecure_engines(config: Config) -> list[EngineConfig]:
    return [engine for engine in config.engines if engine.insecure]


def insecure_warning(engine: EngineConfig) -> str:
    return (
        f"engine {engine.name} ({engine.url}): TLS certificate NOT verified "
        f"(insecure = true); anyone on the path can read the engine password. Fix: {FIX}"
    )


def plain_http(config: Config) -> list[str]:
    """What is reached over plain http across the network: "engine NAME", "billing"."""
    found = [
        f"engine {engine.name}" for engine in config.engines if plain_http_over_network(engine.url)
    ]
    if config.billing.kind == "whmcs" and plain_http_over_network(config.billing.url):
        found.append("billing")
    return found


def plain_http_warning(what: str) -> str:
    return (
        f"{what} is reached over plain http: its password or API secret and customer data "
        "cross the network in clear. Fix: use an https:// url (ca_file for a private CA) "
        "and remove insecure_acknowledged"
    )


def insecure_banner(config: Config) -> str | None:
    """The red banner text for the TUI, or None when every connection is verified TLS."""
    engines = insecure_engines(config)
    lines = []
    if engines:
        names = ", ".join(engine.name for engine in engines)
        noun = "engine" if len(engines) == 1 else "engines"
        # The fix comes first: at 80 columns the end of the line is cut off.
        lines.append(
            f"!! TLS NOT VERIFIED for {noun} {names}: set ca_file and remove "
            "insecure = true in the config; until then the connection can be "
            "intercepted."
        )
    clear = plain_http(config)
    if clear:
        lines.append(
            f"!! PLAIN HTTP to {', '.join(clear)}: use https:// in the config; until "
            "then passwords cross the network in clear."
        )
    return "\n".join(lines) or None


def warn_if_insecure(config: Config) -> None:
    """One warning line per unverified engine or plain-http connection, on stderr (stdout
    stays clean for scripts)."""
    for engine in insecure_engines(config):
        click.secho(f"warning: {insecure_warning(engine)}", fg="red", err=True)
    for what in plain_http(config):
        click.secho(f"warning: {plain_http_warning(what)}", fg="red", err=True)
