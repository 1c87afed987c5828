from django.urls import path

from audit import api

app_name = "audit"
urlpatterns = [
    path("checkpoint", api.CheckpointView.as_view(), name="checkpoint"),
    path("consistency", api.ConsistencyView.as_view(), name="consistency"),
    path("entries/<int:seq>/inclusion", api.InclusionView.as_view(), name="inclusion"),
    path("entries/<int:seq>/receipt", api.ReceiptView.as_view(), name="receipt"),
]
