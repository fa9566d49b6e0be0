"""SavedModel export of the generator with tensor-only endpoints."""

from spreadtf.export.generator import export_generator

__all__ = ['export_generator']
