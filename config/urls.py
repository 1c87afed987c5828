"""URL configuration."""

from csp.constants import SELF
from csp.decorators import csp_replace
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# The Swagger UI is served by this site (drf-spectacular-sidecar's static files), its page has
# no inline style (templates/drf_spectacular/swagger_ui.html) and the split view serves its
# start-up script as a file, so the page runs under the strict policy. The one exception:
# swagger-ui.css draws its icons as data: images.
api_docs = csp_replace({"img-src": [SELF, "data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="schema")
)

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
