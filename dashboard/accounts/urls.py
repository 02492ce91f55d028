from django.contrib.auth import views as auth_views
from django.urls import path

from dashboard.accounts.views import password, sign_in, two_factor, users

urlpatterns = [
    path("login/", sign_in.sign_in, name="login"),
    path("login/sms/", sign_in.sign_in_sms, name="login_sms"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", password.password_change, name="password_change"),
    path("account/set-password/<uidb64>/<token>/", password.PasswordSetView.as_view(), name="password_set"),
    path("account/two-factor/", two_factor.two_factor_account, name="two_factor"),
    path("account/two-factor/verify/", two_factor.two_factor_verify, name="two_factor_verify"),
    path("account/two-factor/enrol/", two_factor.two_factor_enrol, name="two_factor_enrol"),
    path(
        "account/two-factor/recovery-codes/",
        two_factor.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path(
        "account/two-factor/recovery-codes/renew/",
        two_factor.two_factor_recovery_codes_renew,
        name="two_factor_recovery_codes_renew",
    ),
    path("account/two-factor/disable/", two_factor.two_factor_disable, name="two_factor_disable"),
    path("users/", users.user_list, name="user_list"),
    path("users/<int:pk>/deactivate/", users.user_deactivate, name="user_deactivate"),
    path("users/<int:pk>/activate/", users.user_activate, name="user_activate"),
    path("users/<int:pk>/sign-out/", users.user_sign_out, name="user_sign_out"),
    path("users/<int:pk>/reset-second-factor/", users.user_two_factor_reset, name="user_two_factor_reset"),
    path("users/<int:pk>/sms-unlock/", users.user_sms_unlock, name="user_sms_unlock"),
]
