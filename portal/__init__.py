"""The resident portal (マイナポータル-style やりとり履歴)."""
