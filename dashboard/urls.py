"""URLs of the auditors' dashboard, under /audit/."""

from django.urls import path

from dashboard import nav, views

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

# The alert queue of misuse detection (issue 16) mounts here when it exists (dashboard.nav).
if nav.alerts_available():
    urlpatterns += nav.alerts_module().urlpatterns
