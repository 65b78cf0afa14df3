"""`paygate`: trigger signed provider notifications, listen for webhooks and work the API from a terminal.

Developer tooling, never shipped in the Lambda. Its provider signers are its
own code, written from the providers' protocols, so the CLI and the gateway
cannot share a mistake.
"""
