"""The site's effective intake settings and look: the configuration's values, overridden by what
admins saved (one JSON value per section in ``site_settings``).

Labels may be given per language (the "translations" section): a page in a language reads each
label as the admins translated it for that language, else as the catalogue translates it (the
shipped default labels are in it, from portal/intake_defaults.py), else as written.

Every page that names a category, asks a question, offers a reporter group or shows the site's
name reads them here. Saved sections are validated by the configuration loader's own rules, so an
admin can never save what the configuration file could not say. Each process caches the result
and checks one cheap value (the newest ``updated_at``) per call, so that several instances see an
admin's change on their next request.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from portal import i18n
from portal.config import (
    MAX_GROUP_KEY,
    Category,
    Config,
    ConfigError,
    IntakeConfig,
    Question,
    ReporterGroup,
    check_site_name,
    intake_from_mapping,
)
from portal.i18n import N_, _
from portal.models import Case, SiteSetting
from portal.services import audit
from portal.services.errors import InvalidInputError

SECTIONS = ("categories", "questions", "groups", "look", "logo")
# Days to keep closed cases per category; edited on its own page, not restored with the rest.
RETENTION = "retention"
# Admins' translations of the labels: {language: {kind: {key: text}}}, kinds as in KINDS.
TRANSLATIONS = "translations"
KINDS = ("categories", "questions", "help", "groups")
# The statutory preset runs on a category an admin adds until they choose its policies.
NEW_CATEGORY_POLICIES = ("eu-directive",)
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
COLOUR = re.compile(r"^#[0-9a-f]{6}$")
# WCAG 2 level AA for normal text.
MIN_CONTRAST = 4.5
MAX_LABEL_LENGTH = 200
MAX_HELP_LENGTH = 1000
MAX_NAME_LENGTH = 100
# Uploaded logos: raster formats only (an SVG can carry script), re-encoded as PNG, which drops
# every metadata chunk the original carried (a camera's GPS position, an author's name).
LOGO_FORMATS = frozenset({"PNG", "JPEG", "WEBP"})
MAX_LOGO_BYTES = 1024 * 1024
MAX_LOGO_SOURCE_PIXELS = 4096 * 4096
LOGO_BOX = (600, 200)
LOGO_TYPE = "image/png"


@dataclass(frozen=True)
class EffectiveIntake(IntakeConfig):
    """The intake as it is now. ``retired``: categories an admin removed while cases carried
    them, offered to nobody, whose labels still name those cases."""

    retired: tuple[Category, ...] = ()

    def category(self, key: str) -> Category | None:
        return next((c for c in (*self.categories, *self.retired) if c.key == key), None)


@dataclass(frozen=True)
class SiteLook:
    name: str
    accent: str | None = None
    on_accent: str | None = None
    has_logo: bool = False
    # Changes whenever a saved section does: it makes the URLs of /site.css and the logo new.
    version: str = ""


Translations = Mapping[str, Mapping[str, Mapping[str, str]]]


@dataclass(frozen=True)
class SiteSettings:
    intake: EffectiveIntake
    look: SiteLook
    # {language: {kind: {key: text}}}: the admins' translations of the labels (see KINDS).
    translations: Translations = field(default_factory=dict)
    # Days a closed case of each category is kept, where an admin set them (services/retention).
    retention_days: dict[str, int] = field(default_factory=dict)


_lock = threading.Lock()
_cache: dict[tuple[object, ...], tuple[object, SiteSettings]] = {}
# Per language: the settings a localised intake was made from, and that intake.
_localised: dict[str, tuple[SiteSettings, EffectiveIntake]] = {}


def _stamp(session: Session) -> datetime | None:
    return session.scalar(select(func.max(SiteSetting.updated_at)))


def current(session: Session, config: Config) -> SiteSettings:
    """The effective settings, from this process's cache unless an admin saved since."""
    stamp = _stamp(session)
    key = (config.intake, config.site.name, str(session.get_bind().engine.url))
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    settings = _build(session, config, stamp)
    with _lock:
        _cache[key] = (stamp, settings)
    return settings


def intake_settings(session: Session, config: Config) -> EffectiveIntake:
    """Categories, questions and groups as reporters and staff see them now."""
    return current(session, config).intake


def site_look(session: Session, config: Config) -> SiteLook:
    return current(session, config).look


def localised_intake(settings: SiteSettings, language: str) -> EffectiveIntake:
    """``settings``' intake with every label (and help text) in ``language``: the admins'
    translation for it, else the catalogue's translation of the label as written, else the
    label as written.

    Cached per process and language for as long as ``settings`` is the current one (``current``
    makes a new one whenever an admin saved).
    """
    with _lock:
        cached = _localised.get(language)
    if cached is not None and cached[0] is settings:
        return cached[1]
    intake = _localise(settings, language)
    with _lock:
        _localised[language] = (settings, intake)
    return intake


def _localise(settings: SiteSettings, language: str) -> EffectiveIntake:
    own = settings.translations.get(language, {})

    def word(kind: str, key: str, text: str) -> str:
        given = own.get(kind, {}).get(key)
        if given:
            return given
        # An empty msgid would read the catalogue's header: an empty help text stays empty.
        return _(text) if text else text

    intake = settings.intake
    with i18n.in_language(language):
        return replace(
            intake,
            categories=tuple(
                replace(c, label=word("categories", c.key, c.label)) for c in intake.categories
            ),
            retired=tuple(
                replace(c, label=word("categories", c.key, c.label)) for c in intake.retired
            ),
            questions=tuple(
                replace(
                    q,
                    label=word("questions", q.key, q.label),
                    help=word("help", q.key, q.help),
                )
                for q in intake.questions
            ),
            groups=tuple(replace(g, label=word("groups", g.key, g.label)) for g in intake.groups),
        )


def translations(session: Session, config: Config, language: str) -> dict[str, dict[str, str]]:
    """What admins translated for ``language``, by kind (KINDS) and key; empty where none."""
    own = current(session, config).translations.get(language, {})
    return {kind: dict(own.get(kind, {})) for kind in KINDS}


def _saved(session: Session) -> dict[str, Any]:
    return {
        row.section: json.loads(row.value)
        for row in session.scalars(select(SiteSetting))
        if row.value is not None
    }


def _build(session: Session, config: Config, stamp: datetime | None) -> SiteSettings:
    saved = _saved(session)
    intake = EffectiveIntake(
        categories=config.intake.categories,
        questions=config.intake.questions,
        groups=config.intake.groups,
    )
    if "categories" in saved:
        intake = replace(
            intake,
            categories=tuple(Category(**_category(c)) for c in saved["categories"]["active"]),
            retired=tuple(Category(**_category(c)) for c in saved["categories"]["retired"]),
        )
    if "questions" in saved:
        intake = replace(intake, questions=tuple(Question(**q) for q in saved["questions"]))
    if "groups" in saved:
        intake = replace(intake, groups=tuple(ReporterGroup(**g) for g in saved["groups"]))
    look = saved.get("look", {})
    return SiteSettings(
        translations=saved.get(TRANSLATIONS, {}),
        retention_days={str(k): int(v) for k, v in saved.get(RETENTION, {}).items()},
        intake=intake,
        look=SiteLook(
            name=look.get("name", config.site.name),
            accent=look.get("accent"),
            on_accent=look.get("on_accent"),
            has_logo="logo" in saved,
            version=stamp.strftime("%Y%m%d%H%M%S%f") if stamp is not None else "",
        ),
    )


def _category(raw: dict[str, Any]) -> dict[str, Any]:
    return {**raw, "policies": tuple(raw["policies"])}


def logo(session: Session) -> bytes | None:
    """The uploaded logo (PNG, already re-encoded), or None."""
    row = session.get(SiteSetting, "logo")
    if row is None or row.value is None:
        return None
    return base64.b64decode(json.loads(row.value)["png"])


def _write(
    session: Session,
    section: str,
    value: Any,
    *,
    actor_id: int,
    action: str,
    detail: str,
    now: datetime,
) -> None:
    # Strictly later than any earlier save, even with an instance's clock behind another's: the
    # newest time is what tells every cache that something changed.
    newest = _stamp(session)
    when = max(now, newest + timedelta(microseconds=1)) if newest is not None else now
    row = session.get(SiteSetting, section)
    text = None if value is None else json.dumps(value, sort_keys=True)
    if row is None:
        session.add(SiteSetting(section=section, value=text, updated_at=when))
    else:
        row.value, row.updated_at = text, when
    audit.record(session, action, now=now, actor_id=actor_id, detail=detail)
    session.commit()


def save_retention_days(
    session: Session, days: dict[str, int], *, actor_id: int, now: datetime
) -> None:
    """Save the days per category (already validated by services/retention). Audited; commits."""
    detail = ", ".join(f"{key} {n}" for key, n in sorted(days.items())) or "defaults"
    _write(
        session,
        RETENTION,
        days,
        actor_id=actor_id,
        action="retention_changed",
        detail=detail,
        now=now,
    )


def _validate(intake: IntakeConfig) -> None:
    """The configuration loader's rules, over the whole intake as it would become."""
    try:
        intake_from_mapping(
            {
                "categories": [_plain(c) for c in intake.categories],
                "questions": [_plain(q) for q in intake.questions],
                "groups": [_plain(g) for g in intake.groups],
            }
        )
    except ConfigError as exc:
        # The loader's own words (an operator's, in English) inside the sentence.
        raise InvalidInputError(_("This cannot be saved: %(problem)s.", problem=str(exc))) from None


def _plain(item: Category | Question | ReporterGroup) -> dict[str, Any]:
    raw = asdict(item)
    if "policies" in raw:
        raw["policies"] = list(raw["policies"])
    return raw


# What is wrong with a row, per kind of row (one whole sentence each, for translators).
ROW_PROBLEMS: dict[str, dict[str, str]] = {
    "category": {
        "key": N_(
            "The key “%(key)s” of a category may hold only lower-case letters, digits and "
            "underscores, start with a letter and be at most %(max)d characters long."
        ),
        "twice": N_("Two categories have the key “%(key)s”: each needs its own."),
        "label": N_("The category “%(key)s” needs a label."),
        "long": N_("The label of the category “%(key)s” is longer than %(max)d characters."),
    },
    "question": {
        "key": N_(
            "The key “%(key)s” of a question may hold only lower-case letters, digits and "
            "underscores, start with a letter and be at most %(max)d characters long."
        ),
        "twice": N_("Two questions have the key “%(key)s”: each needs its own."),
        "label": N_("The question “%(key)s” needs a label."),
        "long": N_("The label of the question “%(key)s” is longer than %(max)d characters."),
    },
    "reporter group": {
        "key": N_(
            "The key “%(key)s” of a reporter group may hold only lower-case letters, digits and "
            "underscores, start with a letter and be at most %(max)d characters long."
        ),
        "twice": N_("Two reporter groups have the key “%(key)s”: each needs its own."),
        "label": N_("The reporter group “%(key)s” needs a label."),
        "long": N_("The label of the reporter group “%(key)s” is longer than %(max)d characters."),
    },
}


def _check_rows(kind: str, rows: Sequence[tuple[str, str]], max_key: int = 64) -> None:
    problems = ROW_PROBLEMS[kind]
    seen: set[str] = set()
    for key, label in rows:
        if not KEY.fullmatch(key) or len(key) > max_key:
            raise InvalidInputError(_(problems["key"], key=key, max=max_key))
        if key in seen:
            raise InvalidInputError(_(problems["twice"], key=key))
        seen.add(key)
        if not label.strip():
            raise InvalidInputError(_(problems["label"], key=key))
        if len(label) > MAX_LABEL_LENGTH:
            raise InvalidInputError(_(problems["long"], key=key, max=MAX_LABEL_LENGTH))


def has_cases(session: Session, category: str) -> bool:
    return bool(session.scalar(select(exists().where(Case.category == category))))


def save_categories(
    session: Session,
    config: Config,
    rows: Sequence[tuple[str, str]],
    *,
    actor_id: int,
    now: datetime,
) -> list[str]:
    """Save the categories offered to reporters, in order, as (key, label). Commits once.

    A category left out is retired when cases carry it (its label keeps naming them) and dropped
    otherwise; a retired key added again comes back. Returns the keys retired by this save.
    """
    _check_rows("category", rows)
    if not rows:
        raise InvalidInputError(_("Keep at least one category: reporters must be able to choose."))
    before = intake_settings(session, config)
    known = {c.key: c for c in (*before.categories, *before.retired)}
    active = tuple(
        Category(
            key=key,
            label=label.strip(),
            policies=known[key].policies if key in known else NEW_CATEGORY_POLICIES,
        )
        for key, label in rows
    )
    keys = {c.key for c in active}
    left = [c for c in before.categories if c.key not in keys]
    retired_now = [c for c in left if has_cases(session, c.key)]
    retired = tuple([c for c in before.retired if c.key not in keys] + retired_now)
    _validate(replace(before, categories=active, retired=retired))
    _write(
        session,
        "categories",
        {"active": [_plain(c) for c in active], "retired": [_plain(c) for c in retired]},
        actor_id=actor_id,
        action="site_categories_changed",
        detail=",".join(c.key for c in active)
        + (f"; retired {','.join(c.key for c in retired_now)}" if retired_now else ""),
        now=now,
    )
    return [c.key for c in retired_now]


def save_questions(
    session: Session,
    config: Config,
    questions: Sequence[Question],
    *,
    actor_id: int,
    now: datetime,
) -> None:
    """Save the intake questions in order. Commits once.

    A question removed leaves old reports readable: each answer was sealed with its question's
    key and label (services/intake.py), so nothing reads the current list to show them.
    """
    _check_rows("question", [(q.key, q.label) for q in questions])
    if not questions:
        raise InvalidInputError(_("Keep at least one question: a report needs something to say."))
    for q in questions:
        if len(q.help) > MAX_HELP_LENGTH:
            raise InvalidInputError(
                _(
                    "The help text of the question “%(key)s” is longer than %(max)d characters.",
                    key=q.key,
                    max=MAX_HELP_LENGTH,
                )
            )
    cleaned = tuple(replace(q, label=q.label.strip(), help=q.help.strip()) for q in questions)
    if not any(q.required for q in cleaned):
        raise InvalidInputError(_("Make at least one question required, so no report is empty."))
    before = intake_settings(session, config)
    _validate(replace(before, questions=cleaned))
    _write(
        session,
        "questions",
        [_plain(q) for q in cleaned],
        actor_id=actor_id,
        action="site_questions_changed",
        detail=",".join(q.key for q in cleaned),
        now=now,
    )


def save_groups(
    session: Session,
    config: Config,
    rows: Sequence[tuple[str, str]],
    *,
    actor_id: int,
    now: datetime,
) -> None:
    """Save the reporter groups ("Who are you?") in order; none: the question is not asked."""
    _check_rows("reporter group", rows, MAX_GROUP_KEY)
    groups = tuple(ReporterGroup(key=k, label=label.strip()) for k, label in rows)
    before = intake_settings(session, config)
    _validate(replace(before, groups=groups))
    _write(
        session,
        "groups",
        [_plain(g) for g in groups],
        actor_id=actor_id,
        action="site_groups_changed",
        detail=",".join(g.key for g in groups),
        now=now,
    )


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def save_look(
    session: Session,
    name: str,
    accent: str,
    on_accent: str,
    *,
    actor_id: int,
    now: datetime,
) -> None:
    """Save the site's name and colours. Commits once.

    The colours are checked against a strict pattern before they reach CSS, so nothing an admin
    types can end a rule or open another; the pair must be readable (WCAG AA contrast).
    """
    name = name.strip()
    try:
        check_site_name(name)
    except ConfigError:
        raise InvalidInputError(_("Give the site a name, on one line.")) from None
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            _("The site's name is longer than %(max)d characters.", max=MAX_NAME_LENGTH)
        )
    accent, on_accent = accent.strip().lower(), on_accent.strip().lower()
    for colour in (accent, on_accent):
        if not COLOUR.fullmatch(colour):
            raise InvalidInputError(
                _(
                    "“%(colour)s” is not a colour: write it as # and six hexadecimal digits, "
                    "like #1f5f8b.",
                    colour=colour,
                )
            )
    ratio = contrast_ratio(accent, on_accent)
    if ratio < MIN_CONTRAST:
        raise InvalidInputError(
            _(
                "The text colour on the accent colour is too hard to read (contrast "
                "%(ratio)s:1; at least %(minimum)s:1 is needed). Choose a darker or a lighter "
                "colour.",
                ratio=f"{ratio:.1f}",
                minimum=str(MIN_CONTRAST),
            )
        )
    _write(
        session,
        "look",
        {"name": name, "accent": accent, "on_accent": on_accent},
        actor_id=actor_id,
        action="site_look_changed",
        detail=f"{accent} {on_accent}",
        now=now,
    )


def clean_logo(data: bytes) -> bytes:
    """``data`` as a PNG, re-encoded from its pixels alone (no metadata), within LOGO_BOX."""
    if len(data) > MAX_LOGO_BYTES:
        raise InvalidInputError(
            _(
                "The logo is larger than %(size)d KiB. Upload a smaller image.",
                size=MAX_LOGO_BYTES // 1024,
            )
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in LOGO_FORMATS:
                raise InvalidInputError(_("Upload the logo as a PNG, JPEG or WebP image."))
            width, height = image.size
            # Checked before decoding: a small file can declare a huge image (a pixel bomb).
            if width * height > MAX_LOGO_SOURCE_PIXELS:
                raise InvalidInputError(_("The logo has too many pixels. Upload a smaller image."))
            image.load()
            pixels = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise InvalidInputError(_("Upload the logo as a PNG, JPEG or WebP image.")) from None
    pixels.thumbnail(LOGO_BOX)
    out = io.BytesIO()
    pixels.save(out, format="PNG", optimize=True)
    return out.getvalue()


def save_logo(session: Session, data: bytes, *, actor_id: int, now: datetime) -> None:
    """Store an uploaded logo, re-encoded (see ``clean_logo``). Commits once."""
    png = clean_logo(data)
    _write(
        session,
        "logo",
        {"png": base64.b64encode(png).decode("ascii")},
        actor_id=actor_id,
        action="site_logo_changed",
        detail=f"{len(png)} bytes",
        now=now,
    )


def restore_defaults(
    session: Session, config: Config, section: str, *, actor_id: int, now: datetime
) -> None:
    """Drop what admins saved in ``section``: the configuration's values apply again. Commits.

    Retired categories the configuration does not list stay retired, so that their labels still
    name the old cases that carry them.
    """
    if section not in SECTIONS:
        raise InvalidInputError(_("There is no such section of the settings."))
    value: Any = None
    if section == "categories":
        configured = {c.key for c in config.intake.categories}
        before = intake_settings(session, config)
        keep = [c for c in before.retired if c.key not in configured]
        keep += [
            c for c in before.categories if c.key not in configured and has_cases(session, c.key)
        ]
        if keep:
            value = {
                "active": [_plain(c) for c in config.intake.categories],
                "retired": [_plain(c) for c in keep],
            }
    _write(
        session,
        section,
        value,
        actor_id=actor_id,
        action="site_settings_restored",
        detail=section,
        now=now,
    )


def save_translations(
    session: Session,
    config: Config,
    language: str,
    texts: Mapping[str, Mapping[str, str]],
    *,
    actor_id: int,
    now: datetime,
) -> None:
    """Save the admins' translations of the labels for ``language`` (by kind of KINDS, then by
    key; an empty text: none, the fallback applies). Commits once.

    Texts for keys the intake no longer has are kept, for a category or question that comes back.
    """
    if language not in config.site.languages or language == config.site.default_language:
        raise InvalidInputError(_("The site does not offer that language to translate into."))
    settings = current(session, config)
    intake = settings.intake
    known = {
        "categories": {c.key: c.label for c in (*intake.categories, *intake.retired)},
        "questions": {q.key: q.label for q in intake.questions},
        "help": {q.key: q.label for q in intake.questions},
        "groups": {g.key: g.label for g in intake.groups},
    }
    before = settings.translations.get(language, {})
    mine: dict[str, dict[str, str]] = {}
    for kind in KINDS:
        kept = {k: v for k, v in before.get(kind, {}).items() if k not in known[kind]}
        for key, text in texts.get(kind, {}).items():
            if key not in known[kind]:
                continue
            text = text.strip()
            limit = MAX_HELP_LENGTH if kind == "help" else MAX_LABEL_LENGTH
            if len(text) > limit:
                what = known[kind][key]
                raise InvalidInputError(
                    _(
                        "The help text's translation for “%(label)s” is longer than %(max)d "
                        "characters.",
                        label=what,
                        max=limit,
                    )
                    if kind == "help"
                    else _(
                        "The translation of “%(label)s” is longer than %(max)d characters.",
                        label=what,
                        max=limit,
                    )
                )
            if kind != "help" and "\n" in text:
                raise InvalidInputError(
                    _("The translation of “%(label)s” must be on one line.", label=known[kind][key])
                )
            if text:
                kept[key] = text
        if kept:
            mine[kind] = kept
    everything: dict[str, Mapping[str, Mapping[str, str]]] = dict(settings.translations)
    if mine:
        everything[language] = mine
    else:
        everything.pop(language, None)
    _write(
        session,
        TRANSLATIONS,
        everything or None,
        actor_id=actor_id,
        action="site_translations_changed",
        detail=language,
        now=now,
    )
