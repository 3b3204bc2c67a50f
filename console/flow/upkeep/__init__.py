"""Template upkeep: refresh a template into a new sealed sub-version, retire old versions,
flag stale templates, and show how far the console's VMs drifted from the latest version."""
