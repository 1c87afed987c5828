"""URLs of the resident portal: the home page at /, the portal under /portal/."""

from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("portal/login/", views.login, name="login"),
    path("portal/logout/", views.logout, name="logout"),
    path("portal/keys.txt", views.keys, name="keys"),
    path("portal/", views.records, name="records"),
    path("portal/records.csv", views.records_csv, name="records-csv"),
    path("portal/print/", views.records_print, name="records-print"),
    path("portal/records/<int:intake_id>/", views.record, name="record"),
    path("portal/records/<int:intake_id>/proof.json", views.record_proof, name="record-proof"),
    path("portal/records/<int:intake_id>/receipt", views.record_receipt, name="record-receipt"),
    path("portal/records/<int:intake_id>/enquiry", views.record_enquiry, name="record-enquiry"),
    path("portal/enquiries/", views.enquiries, name="enquiries"),
    path("portal/act-as/", views.act_as, name="act-as"),
]
urlpatterns += [
    path("portal/proxies/", views.proxies, name="proxies"),
    path("portal/notices/", views.mail, name="mail"),
    path("portal/notices/confirm/<str:token>/", views.mail_confirm_view, name="mail-confirm"),
]
