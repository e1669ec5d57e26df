"""The recommender page returns the ranking ``bsb_core.recommend`` returns for the same profile."""

from __future__ import annotations

import pytest
from fixtures_ui import open_page, page_text

from bsb_core.cards import store_cards
from bsb_core.recommend import profile_from, recommend
from bsb_core.store import Store


def library_ranking(path, profile) -> list[tuple[int, str, float]]:
    """Return (rank, model, score rounded as shown) of the library's ranking on the store's cards."""
    with Store(path) as store:
        cards = store_cards(store)
    return [(rec.rank, rec.model, round(rec.score, 1)) for rec in recommend(cards, profile)]


def page_ranking(app) -> list[tuple[int, str, float]]:
    """Return (rank, model, score) from the page's ranking table."""
    table = app.dataframe[0].value
    return [(int(rank), str(model), float(score)) for rank, model, score in zip(table["rank"], table["model"], table["score"])]


def submit(app):
    """Press the form's submit button and rerun."""
    next(button for button in app.button if button.label == "Rank models").click().run()
    return app


def test_recommend_before_submit(ui_store, monkeypatch):
    app = open_page(ui_store, "views/recommend.py", monkeypatch)
    assert not app.dataframe


@pytest.mark.parametrize("preset", ["customer-support", "backend-json", "analyst-report", "creative-writing", "coding-help"])
def test_recommend_preset_matches_library(preset, ui_store, monkeypatch):
    app = open_page(ui_store, "views/recommend.py", monkeypatch)
    app.selectbox(key="rec_preset").set_value(preset).run()
    submit(app)
    assert page_ranking(app) == library_ranking(ui_store, profile_from(preset))


def test_recommend_explicit_needs(ui_store, monkeypatch):
    app = open_page(ui_store, "views/recommend.py", monkeypatch)
    app.selectbox(key="rec_format_none").set_value("json")
    app.selectbox(key="rec_tone_none").set_value("formal")
    app.selectbox(key="rec_length_none").set_value("short")
    app.selectbox(key="rec_refusal_none").set_value("high")
    app.selectbox(key="rec_strictness_none").set_value("high")
    app.slider(key="rec_drift_none").set_value(0.9)
    submit(app)
    expected = profile_from(
        None, response_format="json", tone="formal", length="short", refusal_tolerance="high", format_strictness="high", drift_weight=0.9
    )  # fmt: skip
    assert page_ranking(app) == library_ranking(ui_store, expected)


def test_recommend_preset_with_override(ui_store, monkeypatch):
    app = open_page(ui_store, "views/recommend.py", monkeypatch)
    app.selectbox(key="rec_preset").set_value("backend-json").run()
    app.selectbox(key="rec_tone_backend-json").set_value("warm")
    submit(app)
    assert page_ranking(app) == library_ranking(ui_store, profile_from("backend-json", tone="warm"))
    assert "backend-json (modified)" in page_text(app)


def test_recommend_unchanged_preset_name(ui_store, monkeypatch):
    app = open_page(ui_store, "views/recommend.py", monkeypatch)
    app.selectbox(key="rec_preset").set_value("coding-help").run()
    submit(app)
    assert "Ranking for coding-help" in page_text(app)


def test_recommend_reasons_and_tips(ui_store, monkeypatch):
    app = open_page(ui_store, "views/recommend.py", monkeypatch)
    app.selectbox(key="rec_preset").set_value("backend-json").run()
    submit(app)
    text = page_text(app)
    assert "matched " in text
    assert "**Prompt tips**" in text


def test_recommend_json_download(ui_store, monkeypatch):
    app = open_page(ui_store, "views/recommend.py", monkeypatch)
    submit(app)
    labels = [button.label for button in app.get("download_button")]
    assert labels == ["Download the ranking as JSON"]


def test_recommend_ranking_survives_rerun(ui_store, monkeypatch):
    app = open_page(ui_store, "views/recommend.py", monkeypatch)
    submit(app)
    app.run()
    assert page_ranking(app) == library_ranking(ui_store, profile_from(None))


def test_recommend_baseline_warnings(baseline_store, monkeypatch):
    app = open_page(baseline_store, "views/recommend.py", monkeypatch)
    app.selectbox(key="rec_preset").set_value("backend-json").run()
    submit(app)
    assert page_ranking(app) == library_ranking(baseline_store, profile_from("backend-json"))
    assert any("no contrast data" in warning.value for warning in app.warning)
