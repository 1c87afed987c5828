"""The project's benchmarks (`manage.py bench ...`): the ledger's append, proof and verify
rates and the linkage request path under load. Not part of the product: installed only when
YARITORI_DEMO is on."""
