from django.urls import path

from smsdesk.messaging import automation_views, campaign_views, views

app_name = "messaging"
urlpatterns = [
    path("new/", views.new_sms, name="new"),
    path("new/count/", views.count, name="count"),
    path("new/summary/", views.summary, name="summary"),
    path("new/preview/", campaign_views.preview, name="preview"),
    path("new/csv/", views.csv_upload, name="csv_upload"),
    path("campaigns/", campaign_views.campaign_list, name="campaigns"),
    path("campaigns/<int:campaign_id>/", campaign_views.campaign_page, name="campaign"),
    path(
        "campaigns/<int:campaign_id>/progress/",
        campaign_views.campaign_progress,
        name="campaign_progress",
    ),
    path(
        "campaigns/<int:campaign_id>/cancel/",
        campaign_views.cancel_campaign,
        name="campaign_cancel",
    ),
    path(
        "campaigns/<int:campaign_id>/retry/", campaign_views.retry_campaign, name="campaign_retry"
    ),
    path("recurring/", automation_views.recurring_list, name="recurring"),
    path(
        "recurring/<int:recurrence_id>/edit/",
        automation_views.recurring_edit,
        name="recurring_edit",
    ),
    path(
        "recurring/<int:recurrence_id>/pause/",
        automation_views.recurring_pause,
        name="recurring_pause",
    ),
    path(
        "recurring/<int:recurrence_id>/delete/",
        automation_views.recurring_delete,
        name="recurring_delete",
    ),
    path("autoreplies/", automation_views.autoreply_list, name="autoreplies"),
    path("autoreplies/test/", automation_views.autoreply_test, name="autoreply_test"),
    path("autoreplies/<int:rule_id>/move/", automation_views.autoreply_move, name="autoreply_move"),
    path("autoreplies/<int:rule_id>/edit/", automation_views.autoreply_edit, name="autoreply_edit"),
    path(
        "autoreplies/<int:rule_id>/delete/",
        automation_views.autoreply_delete,
        name="autoreply_delete",
    ),
    path(
        "campaigns/<int:campaign_id>/requeue/",
        campaign_views.requeue_campaign,
        name="campaign_requeue",
    ),
    path("campaigns/<int:campaign_id>/edit/", campaign_views.edit_campaign, name="campaign_edit"),
    path("scheduled/", campaign_views.scheduled, name="scheduled"),
    path("sent/", views.sent, name="sent"),
    path("received/", views.received, name="received"),
    path("sent/export/", views.export, {"direction": "out"}, name="sent_export"),
    path("received/export/", views.export, {"direction": "in"}, name="received_export"),
    path("unread/", views.unread, name="unread"),
    path("messages/<int:message_id>/cancel/", views.cancel, name="cancel"),
    path("messages/<int:message_id>/retry/", views.retry, name="retry"),
    path("messages/<int:message_id>/requeue/", views.requeue, name="requeue"),
    path("inbound/notices/", views.inbound_notices, name="inbound_notices"),
    path("conversations/", views.conversations, name="conversations"),
    # by id: a sender may be any text ("A/B", "../"); lists link through conversation_with
    path("conversations/with/", views.conversation_with, name="conversation_with"),
    path("conversations/<int:conversation_id>/", views.conversation, name="conversation"),
    path("conversations/<int:conversation_id>/reply/", views.reply, name="reply"),
]
