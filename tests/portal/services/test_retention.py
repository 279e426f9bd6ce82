"""The pieces of retention that need no site: the admin's entry and what the landing page says."""

from __future__ import annotations

import pytest

from portal.config import Category, RetentionConfig
from portal.services import retention
from portal.services.errors import InvalidInputError

FRAUD = Category("fraud", "Fraud", ("eu-directive",))
SAFETY = Category("safety", "Safety", ("eu-directive",))


@pytest.mark.parametrize("text", ["abc", "0", "-1", "36501", "1.5", "١٢", " 3 0 "])
def test_days_out_of_range_or_not_whole_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError, match="whole number of days from 1 to 36500"):
        retention.parse_days(text)


def test_days_empty_means_the_default() -> None:
    assert retention.parse_days("  ") is None
    assert retention.parse_days(" 90 ") == 90


def test_the_landing_page_names_one_time_unless_categories_differ() -> None:
    config = RetentionConfig(default_days=1825)
    same = retention.kept_for({"fraud": 1825}, config, [FRAUD, SAFETY])
    assert same == [retention.KeptFor(None, 1825)]
    differ = retention.kept_for({"fraud": 30}, config, [FRAUD, SAFETY])
    assert differ == [retention.KeptFor("Fraud", 30), retention.KeptFor("Safety", 1825)]
