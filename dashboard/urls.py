"""URLs of the auditors' dashboard, under /audit/."""

from django.urls import path

from dashboard import alert_views, views

app_name = "dashboard"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("entries/", views.entries, name="entries"),
    path("entries.csv", views.entries_csv, name="entries-csv"),
    path("entries/<int:seq>/", views.entry, name="entry"),
    path("entries/<int:seq>/proof.json", views.entry_proof, name="entry-proof"),
    path("entries/<int:seq>/receipt", views.entry_receipt, name="entry-receipt"),
    path("enquiries/", views.enquiries, name="enquiries"),
    path("enquiries/<uuid:public_id>/", views.enquiry, name="enquiry"),
    path("integrity/", views.integrity, name="integrity"),
    path("integrity/verify/", views.integrity_verify, name="integrity-verify"),
    path("integrity/runs/<int:run_id>/progress.json", views.run_progress, name="run-progress"),
    path("charts/", views.charts_page, name="charts"),
    path("staff/<str:pseudonym>/", views.staff, name="staff"),
    path("staff/<str:pseudonym>/reveal/", views.staff_reveal, name="staff-reveal"),
]

# The alert queue of misuse detection (issue 16): triage, rules and the watchlist.
urlpatterns += [
    path("alerts/", alert_views.alerts, name="alerts"),
    path("alerts.csv", alert_views.alerts_csv, name="alerts-csv"),
    path("alerts/bulk/", alert_views.alerts_bulk, name="alerts-bulk"),
    path("alerts/<int:alert_id>/", alert_views.alert, name="alert"),
    path("alerts/<int:alert_id>/status/", alert_views.alert_status, name="alert-status"),
    path("alerts/<int:alert_id>/assign/", alert_views.alert_assign, name="alert-assign"),
    path("alerts/<int:alert_id>/notes/", alert_views.alert_note, name="alert-note"),
    path("alerts/rules/", alert_views.rules, name="alert-rules"),
    path("alerts/rules/<str:code>/", alert_views.rule_update, name="alert-rule"),
    path("alerts/watchlist/", alert_views.watchlist, name="alert-watchlist"),
    path("alerts/watchlist/add/", alert_views.watchlist_add, name="alert-watchlist-add"),
    path(
        "alerts/watchlist/<int:entry_id>/remove/",
        alert_views.watchlist_remove,
        name="alert-watchlist-remove",
    ),
]
