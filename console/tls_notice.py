"""What the console says when an engine's TLS certificate is not verified.

`insecure = true` (accepted only with `insecure_acknowledged = true` in the config) turns
verification off for that engine. That must never be silent: the CLI warns on every run
(`warn_if_insecure`, called by the root command) and the TUI shows `insecure_banner` in
red for as long as it runs.
"""

from __future__ import annotations

import click

from console.config import Config, EngineConfig

FIX = ("set ca_file to the engine's CA (download it from "
       "https://ENGINE/ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA) "
       "and remove insecure / insecure_acknowledged")


def insecure_engines(config: Config) -> list[EngineConfig]:
    return [engine for engine in config.engines if engine.insecure]


def insecure_warning(engine: EngineConfig) -> str:
    return (f"engine {engine.name} ({engine.url}): TLS certificate NOT verified "
            f"(insecure = true); anyone on the path can read the engine password. Fix: {FIX}")


def insecure_banner(config: Config) -> str | None:
    """The red banner text for the TUI, or None when every engine is verified."""
    engines = insecure_engines(config)
    if not engines:
        return None
    names = ", ".join(engine.name for engine in engines)
    noun = "engine" if len(engines) == 1 else "engines"
    # The fix comes first: at 80 columns the end of the line is cut off.
    return (f"!! TLS NOT VERIFIED for {noun} {names}: set ca_file and remove insecure = true "
            "in the config; until then the connection can be intercepted.")


def warn_if_insecure(config: Config) -> None:
    """One warning line per unverified engine, on stderr (stdout stays clean for scripts)."""
    for engine in insecure_engines(config):
        click.secho(f"warning: {insecure_warning(engine)}", fg="red", err=True)
