# The delimitation page's checks: a mapping's dry run done by a worker (issue 11).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('groups', '0006_delimitation'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='DelimitationCheck',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('digest', models.CharField(max_length=64)),
                ('file_name', models.CharField(max_length=255, verbose_name='file name')),
                ('status', models.CharField(choices=[('waiting', 'Waiting for a worker'), ('checking', 'Being checked'), ('passed', 'Checked'), ('refused', 'Refused'), ('failed', 'Not checked')], default='waiting', max_length=8)),
                ('report', models.JSONField(default=dict)),
                ('problems', models.JSONField(default=list)),
                ('error', models.TextField(blank=True)),
                ('token', models.CharField(blank=True, max_length=32)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('queued_at', models.DateTimeField(blank=True, null=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('run', models.CharField(blank=True, choices=[('', 'Not asked for'), ('queued', 'Waiting for a worker'), ('started', 'Started'), ('refused', 'Refused'), ('failed', 'Not applied'), ('done', 'Applied')], default='', max_length=8)),
                ('run_requested_at', models.DateTimeField(blank=True, null=True)),
                ('run_error', models.TextField(blank=True)),
                ('run_problems', models.JSONField(default=list)),
                ('requested_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['digest'], name='delimitation_check_digest')],
            },
        ),
    ]
