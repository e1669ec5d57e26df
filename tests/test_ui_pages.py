"""Every app page renders with AppTest: on a missing store, an empty store, the simulated store and real baseline data."""

from __future__ import annotations

import json

import pytest
from fixtures_ui import APP, APPTEST_TIMEOUT_S, PAGES, SIM_PERSONAS, open_page, page_text

from bsb_core.signature import load_cards
from bsb_core.store import Store

# Pages that need signature cards and show the empty-store guide without them.
CARD_PAGES = ("views/overview.py", "views/card.py", "views/compare.py", "views/drift.py", "views/recommend.py")


def charts_of(app) -> list[dict]:
    """Return the Vega-Lite specs of every Altair chart on the page."""
    return [json.loads(element.proto.spec) for element in app.get("vega_lite_chart")]


def stored_cards(path) -> list[dict]:
    with Store(path) as store:
        return load_cards(store)


@pytest.mark.parametrize("page", PAGES)
def test_page_missing_store(page, tmp_path, monkeypatch):
    app = open_page(tmp_path / "absent.db", page, monkeypatch)
    assert not app.exception
    assert not (tmp_path / "absent.db").exists()


@pytest.mark.parametrize("page", CARD_PAGES)
def test_page_missing_store_guide(page, tmp_path, monkeypatch):
    app = open_page(tmp_path / "absent.db", page, monkeypatch)
    assert "bsb run" in page_text(app)


@pytest.mark.parametrize("page", PAGES)
def test_page_empty_store(page, empty_store, monkeypatch):
    app = open_page(empty_store, page, monkeypatch)
    assert not app.exception
    assert not app.error


@pytest.mark.parametrize("page", CARD_PAGES)
def test_page_empty_store_guide(page, empty_store, monkeypatch):
    text = page_text(open_page(empty_store, page, monkeypatch))
    assert "bsb run" in text
    assert "bsb import" in text


@pytest.mark.parametrize("page", PAGES)
def test_page_foreign_sqlite(page, tmp_path, monkeypatch):
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    app = open_page(path, page, monkeypatch)
    assert not app.exception
    assert "is not a BSB store" in page_text(app)


@pytest.mark.parametrize("page", ["views/overview.py", "views/settings.py"])
def test_page_not_sqlite(page, tmp_path, monkeypatch):
    path = tmp_path / "notes.db"
    path.write_text("plain text, not SQLite\n" * 200)
    app = open_page(path, page, monkeypatch)
    assert not app.exception
    assert "not a readable BSB store" in page_text(app)


@pytest.mark.parametrize("page", PAGES)
def test_page_sim_store(page, ui_store, monkeypatch):
    app = open_page(ui_store, page, monkeypatch)
    assert not app.exception
    assert not app.error


@pytest.mark.parametrize("page", PAGES)
def test_page_baseline_store(page, baseline_store, monkeypatch):
    app = open_page(baseline_store, page, monkeypatch)
    assert not app.exception
    assert not app.error


@pytest.mark.parametrize("page", PAGES)
def test_page_mixed_store(page, mixed_store, monkeypatch):
    app = open_page(mixed_store, page, monkeypatch)
    assert not app.exception
    assert not app.error


def test_drift_hides_models_without_contrast(mixed_store, monkeypatch):
    app = open_page(mixed_store, "views/drift.py", monkeypatch)
    shown = set(app.dataframe[0].value["model"])
    app.toggle(key="drift_hide_missing").set_value(False).run()
    every = set(app.dataframe[0].value["model"])
    assert "claude-2.1" not in shown
    assert "claude-2.1" in every


def test_overview_table_models(ui_store, monkeypatch):
    app = open_page(ui_store, "views/overview.py", monkeypatch)
    table = app.dataframe[-1].value
    assert sorted(table["model"]) == sorted(card["model"] for card in stored_cards(ui_store))
    assert table["simulated"].all()
    assert "Structure 95% CI" in table.columns


def test_overview_radar_marks_simulated(ui_store, monkeypatch):
    app = open_page(ui_store, "views/overview.py", monkeypatch)
    specs = json.dumps(charts_of(app))
    assert "sim/terse (simulated)" in specs


def test_overview_provider_filter(ui_store, monkeypatch):
    app = open_page(ui_store, "views/overview.py", monkeypatch)
    app.multiselect(key="overview_providers").set_value([]).run()
    assert "No model matches these filters" in page_text(app)


def test_overview_contrast_stream_only(ui_store, monkeypatch):
    app = open_page(ui_store, "views/overview.py", monkeypatch)
    app.multiselect(key="overview_streams").set_value(["contrast"]).run()
    table = app.dataframe[-1].value
    assert "Compliance" in table.columns
    assert "Structure" not in table.columns
    assert not app.exception


@pytest.fixture()
def dated_store(ui_store, tmp_path):
    """A copy of ``ui_store`` whose collection run is recorded as started on 2020-01-01."""
    import shutil

    path = tmp_path / "dated.db"
    shutil.copyfile(ui_store, path)
    with Store(path) as store:
        store.update_run(store.runs()[-1]["id"], started_at="2020-01-01T00:00:00+00:00")
    return path


def test_cards_reload_after_refresh(dated_store, monkeypatch):
    import time

    from bsb_core.signature import refresh_signatures

    app = open_page(dated_store, "views/card.py", monkeypatch)
    before = stored_cards(dated_store)[0]["computed_at"]
    time.sleep(1.1)  # computed_at has a resolution of one second
    with Store(dated_store) as store:
        refresh_signatures(store)
    after = stored_cards(dated_store)[0]["computed_at"]
    app.run()
    text = page_text(app)
    assert after != before
    assert f"computed {after}" in text


def test_overview_date_range_without_data(dated_store, monkeypatch):
    from datetime import date

    app = open_page(dated_store, "views/overview.py", monkeypatch)
    app.date_input(key="overview_dates").set_value((date(2020, 1, 1), date(2020, 12, 31))).run()
    assert "No model matches these filters" in page_text(app)


def test_overview_date_range_scope(dated_store, monkeypatch):
    from datetime import date

    with Store(dated_store) as store:
        today = date.fromisoformat(store.runs()[0]["finished_at"][:10])
    app = open_page(dated_store, "views/overview.py", monkeypatch)
    app.date_input(key="overview_dates").set_value((today, today)).run()
    assert f"scope {today.isoformat()}..{today.isoformat()}" in page_text(app)
    assert len(app.dataframe[-1].value) == len(SIM_PERSONAS)


def test_overview_small_multiples(ui_store, monkeypatch):
    app = open_page(ui_store, "views/overview.py", monkeypatch)
    app.radio(key="overview_layout").set_value("Small multiples").run()
    assert len(charts_of(app)) == len(stored_cards(ui_store))


def open_card_section(db, section: str, monkeypatch):
    """Open the model card page with ``section`` as the open tab (as ``?card_section=`` does)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("BSB_DB", str(db))
    app = AppTest.from_file(str(APP), default_timeout=APPTEST_TIMEOUT_S)
    app.run()
    app.switch_page("views/card.py")
    app.session_state["card_section"] = section
    return app.run()


def test_card_traits_section(ui_store, monkeypatch):
    app = open_page(ui_store, "views/card.py", monkeypatch)
    text = page_text(app)
    assert ":orange-badge[" in text
    assert "Distinctive traits" in text
    assert len(charts_of(app)) == 2


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("Drift", "Drift magnitude"),
        ("Compliance", "constraint type"),
        ("Paraphrase and excerpts", "Response excerpts"),
        ("Provenance", ""),
    ],
)
def test_card_section(section, expected, ui_store, monkeypatch):
    app = open_card_section(ui_store, section, monkeypatch)
    assert not app.exception
    assert expected in page_text(app) + json.dumps(charts_of(app))


def test_card_only_open_section_drawn(ui_store, monkeypatch):
    app = open_card_section(ui_store, "Paraphrase and excerpts", monkeypatch)
    assert "Distinctive traits" not in page_text(app)
    assert not charts_of(app)


def test_card_download_buttons(ui_store, monkeypatch):
    app = open_page(ui_store, "views/card.py", monkeypatch)
    labels = [button.label for button in app.get("download_button")]
    assert labels == ["Download JSON card", "Download PDF card"]


def test_card_model_query_param(ui_store, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("BSB_DB", str(ui_store))
    app = AppTest.from_file(str(APP), default_timeout=APPTEST_TIMEOUT_S)
    app.query_params["model"] = "sim/hedger"
    app.run()
    app.switch_page("views/card.py").run()
    assert app.selectbox(key="card_model").value == "sim/hedger"


@pytest.mark.parametrize("section", ["Drift", "Compliance"])
def test_card_baseline_explains_missing(section, baseline_store, monkeypatch):
    text = page_text(open_card_section(baseline_store, section, monkeypatch))
    assert "no contrast stream" in text


@pytest.mark.parametrize("section", ["Drift", "Compliance", "Paraphrase and excerpts", "Provenance"])
def test_card_baseline_sections_render(section, baseline_store, monkeypatch):
    app = open_card_section(baseline_store, section, monkeypatch)
    assert not app.exception
    assert not app.error


def test_compare_models_diff(ui_store, monkeypatch):
    app = open_page(ui_store, "views/compare.py", monkeypatch)
    text = page_text(app)
    assert "metrics differ" in text


def test_compare_four_models(ui_store, monkeypatch):
    app = open_page(ui_store, "views/compare.py", monkeypatch)
    app.multiselect(key="compare_models").set_value(list(SIM_PERSONAS[:4])).run()
    assert len(app.tabs) == 3
    assert not app.exception


def test_compare_versions_one_run(ui_store, monkeypatch):
    app = open_page(ui_store, "views/compare.py", monkeypatch)
    app.radio(key="compare_mode").set_value("Two versions or dates of one model").run()
    assert "Pick two different scopes" not in page_text(app)
    assert not app.exception


def test_compare_versions_scopes(ui_store, monkeypatch):
    app = open_page(ui_store, "views/compare.py", monkeypatch)
    app.radio(key="compare_mode").set_value("Two versions or dates of one model").run()
    app.text_input(key="compare_scope_text_B").set_value("2000-01-01..2000-12-31").run()
    assert "Scope 2000-01-01..2000-12-31" in page_text(app)


def test_drift_constraint_types(ui_store, monkeypatch):
    app = open_page(ui_store, "views/drift.py", monkeypatch)
    options = app.selectbox(key="drift_constraint_type").options
    assert "json_schema" in options


def test_drift_ranking_order(ui_store, monkeypatch):
    app = open_page(ui_store, "views/drift.py", monkeypatch)
    ranking = app.dataframe[-1].value
    magnitudes = [card["drift"]["magnitude"] for card in stored_cards(ui_store)]
    assert list(ranking["magnitude"]) == sorted(magnitudes, reverse=True)


def test_drift_by_constraint_type(ui_store, monkeypatch):
    app = open_page(ui_store, "views/drift.py", monkeypatch)
    app.selectbox(key="drift_constraint_type").set_value("json_schema").run()
    specs = json.dumps(charts_of(app))
    assert "constraint type json_schema" in specs


def test_drift_baseline_guide(baseline_store, monkeypatch):
    text = page_text(open_page(baseline_store, "views/drift.py", monkeypatch))
    assert "No model in this store has a contrast stream" in text


def test_runs_table(ui_store, monkeypatch):
    app = open_page(ui_store, "views/runs.py", monkeypatch)
    runs = app.dataframe[0].value
    with Store(ui_store) as store:
        stored = store.runs()
    assert list(runs["status"]) == ["completed"]
    assert int(runs["answered or imported"].iloc[0]) == stored[0]["responses"]


def test_runs_form_models(ui_store, monkeypatch):
    app = open_page(ui_store, "views/runs.py", monkeypatch)
    assert "sim/terse" in app.multiselect(key="collect_models").options


def test_runs_start_needs_models(ui_store, monkeypatch):
    app = open_page(ui_store, "views/runs.py", monkeypatch)
    next(button for button in app.button if button.label == "Start collection").click().run()
    assert "Pick at least one model" in page_text(app)
