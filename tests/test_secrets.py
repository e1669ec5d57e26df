"""API keys: keyring storage (an in-memory backend), environment precedence, scrubbing and ``bsb keys``."""

from __future__ import annotations

import keyring
import pytest
from click.testing import CliRunner
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError

from bsb_core import secrets
from bsb_core.cli import main

KEY = "sk-test-secret-0123456789"


class MemoryKeyring(KeyringBackend):
    """A keyring backend that keeps passwords in a dict."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.passwords.get((service, username))

    def set_password(self, service, username, password):
        self.passwords[(service, username)] = password

    def delete_password(self, service, username):
        if (service, username) not in self.passwords:
            raise PasswordDeleteError("not found")
        del self.passwords[(service, username)]


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def clean_env(monkeypatch):
    for names in secrets.ENV_VARS.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_set_stores_in_service(memory_keyring, clean_env):
    secrets.set_key("openai", KEY)

    assert memory_keyring.passwords[("bsb", "openai")] == KEY


def test_resolve_from_keyring(memory_keyring, clean_env):
    secrets.set_key("anthropic", KEY)
    found = secrets.resolve_key("anthropic")

    assert found.value == KEY
    assert found.source == "keyring"


def test_env_wins_over_keyring(memory_keyring, clean_env):
    secrets.set_key("openai", "sk-from-keyring-000000")
    clean_env.setenv("OPENAI_API_KEY", KEY)
    found = secrets.resolve_key("openai")

    assert found.value == KEY
    assert found.source == "env:OPENAI_API_KEY"


def test_google_second_env_var(memory_keyring, clean_env):
    clean_env.setenv("GEMINI_API_KEY", KEY)

    assert secrets.resolve_key("google").source == "env:GEMINI_API_KEY"


def test_api_key_env_first(memory_keyring, clean_env):
    clean_env.setenv("OPENROUTER_API_KEY", "sk-or-other-00000000")
    clean_env.setenv("MY_ROUTER_KEY", KEY)

    assert secrets.resolve_key("openrouter", api_key_env="MY_ROUTER_KEY").source == "env:MY_ROUTER_KEY"


def test_unknown_name_env_var():
    assert secrets.env_vars_for("my-gateway") == ("MY_GATEWAY_API_KEY",)


def test_delete_key(memory_keyring, clean_env):
    secrets.set_key("openai", KEY)

    assert secrets.delete_key("openai") is True
    assert secrets.resolve_key("openai").found is False
    assert secrets.delete_key("openai") is False


def test_lookup_repr_hides_value(memory_keyring, clean_env):
    clean_env.setenv("OPENAI_API_KEY", KEY)

    assert KEY not in repr(secrets.resolve_key("openai"))


def test_no_backend_set_names_env(no_keyring, clean_env):
    with pytest.raises(secrets.KeyringUnavailableError) as caught:
        secrets.set_key("anthropic", KEY)
    message = str(caught.value)
    assert "no OS keyring backend is available" in message
    assert "ANTHROPIC_API_KEY" in message
    assert KEY not in message


def test_no_backend_resolve_reports(no_keyring, clean_env):
    found = secrets.resolve_key("openai")

    assert found.found is False
    assert "no OS keyring backend" in found.keyring_error


def test_no_backend_env_still_works(no_keyring, clean_env):
    clean_env.setenv("OPENAI_API_KEY", KEY)

    assert secrets.resolve_key("openai").value == KEY


@pytest.mark.parametrize("name", ["OpenAI", "", "a b", "../x"])
def test_invalid_key_name(memory_keyring, name):
    with pytest.raises(ValueError, match="invalid key name"):
        secrets.set_key(name, KEY)


def test_scrub_registered_secret():
    secrets.register_secret("plain-secret-value")

    assert secrets.scrub("token plain-secret-value leaked") == "token [redacted] leaked"


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-proj-abcdefghijklmnop",
        "key AIzaSyA1234567890abcdefghijklmnopqrstu is invalid",
        "Authorization: Bearer abc.def.ghi",
        '{"x-api-key": "whatever-123"}',
    ],
)
def test_scrub_key_shapes(text):
    scrubbed = secrets.scrub(text)

    assert "[redacted]" in scrubbed
    for secret in ("sk-proj-abcdefghijklmnop", "AIzaSyA1234567890abcdefghijklmnopqrstu", "abc.def.ghi", "whatever-123"):
        assert secret not in scrubbed


def test_cli_set_and_list(memory_keyring, clean_env):
    runner = CliRunner()
    stored = runner.invoke(main, ["keys", "set", "openai"], input=f"{KEY}\n")
    listed = runner.invoke(main, ["keys", "list"])

    assert stored.exit_code == 0, stored.output
    assert memory_keyring.passwords[("bsb", "openai")] == KEY
    assert listed.exit_code == 0, listed.output
    assert "keyring" in listed.output
    assert KEY not in stored.output
    assert KEY not in listed.output


def test_cli_set_piped_without_prompt(memory_keyring, clean_env):
    # CliRunner's standard input is not a terminal, like a pipe: no hidden prompt (and no
    # GetPassWarning), the key is read as with --stdin.
    result = CliRunner().invoke(main, ["keys", "set", "openai"], input=f"{KEY}\n")

    assert result.exit_code == 0, result.output
    assert "API key for" not in result.output
    assert memory_keyring.passwords[("bsb", "openai")] == KEY


def test_cli_list_shows_env_source(memory_keyring, clean_env):
    clean_env.setenv("ANTHROPIC_API_KEY", KEY)
    result = CliRunner().invoke(main, ["keys", "list"])

    assert "env:ANTHROPIC_API_KEY" in result.output
    assert KEY not in result.output


def test_cli_set_from_stdin(memory_keyring, clean_env):
    result = CliRunner().invoke(main, ["keys", "set", "groq", "--stdin"], input=f"{KEY}\n")

    assert result.exit_code == 0, result.output
    assert memory_keyring.passwords[("bsb", "groq")] == KEY


def test_cli_delete(memory_keyring, clean_env):
    memory_keyring.set_password("bsb", "google", KEY)
    result = CliRunner().invoke(main, ["keys", "delete", "google"])

    assert result.exit_code == 0, result.output
    assert ("bsb", "google") not in memory_keyring.passwords


def test_cli_no_backend_error(no_keyring, clean_env):
    result = CliRunner().invoke(main, ["keys", "set", "openai"], input=f"{KEY}\n")

    assert result.exit_code == 1
    assert "OPENAI_API_KEY" in result.output
    assert KEY not in result.output


def test_cli_no_backend_before_prompt(no_keyring, clean_env):
    result = CliRunner().invoke(main, ["keys", "set", "openai"])

    assert result.exit_code == 1
    assert "API key for" not in result.output
    assert "OPENAI_API_KEY" in result.output


def test_cli_no_backend_before_stdin(no_keyring, clean_env):
    result = CliRunner().invoke(main, ["keys", "set", "groq", "--stdin"], input=f"{KEY}\n")

    assert result.exit_code == 1
    assert "GROQ_API_KEY" in result.output
    assert KEY not in result.output


def test_cli_unknown_name_before_prompt(memory_keyring, clean_env, tmp_path):
    clean_env.chdir(tmp_path)
    clean_env.delenv("BSB_CONFIG", raising=False)
    result = CliRunner().invoke(main, ["keys", "set", "nosuchprovider"], input=f"{KEY}\n")

    assert result.exit_code == 2
    assert "unknown key name 'nosuchprovider'" in result.output
    assert "API key for" not in result.output
    assert memory_keyring.passwords == {}


def test_cli_config_key_name_allowed(memory_keyring, clean_env, tmp_path):
    clean_env.chdir(tmp_path)
    clean_env.delenv("BSB_CONFIG", raising=False)
    (tmp_path / "bsb.toml").write_text(
        '[[models]]\nspec = "openai-compatible/llama"\nbase_url = "http://127.0.0.1:9/v1"\nkey_name = "myproxy"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["keys", "set", "myproxy", "--stdin"], input=f"{KEY}\n")

    assert result.exit_code == 0, result.output
    assert memory_keyring.passwords[("bsb", "myproxy")] == KEY
    assert KEY not in result.output


def test_cli_config_option_key_name(memory_keyring, clean_env, tmp_path):
    config = tmp_path / "other.toml"
    config.write_text('[[models]]\nspec = "openai-compatible/llama"\nbase_url = "http://127.0.0.1:9/v1"\nkey_name = "lab"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["keys", "set", "lab", "--config", str(config), "--stdin"], input=f"{KEY}\n")

    assert result.exit_code == 0, result.output
    assert memory_keyring.passwords[("bsb", "lab")] == KEY


def test_cli_ollama_name_allowed(memory_keyring, clean_env):
    result = CliRunner().invoke(main, ["keys", "set", "ollama", "--stdin"], input=f"{KEY}\n")

    assert result.exit_code == 0, result.output
    assert memory_keyring.passwords[("bsb", "ollama")] == KEY
