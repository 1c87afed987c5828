"""Small shared helpers at the bottom of the layers: database helpers for the hot paths, key
decoding, the one calendar of 行政機関の休日 and office hours, and the per-process cache.

Nothing here imports another project package (an import-linter contract checks it)."""
