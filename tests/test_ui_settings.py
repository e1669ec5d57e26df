"""Settings page: keys are write-only, key sources are listed without values, the store can be switched."""

from __future__ import annotations

import keyring
import keyring.backend
import pytest
from fixtures_ui import open_page, page_text

from bsb_core import secrets

FAKE_KEY = "sk-test-ui-0123456789abcdefghij"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that keeps passwords in a dict, so tests never touch the OS keyring."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


@pytest.fixture()
def memory_keyring(monkeypatch):
    """Install a MemoryKeyring for the test and restore the previous backend afterwards."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    for variable in secrets.env_vars_for("openai"):
        monkeypatch.delenv(variable, raising=False)
    yield backend
    keyring.set_keyring(previous)


def store_key(app, name: str, value: str):
    """Fill the key form and submit it."""
    app.selectbox(key="key_name").set_value(name)
    app.text_input(key="key_value").set_value(value)
    next(button for button in app.button if button.label == "Store the key").click().run()
    return app


def all_text(app) -> str:
    """Return the page text plus every table cell and widget value, to search for a leaked key."""
    parts = [page_text(app)]
    parts.extend(frame.value.to_csv() for frame in app.dataframe)
    parts.extend(str(widget.value) for widget in app.text_input)
    return "\n".join(parts)


def test_settings_stores_key(ui_store, memory_keyring, monkeypatch):
    app = store_key(open_page(ui_store, "views/settings.py", monkeypatch), "openai", FAKE_KEY)
    assert memory_keyring.passwords[("bsb", "openai")] == FAKE_KEY
    assert "Stored the key for openai" in page_text(app)


def test_settings_never_shows_key(ui_store, memory_keyring, monkeypatch):
    app = store_key(open_page(ui_store, "views/settings.py", monkeypatch), "openai", FAKE_KEY)
    app.run()
    assert FAKE_KEY not in all_text(app)


def test_settings_clears_key_field(ui_store, memory_keyring, monkeypatch):
    app = store_key(open_page(ui_store, "views/settings.py", monkeypatch), "openai", FAKE_KEY)
    assert app.text_input(key="key_value").value == ""


def test_settings_lists_key_source(ui_store, memory_keyring, monkeypatch):
    app = store_key(open_page(ui_store, "views/settings.py", monkeypatch), "openai", FAKE_KEY)
    app.run()
    keys = app.dataframe[-1].value.set_index("key name")
    assert keys.loc["openai", "source"] == "keyring"


def test_settings_replaces_key(ui_store, memory_keyring, monkeypatch):
    app = store_key(open_page(ui_store, "views/settings.py", monkeypatch), "openai", FAKE_KEY)
    store_key(app, "openai", FAKE_KEY + "-new")
    assert memory_keyring.passwords[("bsb", "openai")] == FAKE_KEY + "-new"


def test_settings_env_key_listed_without_value(ui_store, memory_keyring, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    app = open_page(ui_store, "views/settings.py", monkeypatch)
    keys = app.dataframe[-1].value.set_index("key name")
    assert keys.loc["openai", "source"] == "environment variable OPENAI_API_KEY"
    assert FAKE_KEY not in all_text(app)


def test_settings_empty_key_rejected(ui_store, memory_keyring, monkeypatch):
    app = store_key(open_page(ui_store, "views/settings.py", monkeypatch), "openai", "   ")
    assert ("bsb", "openai") not in memory_keyring.passwords
    assert "empty key" in page_text(app)


def test_settings_custom_key_name(ui_store, memory_keyring, monkeypatch):
    app = open_page(ui_store, "views/settings.py", monkeypatch)
    app.text_input(key="key_custom_name").set_value("my-proxy")
    store_key(app, "other…", FAKE_KEY)
    assert memory_keyring.passwords[("bsb", "my-proxy")] == FAKE_KEY


def test_settings_invalid_key_name(ui_store, memory_keyring, monkeypatch):
    app = open_page(ui_store, "views/settings.py", monkeypatch)
    app.text_input(key="key_custom_name").set_value("Not Valid!")
    store_key(app, "other…", FAKE_KEY)
    assert "invalid key name" in page_text(app)
    assert FAKE_KEY not in all_text(app)


def test_settings_no_keyring_backend(ui_store, monkeypatch):
    import keyring.backends.fail

    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        app = store_key(open_page(ui_store, "views/settings.py", monkeypatch), "openai", FAKE_KEY)
    finally:
        keyring.set_keyring(previous)
    assert "no OS keyring backend" in page_text(app)
    assert FAKE_KEY not in all_text(app)


def test_settings_shows_db_path(ui_store, monkeypatch):
    app = open_page(ui_store, "views/settings.py", monkeypatch)
    assert str(ui_store) in page_text(app)


def test_settings_switches_store(ui_store, empty_store, monkeypatch):
    app = open_page(ui_store, "views/settings.py", monkeypatch)
    app.text_input(key="store_path").set_value(str(empty_store))
    next(button for button in app.button if button.label == "Use this store").click().run()
    app.switch_page("views/overview.py").run()
    assert "has no scored responses" in page_text(app)
