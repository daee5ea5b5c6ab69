"""A local AWS for the ML Platform Portal, built on moto.

The sandbox never imports the portal: any AWS client can use it. See docs/sandbox.md.
"""
