"""URL configuration."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# The Swagger UI comes from drf-spectacular's CDN until it is self-hosted, and its page has an
# inline <style>; only this page's policy allows them. The split view serves the page's own
# script from this origin instead of inline.
SWAGGER_CDN = "https://cdn.jsdelivr.net"
api_docs = csp_replace(
    {
        "script-src": [SELF, SWAGGER_CDN],
        "style-src": [SELF, SWAGGER_CDN, UNSAFE_INLINE],
        "img-src": [SELF, SWAGGER_CDN, "data:"],
    }
)(SpectacularSwaggerSplitView.as_view(url_name="schema"))

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("api/log/", include("audit.urls")),
    path("api/agency/", include("agencies.api.urls")),
    path("staff/counter/", include("portal.counter_urls")),
    path("staff/", include("agencies.staff.urls")),
    path("audit/", include("dashboard.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("portal.urls")),
]
