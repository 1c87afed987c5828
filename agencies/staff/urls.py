"""URLs of the staff pages, under /staff/."""

from django.contrib.auth import views as auth_views
from django.urls import path

from agencies.staff import views

app_name = "staff"
urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="agencies/staff/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(next_page="staff:login"), name="logout"),
    path("", views.home, name="home"),
    path("cases/new/", views.case_new, name="case-new"),
    path("cases/<int:case_id>/", views.case_detail, name="case-detail"),
    path("cases/<int:case_id>/close/", views.case_close_view, name="case-close"),
    path("requests/", views.request_list, name="request-list"),
    path("requests/new/", views.request_new, name="request-new"),
    path("requests/send/", views.request_send, name="request-send"),
    path("requests/<uuid:request_id>/", views.request_detail, name="request-detail"),
    path("batches/", views.batch_list, name="batch-list"),
    path("batches/new/", views.batch_new, name="batch-new"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch-detail"),
    path("batches/<int:batch_id>/resume/", views.batch_resume, name="batch-resume"),
    path("held/", views.held_list, name="held-list"),
    path(
        "held/<uuid:request_id>/release/",
        views.held_decide,
        {"release": True},
        name="held-release",
    ),
    path(
        "held/<uuid:request_id>/release/confirm/",
        views.held_release_confirm,
        name="held-release-confirm",
    ),
    path(
        "held/<uuid:request_id>/decline/",
        views.held_decide,
        {"release": False},
        name="held-decline",
    ),
]
