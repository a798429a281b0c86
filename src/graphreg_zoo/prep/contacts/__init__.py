"""Contacts -> graph: readers of contact tables (`tables`) and matrices (`matrices`), the significance
caller (`significance`) and the calling pipeline (`calling`)."""
