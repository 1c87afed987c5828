"""The linkage network mock: organisations, affairs, items, the permitted table, persons,
符号, cases, consents, 副本, staff and agency systems, and the network service."""
