from django.db import migrations, models


def fill_paths(apps, schema_editor):
    """Every target's path (content.receivers.node_paths, on the historical models)."""
    Group = apps.get_model("groups", "Group")
    Target = apps.get_model("content", "Target")
    group_ids = set(Target.objects.values_list("group_id", flat=True))
    above = {}
    frontier = set(group_ids)
    for _level in range(32):
        if not frontier:
            break
        for pk, parent_id, upper_id in Group.objects.filter(pk__in=frontier).values_list(
            "pk", "parent_id", "upper_id"
        ):
            above[pk] = parent_id or upper_id
        frontier = {pk for pk in above.values() if pk is not None and pk not in above}
    for group_id in group_ids:
        chain, node = [], group_id
        while node is not None and len(chain) < 32:
            chain.append(node)
            node = above.get(node)
        path = "/" + "".join(f"{pk}/" for pk in reversed(chain))
        Target.objects.filter(group_id=group_id).update(path=path)


class Migration(migrations.Migration):

    dependencies = [
        ("content", "0002_notice"),
        ("groups", "0008_delimitation_designation_and_merge"),
    ]

    operations = [
        migrations.AddField(
            model_name="target",
            name="path",
            field=models.CharField(blank=True, editable=False, max_length=255, verbose_name="path"),
        ),
        migrations.RunPython(fill_paths, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="target",
            index=models.Index(
                fields=["path"], name="target_path", opclasses=["varchar_pattern_ops"]
            ),
        ),
    ]
