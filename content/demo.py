"""Demo content: material in every state of the workflow, in Hindi and English, with images
drawn here with Pillow, some of it waiting for the demo district leads of Goa, some approved
in the library. Everything goes through content.services, as a person's clicks would.

Each piece is known by its title and its author, the demo editor: a piece that exists is
left as it is, so running the demo again changes nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TextIO

from django.core.files import File
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from content import media, services
from content.models import Content
from content.services import VariantInput
from groups import services as group_services
from groups.models import Group, Role

EDITOR = "editor@cadreconnect.example"
NORTH_GOA_LEAD = "northgoa.lead@cadreconnect.example"
SOUTH_GOA_LEAD = ("southgoa.lead@cadreconnect.example", "Sushila South Goa Lead", "S05-D-02")
GOA_LEAD = "goa.lead@cadreconnect.example"
NATIONAL_LEAD = "lead@cadreconnect.example"


@dataclass(frozen=True)
class Piece:
    title: str
    hindi: str
    english: str
    targets: tuple[str, ...]  # group codes
    # What happens after the draft: (step, who, comment) in order; steps are "submit",
    # "approve", "request_changes", "reject", "withdraw", "expire".
    steps: tuple[tuple[str, str, str], ...] = ()
    image: tuple[int, int, int] | None = None  # the picture's colour, for image content
    tags: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    scheduled: bool = False
    extra: dict = field(default_factory=dict)


SUBMIT = ("submit", EDITOR, "")

PIECES = [
    Piece(
        "Booth meeting checklist (draft)",
        "बूथ बैठक से पहले: सदस्य सूची, मतदाता पर्ची और रजिस्टर साथ लाएँ।",
        "Before the booth meeting: bring the member list, voter slips and the register.",
        ("S05",),
    ),
    Piece(
        "North Goa padyatra on Sunday",
        "रविवार सुबह 8 बजे मांद्रेम से पदयात्रा। सभी बूथ अध्यक्ष आमंत्रित हैं।",
        "Padyatra from Mandrem on Sunday at 8 am. Every booth president is invited.",
        ("S05-D-01",),
        steps=(SUBMIT,),
        image=(230, 120, 30),
        hashtags=("Padyatra",),
    ),
    Piece(
        "Goa volunteer drive (both districts)",
        "हर बूथ से पाँच नए स्वयंसेवक जोड़ें। फ़ॉर्म कार्यालय में उपलब्ध हैं।",
        "Add five new volunteers from every booth. Forms are at the office.",
        ("S05-D-01", "S05-D-02"),
        steps=(SUBMIT,),
        tags=("volunteers",),
    ),
    Piece(
        "South Goa youth meet",
        "मडगांव में युवा सम्मेलन, शनिवार शाम 5 बजे।",
        "Youth meet in Margao, Saturday 5 pm.",
        ("S05-D-02",),
        steps=(SUBMIT,),
        image=(40, 120, 200),
    ),
    Piece(
        "Water conservation pledge",
        "जल बचाओ संकल्प: हर घर तक यह संदेश पहुँचाएँ।",
        "Save water pledge: take this message to every home.",
        ("S05-D-01",),
        steps=(SUBMIT, ("request_changes", NORTH_GOA_LEAD, "Add the date and place of the event.")),
    ),
    Piece(
        "Membership week poster",
        "सदस्यता सप्ताह: 1 से 7 तारीख तक अपने बूथ पर नए सदस्य जोड़ें।",
        "Membership week: add new members at your booth from the 1st to the 7th.",
        ("S05",),
        steps=(SUBMIT, ("approve", GOA_LEAD, "")),
        image=(20, 140, 70),
        tags=("membership",),
        hashtags=("JoinUs",),
    ),
    Piece(
        "National voter registration message",
        "18 वर्ष के हो गए? आज ही मतदाता सूची में नाम जुड़वाएँ।",
        "Turned 18? Get your name on the voter list today.",
        ("IN",),
        steps=(SUBMIT, ("approve", NATIONAL_LEAD, "")),
        hashtags=("VoterFirst",),
    ),
    Piece(
        "Independence Day greetings",
        "स्वतंत्रता दिवस की हार्दिक शुभकामनाएँ!",
        "Warm greetings on Independence Day!",
        ("S05",),
        steps=(SUBMIT, ("approve", GOA_LEAD, "")),
        image=(250, 160, 40),
        scheduled=True,
    ),
    Piece(
        "Unverified rally claim",
        "सुना है कल बड़ी रैली होगी, सब आएँ।",
        "Heard there is a big rally tomorrow, everyone come.",
        ("S05-D-01",),
        steps=(SUBMIT, ("reject", NORTH_GOA_LEAD, "No such rally is planned; do not send.")),
    ),
    Piece(
        "Old office address",
        "कार्यालय का नया पता जल्द ही बताया जाएगा।",
        "The new office address will be shared soon.",
        ("S05-D-02",),
        steps=(SUBMIT, ("withdraw", EDITOR, "The address is final now; a new message follows.")),
    ),
    Piece(
        "Last week's rally reminder",
        "पिछले सप्ताह की रैली की याद।",
        "A reminder of last week's rally.",
        ("S05",),
        steps=(SUBMIT, ("approve", GOA_LEAD, ""), ("expire", "", "")),
    ),
]


def picture(colour: tuple[int, int, int], title: str) -> bytes:
    """A poster-like PNG: a coloured card with the title in Latin letters (Pillow's own font
    has no Devanagari)."""
    image = Image.new("RGB", (800, 450), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((30, 30, 770, 420), outline=(255, 255, 255), width=6)
    draw.ellipse((600, 60, 740, 200), fill=(255, 255, 255))
    font = ImageFont.load_default(size=36)
    draw.text((60, 250), title[:36], fill=(255, 255, 255), font=font)
    draw.text((60, 320), "CadreConnect demo", fill=(255, 255, 255), font=font)
    output = io.BytesIO()
    image.save(output, format="PNG")
    return output.getvalue()


def _image_variant(piece: Piece) -> VariantInput:
    data = io.BytesIO(picture(piece.image, piece.title))
    info = media.media_inspect(data, kind=Content.Kind.IMAGE)  # the type from the bytes
    data.seek(0)
    return VariantInput(
        language="hi", body=piece.hindi, is_default=True, media=File(data, name="poster.png"),
        media_caption=piece.hindi[:100], media_type=info.mime_type, media_size=info.size,
    )  # fmt: skip


def _south_goa_lead() -> User:
    email, full_name, code = SOUTH_GOA_LEAD
    user, _ = User.objects.get_or_create(email=email, defaults={"full_name": full_name})
    user.set_password(DEMO_PASSWORD)
    user.save(update_fields=["password"])
    group_services.assignment_add(
        actor=None, user=user, group=Group.objects.get(code=code), role=Role.LEAD
    )
    return user


def _make(piece: Piece, users: dict[str, User]) -> Content:
    editor = users[EDITOR]
    now = timezone.now()
    variants = [
        _image_variant(piece)
        if piece.image
        else VariantInput(language="hi", body=piece.hindi, is_default=True),
        VariantInput(language="en", body=piece.english),
    ]
    expiring = any(step == "expire" for step, _who, _comment in piece.steps)
    content = services.content_create(
        actor=editor, title=piece.title, variants=variants,
        targets=[Group.objects.get(code=code) for code in piece.targets],
        kind=Content.Kind.IMAGE if piece.image else Content.Kind.TEXT,
        campaign_tags=piece.tags, hashtags=piece.hashtags,
        send_at=now + timedelta(days=3) if piece.scheduled else None,
        expires_at=now + timedelta(minutes=1) if expiring else None,
    )  # fmt: skip
    for step, who, comment in piece.steps:
        content = Content.objects.get(pk=content.pk)
        if step == "submit":
            services.content_submit(actor=editor, content=content)
        elif step == "withdraw":
            services.content_withdraw(actor=users[who], content=content, reason=comment)
        elif step == "expire":
            services.content_expire_due(now=content.expires_at)
        else:
            services.content_decide(
                actor=users[who], content=content, decision=step, comment=comment
            )
    return Content.objects.get(pk=content.pk)


def load(*, stdout: TextIO) -> list[str]:
    _south_goa_lead()
    users = {
        user.email: user
        for user in User.objects.filter(
            email__in=[EDITOR, NORTH_GOA_LEAD, SOUTH_GOA_LEAD[0], GOA_LEAD, NATIONAL_LEAD]
        )
    }
    made = 0
    for piece in PIECES:
        if Content.objects.filter(author=users[EDITOR], title=piece.title).exists():
            continue
        _make(piece, users)
        made += 1
    demo = Content.objects.filter(author=users[EDITOR], title__in=[p.title for p in PIECES])
    states = sorted(set(demo.values_list("state", flat=True)))
    return [
        "",
        f"Demo content: {demo.count()} pieces by {EDITOR} ({made} added now), in the states "
        + ", ".join(states)
        + ".",
        f"  waiting for approval: sign in as {NORTH_GOA_LEAD} (North Goa district) or "
        f"{SOUTH_GOA_LEAD[0]} (South Goa district), or {GOA_LEAD} (all of Goa).",
    ]
