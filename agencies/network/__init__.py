"""The network (情報提供ネットワークシステム) and the providers' intermediate servers.

reasons   the refusal and hold reasons with their messages
rules     the permitted table as the network applies it (cached per process)
facts     what the gate decides on, read in one statement (the hot path)
gate      the decision, and the provider's answer from its 副本
events    what the network writes to the ledger
outcomes  what an outcome tells whom (the 不開示 marker only to the provider deciding)
services  the writes: send a 情報照会, record a 庁内連携, decide a held request
"""
