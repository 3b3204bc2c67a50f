"""Simulated worlds (oVirt engine, WHMCS) served over real HTTP; imports nothing else of the product."""
