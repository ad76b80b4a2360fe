"""Message gateways: the port, the built-in outbox, and delivery exactly once."""
