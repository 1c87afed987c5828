"""URLs of the counter (窓口), under /staff/counter/."""

from django.urls import path

from portal import counter

app_name = "counter"
urlpatterns = [path("", counter.home, name="home")]
