from django.urls import path

from agencies.api import views as api

app_name = "agencies"
urlpatterns = [
    path("requests", api.SendRequestView.as_view(), name="request-send"),
    path("internal-transfers", api.InternalTransferView.as_view(), name="internal-transfer"),
    path("requests/<uuid:request_id>", api.RequestDetailView.as_view(), name="request-detail"),
    path("held", api.HeldListView.as_view(), name="held-list"),
    path(
        "held/<uuid:request_id>/release",
        api.HeldDecisionView.as_view(release=True),
        name="held-release",
    ),
    path(
        "held/<uuid:request_id>/decline",
        api.HeldDecisionView.as_view(release=False),
        name="held-decline",
    ),
    path("cases", api.CaseOpenView.as_view(), name="case-open"),
    path("cases/<int:case_id>/close", api.CaseCloseView.as_view(), name="case-close"),
]
