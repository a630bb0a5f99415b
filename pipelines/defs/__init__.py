"""Dagster definitions, one module per integration; `pipelines/definitions.py` gathers them."""
