"""The public read path: URL dialects, negotiation, the render pipeline, handlers."""
