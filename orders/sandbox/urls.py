from django.urls import path

from orders.sandbox import views

urlpatterns = [
    path("sandbox/card/<str:token>/", views.card, name="sandbox_card"),
    path("sandbox/atm/", views.atm, name="sandbox_atm"),
]
