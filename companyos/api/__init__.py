"""COS's HTTP handlers, one module per resource; each exports `ROUTES` and `OPERATIONS`."""
