"""The long-running process between the database and the gateways (DESIGN.md, "Layers")."""
