"""The edge agent: field connectors near the machines, a durable outbox, forwarding centrally."""
