"""Order intake and handover: WHMCS client, mapping, sync, file/manual intake.

Never imports textual or ovirtsdk4; reaches the store through ``console.store``.
"""
