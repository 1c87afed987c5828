"""The agency API (/api/agency/): authentication by system key, serializers, views, URLs."""
