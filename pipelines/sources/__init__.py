"""dlt sources, one package per API plus the ops sheets (dlt verified-source layout)."""
