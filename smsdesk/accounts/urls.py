from django.contrib.auth import views as auth_views
from django.urls import path

from smsdesk.accounts import journal, login, reset, views

app_name = "accounts"
urlpatterns = [
    path("login/", login.LoginView.as_view(), name="login"),
    path("login/code/", login.login_code, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_reset/", reset.RequestView.as_view(), name="password_reset"),
    path("password_reset/done/", reset.DoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", reset.ConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", reset.CompleteView.as_view(), name="password_reset_complete"),
    path("me/", views.profile, name="profile"),
    path("me/email/", views.email_settings, name="email_settings"),
    path("me/2fa/", views.two_factor, name="two_factor"),
    path("me/2fa/codes/", views.two_factor_codes, name="two_factor_codes"),
    path("me/2fa/disable/", views.two_factor_disable, name="two_factor_disable"),
    path("me/notifications/", views.notifications, name="notifications"),
    path("me/preferences/", views.preferences, name="preferences"),
    path("me/signature/", views.signature, name="signature"),
    path("me/password/", views.change_password, name="change_password"),
    path("me/tokens/", views.create_token, name="create_token"),
    path("me/tokens/<int:token_id>/revoke/", views.revoke_token, name="revoke_token"),
    path("users/", views.users, name="users"),
    path("users/2fa/", views.org_two_factor, name="org_two_factor"),
    path("users/copies/", views.org_copy_addresses, name="org_copy_addresses"),
    path("journal/", journal.journal, name="journal"),
    path("journal/export/", journal.journal_export, name="journal_export"),
    path("users/<int:user_id>/", views.user_detail, name="user"),
    path("users/<int:user_id>/role/", views.change_role, name="change_role"),
    path("users/<int:user_id>/suspend/", views.suspend, name="suspend"),
    path("users/<int:user_id>/reactivate/", views.reactivate, name="reactivate"),
    path("users/<int:user_id>/password/", views.reset_password, name="reset_password"),
    path("users/<int:user_id>/quota/", views.user_quota, name="user_quota"),
]
