"""Who the reporter is: asked at intake from the site's groups, kept on the case, shown to
handlers by its label; configured under [intake] groups."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.config import DEFAULT_GROUPS, ConfigError, config_from_mapping, load_config
from portal.models import Case, User
from tests.factories import make_handler, sign_in_as
from tests.portal.test_reporter_web import REPORT_TEXT, file_report, intake_fields

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def handlers(db: Session) -> list[User]:
    return [make_handler(db, "hanna"), make_handler(db, "sven", level=2)]


def only_case(db: Session) -> Case:
    db.expire_all()
    return db.scalars(select(Case)).one()


def test_the_form_asks_who_the_reporter_is_and_prefer_not_to_say_is_the_default(
    client: FlaskClient, handlers: list[User]
) -> None:
    page = client.get("/report").get_data(as_text=True)
    assert "Who are you? (optional)" in page
    for label in ("Employee", "Customer", "Vendor or supplier", "Member of the public", "Other"):
        assert f"> {label}</label>" in page or f">{label}</label>" in page, label
    chosen = re.search(r'<input checked id="group-0" name="group" type="radio" value="">', page)
    assert chosen, "“I prefer not to say” is chosen until the reporter picks another"
    assert "I prefer not to say" in page
    assert "<script" not in page


def test_the_group_chosen_is_stored_on_the_case(
    client: FlaskClient, db: Session, handlers: list[User]
) -> None:
    file_report(client, group="vendor")
    assert only_case(db).reporter_group == "vendor"


@pytest.mark.parametrize("sent", [{"group": ""}, {}])
def test_no_answer_stores_none(
    client: FlaskClient, db: Session, handlers: list[User], sent: dict[str, str]
) -> None:
    file_report(client, **sent)
    assert only_case(db).reporter_group is None


def test_a_group_not_on_the_list_is_refused_with_a_message_and_the_draft_kept(
    client: FlaskClient, db: Session, handlers: list[User]
) -> None:
    response = client.post("/report", data=intake_fields(client, group="boss"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "“Who are you?”: choose one of the answers listed, or “Prefer not to say”." in page
    assert REPORT_TEXT in page and "Last week, depot 4" in page
    assert db.scalars(select(Case)).first() is None


def test_the_case_page_shows_the_groups_label_not_its_key(
    client: FlaskClient, app: Flask, db: Session, handlers: list[User]
) -> None:
    file_report(client, group="public")
    hanna = app.test_client()
    sign_in_as(hanna, db, handlers[0])
    page = hanna.get(f"/staff/cases/{only_case(db).uid}").get_data(as_text=True)
    assert "reporter: Member of the public" in page


def test_the_case_page_says_when_the_reporter_did_not_say(
    client: FlaskClient, app: Flask, db: Session, handlers: list[User]
) -> None:
    file_report(client)
    hanna = app.test_client()
    sign_in_as(hanna, db, handlers[0])
    page = hanna.get(f"/staff/cases/{only_case(db).uid}").get_data(as_text=True)
    assert "reporter: not said" in page


def _config_with_groups(tmp_path: Path, groups: str) -> Path:
    text = (ROOT / "config.example.toml").read_text()
    start = text.index("\n[[intake.groups]]") + 1
    end = text.index("\n[[intake.questions]]") + 1
    path = tmp_path / "c.toml"
    path.write_text(text[:start] + groups + "\n" + text[end:])
    return path


def test_the_example_config_documents_the_default_groups() -> None:
    assert load_config(ROOT / "config.example.toml").intake.groups == DEFAULT_GROUPS


def test_groups_are_optional_and_default_to_the_five(tmp_path: Path) -> None:
    config = load_config(_config_with_groups(tmp_path, ""))
    assert [g.key for g in config.intake.groups] == [
        "employee",
        "customer",
        "vendor",
        "public",
        "other",
    ]
    assert config.intake.group("vendor") is not None
    assert config.intake.group("vendor").label == "Vendor or supplier"  # type: ignore[union-attr]


def test_a_site_sets_its_own_groups_or_none(tmp_path: Path) -> None:
    config = load_config(
        _config_with_groups(
            tmp_path, '[[intake.groups]]\nkey = "member"\nlabel = "A member of the club"\n'
        )
    )
    assert [(g.key, g.label) for g in config.intake.groups] == [("member", "A member of the club")]
    raw = tomllib.loads((ROOT / "config.example.toml").read_text())
    raw["intake"]["groups"] = []
    assert config_from_mapping(raw, base_dir=ROOT).intake.groups == ()


@pytest.mark.parametrize(
    ("groups", "named"),
    [
        ('[[intake.groups]]\nkey = "Staff"\nlabel = "Staff"\n', r"intake.groups\[0\].key"),
        ('[[intake.groups]]\nkey = "staff"\n', r"intake.groups\[0\].label: missing"),
        (
            '[[intake.groups]]\nkey = "a"\nlabel = "A"\n'
            '[[intake.groups]]\nkey = "a"\nlabel = "B"\n',
            "intake.groups: keys must be unique",
        ),
        (f'[[intake.groups]]\nkey = "{"a" * 33}"\nlabel = "A"\n', r"intake.groups\[0\].key"),
    ],
)
def test_malformed_groups_are_named(tmp_path: Path, groups: str, named: str) -> None:
    with pytest.raises(ConfigError, match=f"^{named}"):
        load_config(_config_with_groups(tmp_path, groups))
