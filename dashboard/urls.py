from django.apps import apps
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard import views, views_two_factor

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", views.sign_in, name="login"),
    path("login/sms/", views.sign_in_sms, name="login_sms"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", views.password_change, name="password_change"),
    path("account/set-password/<uidb64>/<token>/", views.PasswordSetView.as_view(), name="password_set"),
    path("account/balance/", views.balance_badge, name="balance_badge"),
    path("account/two-factor/", views_two_factor.two_factor_account, name="two_factor"),
    path("account/two-factor/verify/", views_two_factor.two_factor_verify, name="two_factor_verify"),
    path("account/two-factor/enrol/", views_two_factor.two_factor_enrol, name="two_factor_enrol"),
    path(
        "account/two-factor/recovery-codes/",
        views_two_factor.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path(
        "account/two-factor/recovery-codes/renew/",
        views_two_factor.two_factor_recovery_codes_renew,
        name="two_factor_recovery_codes_renew",
    ),
    path("account/two-factor/disable/", views_two_factor.two_factor_disable, name="two_factor_disable"),
    path("users/", views.user_list, name="user_list"),
    path("users/<int:pk>/deactivate/", views.user_deactivate, name="user_deactivate"),
    path("users/<int:pk>/activate/", views.user_activate, name="user_activate"),
    path("users/<int:pk>/sign-out/", views.user_sign_out, name="user_sign_out"),
    path("users/<int:pk>/reset-second-factor/", views.user_two_factor_reset, name="user_two_factor_reset"),
    path("users/<int:pk>/sms-unlock/", views.user_sms_unlock, name="user_sms_unlock"),
    path("", include("orders.urls")),
]
if apps.is_installed("orders.sandbox"):
    urlpatterns.append(path("", include("orders.sandbox.urls")))

handler400 = "dashboard.views.bad_request"
handler403 = "dashboard.views.permission_denied"
handler404 = "dashboard.views.page_not_found"
handler500 = "dashboard.views.server_error"
