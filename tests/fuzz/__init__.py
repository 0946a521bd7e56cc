"""Fuzz targets for the JSON, validation and correlation-id paths."""
