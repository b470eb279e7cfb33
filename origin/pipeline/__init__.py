"""The render pipeline: probe, plan, pyvips steps, encode; and the pool that runs it."""
