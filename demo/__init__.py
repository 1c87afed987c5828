"""The demo: a synthetic world (organisations, residents, staff, cases), realistic linkage
traffic with labelled misuse, the logins of the tour, and what `make run` prints. Not part of
the product: installed only when YARITORI_DEMO is on."""
