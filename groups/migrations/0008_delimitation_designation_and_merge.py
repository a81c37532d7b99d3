from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('groups', '0007_delimitation_check'),
    ]

    operations = [
        migrations.AddField(
            model_name='delimitationchange',
            name='designation',
            field=models.CharField(choices=[('', 'as its kind'), ('union_territory', 'Union territory'), ('whole_constituency', 'Whole constituency (no assembly)')], max_length=24, null=True),
        ),
        migrations.AddField(
            model_name='delimitationchange',
            name='electors_estimated',
            field=models.BooleanField(null=True),
        ),
        migrations.AlterField(
            model_name='delimitationchange',
            name='action',
            field=models.CharField(choices=[('move', 'move'), ('create', 'create'), ('retire', 'retire'), ('merge', 'merge')], max_length=8),
        ),
    ]
