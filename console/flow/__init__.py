"""Provisioning: plan (pure), state machine (pure), preflight, runner, composition root."""
