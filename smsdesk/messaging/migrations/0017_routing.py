"""Issue 18's routing: each line's routing changes, pause and last resume (GatewayState),
the line each correspondent last wrote to (Conversation.line, filled here from their last
received SMS through the msg_peer index), and the lines' use per minute (LineUsage)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0016_quota_use'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='conversation',
            name='line',
            field=models.CharField(blank=True, db_default='', default='', max_length=50),
        ),
        migrations.AddField(
            model_name='gatewaystate',
            name='pause_detail',
            field=models.JSONField(blank=True, db_default={}, default=dict),
        ),
        migrations.AddField(
            model_name='gatewaystate',
            name='pause_reason',
            field=models.CharField(blank=True, db_default='', default='', max_length=20),
        ),
        migrations.AddField(
            model_name='gatewaystate',
            name='paused_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='gatewaystate',
            name='paused_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='gatewaystate',
            name='resumed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='gatewaystate',
            name='routing',
            field=models.JSONField(blank=True, db_default={}, default=dict),
        ),
        migrations.AddField(
            model_name='gatewaystate',
            name='watch',
            field=models.JSONField(blank=True, db_default={}, default=dict),
        ),
        migrations.CreateModel(
            name='LineUsage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('line', models.CharField(max_length=50)),
                ('minute', models.DateTimeField()),
                ('parts', models.IntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('line', 'minute'), name='line_usage_key')],
            },
        ),
        migrations.RunSQL(
            "UPDATE messaging_conversation SET line = COALESCE((SELECT m.gateway_id FROM "
            "messaging_message m WHERE m.peer = messaging_conversation.peer AND "
            "m.direction = 'in' AND m.gateway_id IS NOT NULL "
            "ORDER BY m.created_at DESC, m.id DESC LIMIT 1), '')",
            migrations.RunSQL.noop,
        ),
    ]
