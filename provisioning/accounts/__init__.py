"""Account vending (issue 5): account requests, Control Tower / Organizations vending, account inventory.

A sub-app of provisioning with its own models and migrations (label ``account_vending``).
"""
