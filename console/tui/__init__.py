"""The Textual console: order queue, template catalog, live VMs and the provisioning flow."""
