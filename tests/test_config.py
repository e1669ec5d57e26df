"""Loading ``bsb.toml``: defaults, the shipped example, overrides and errors that name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsb_core.config import DEFAULT_SIM_PERSONAS, Config, ConfigError, load_config, redact_url
from bsb_core.paths import REPO_ROOT


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bsb.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_loads():
    config = load_config(REPO_ROOT / "bsb.toml.example")

    assert config.model_specs() == ["sim/terse", "sim/warm"]
    assert config.limits("openai").rpm == 500
    assert config.price("openai/gpt-4o-mini").output == 0.60


def test_defaults_without_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BSB_CONFIG", raising=False)
    config = load_config()

    assert config.model_specs() == [f"sim/{persona}" for persona in DEFAULT_SIM_PERSONAS]
    assert config.samples == 1
    assert config.structured_retries == 2


def test_cwd_file_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BSB_CONFIG", raising=False)
    write(tmp_path, 'models = ["sim/hedger"]\n')

    assert load_config().model_specs() == ["sim/hedger"]


def test_env_file_read(tmp_path, monkeypatch):
    path = tmp_path / "other.toml"
    path.write_text("samples = 3\n", encoding="utf-8")
    monkeypatch.setenv("BSB_CONFIG", str(path))

    assert load_config().samples == 3


def test_env_file_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("BSB_CONFIG", str(tmp_path / "missing.toml"))

    with pytest.raises(ConfigError, match="missing.toml: config file not found"):
        load_config()


def test_model_tables(tmp_path):
    path = write(
        tmp_path,
        '[[models]]\nspec = "openai-compatible/llama"\nbase_url = "http://127.0.0.1:8000/v1"\nparams = { top_p = 0.9 }\n',
    )
    config = load_config(path)

    assert config.model("openai-compatible/llama").base_url == "http://127.0.0.1:8000/v1"
    assert config.generation_params("openai-compatible/llama") == {"temperature": 0.7, "max_tokens": 1024, "top_p": 0.9}


def test_unknown_key_named(tmp_path):
    path = write(tmp_path, "sampels = 2\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}: sampels: unknown key; check its spelling against bsb.toml.example"


def test_bad_type_named(tmp_path):
    path = write(tmp_path, 'samples = "many"\n')

    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: samples: ")
    assert "'many'" in message


def test_bad_model_spec_named(tmp_path):
    path = write(tmp_path, 'models = ["sim/terse", "gpt-4o"]\n')

    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}: models[1].spec: invalid model 'gpt-4o': expected provider/model" in str(caught.value)


def test_bad_base_url_named(tmp_path):
    path = write(tmp_path, '[[models]]\nspec = "openai-compatible/x"\nbase_url = "127.0.0.1:8000"\n')

    with pytest.raises(ConfigError, match=r"models\[0\]\.base_url: base_url '127.0.0.1:8000' must start with http"):
        load_config(path)


def test_unknown_provider_limits(tmp_path):
    path = write(tmp_path, "[providers.azure]\nconcurrency = 2\n")

    with pytest.raises(ConfigError, match="providers: unknown provider 'azure'"):
        load_config(path)


def test_zero_concurrency_rejected(tmp_path):
    path = write(tmp_path, "[providers.openai]\nconcurrency = 0\n")

    with pytest.raises(ConfigError, match=r"providers\.openai\.concurrency"):
        load_config(path)


def test_duplicate_models_rejected(tmp_path):
    path = write(tmp_path, 'models = ["sim/terse", "sim/terse"]\n')

    with pytest.raises(ConfigError, match="more than once"):
        load_config(path)


def test_invalid_toml_named(tmp_path):
    path = write(tmp_path, "samples = = 2\n")

    with pytest.raises(ConfigError, match=f"{path}: invalid TOML"):
        load_config(path)


def test_overrides_validated():
    with pytest.raises(ConfigError, match="samples"):
        Config().with_overrides(samples=0)


def test_overrides_keep_unset():
    config = Config(samples=2).with_overrides(samples=None, suite="other")

    assert config.samples == 2
    assert config.suite == "other"


def test_max_completion_tokens_replaces():
    config = Config.model_validate({"models": [{"spec": "openai/o3-mini", "params": {"max_completion_tokens": 2000}}]})

    assert "max_tokens" not in config.generation_params("openai/o3-mini")


def test_public_dict_redacts_url():
    config = Config.model_validate({"models": [{"spec": "openai-compatible/x", "base_url": "https://host.example/v1?key=abc"}]})

    assert config.public_dict()["models"][0]["base_url"] == "https://host.example/v1"


def test_redact_url_keeps_port():
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
