"""socialmap: social-service mapping and needs analysis."""

__version__ = "0.1.0"
