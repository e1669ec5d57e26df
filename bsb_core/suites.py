"""Load and validate prompt suites from ``prompts/``: rules, paraphrase request, topics, contrast variants.

A suite is a folder (``prompts/<name>/``) with four JSON files, each validated against the
definition of the same name in ``prompts/suite.schema.json``:

- ``suite.json``: name, version, domains, the global rules and the paraphrase request;
- ``topics.json``: one free-form analytical task per topic, with its contrast parameters;
- ``templates.json``: the baseline template and one template per contrast variant, with the
  machine-checkable constraints each variant carries;
- ``value_prompts.json`` (optional): dual-use and value-conflict prompts (stream ``baseline``).

JSON Schemas named by topics live in ``schemas_dir`` (``prompts/schemas/`` for the core suite)
and are inlined into ``bsb:json_schema`` constraints. The suite's content hash covers all of
these files, so a run records exactly which prompts it sent.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import re
import string
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from bsb_core.paths import REPO_ROOT

log = logging.getLogger(__name__)

DEFAULT_SUITE = "core"
SUITE_SCHEMA_FILE = "suite.schema.json"
SUITE_FILES = ("suite.json", "topics.json", "templates.json")
OPTIONAL_SUITE_FILES = ("value_prompts.json",)
STREAMS = ("paraphrase", "baseline", "contrast")

# Placeholders a template may use. Every topic supplies all of them.
TEMPLATE_FIELDS = frozenset({"task", "title", "schema", "schema_json", "bullets", "word_limit", "steps", "bullets_a", "bullets_b"})

# Hex digits kept from the SHA-256 suite hash, the same length as the store's content hashes.
HASH_LENGTH = 16


class SuiteError(ValueError):
    """An invalid or missing prompt suite. The message names the file, the field and the fix."""


@dataclass(frozen=True)
class Topic:
    """A baseline topic: the free-form task and the words it is about."""

    id: str
    domain: str
    title: str
    task: str
    key_terms: list[str]


@dataclass(frozen=True)
class SuitePrompt:
    """One prompt of a suite, ready to send.

    ``constraints`` is a list of ``{"id": ..., "kwargs": ...}`` objects (IFEval instruction ids
    or ``bsb:`` ids); ``bsb:json_schema`` kwargs carry the schema inline under ``schema``.
    ``key`` (``stream/topic/variant``) is stable across runs while the suite keeps its ids.
    ``key_terms`` are the noun phrases the prompt is about (empty for the paraphrase request).
    """

    stream: str
    topic: str
    domain: str | None
    variant: str
    text: str
    constraints: list[dict[str, Any]]
    key: str
    key_terms: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Suite:
    """A loaded, validated prompt suite.

    NOTE: ``load_suite`` returns one cached object per content hash, so callers must treat its
    lists and constraint dicts as read-only.
    """

    name: str
    version: int
    hash: str
    path: Path
    domains: list[str]
    rules: list[str]
    rule_ids: list[str]
    paraphrase_request: str
    topics: list[Topic]
    prompts: list[SuitePrompt]
    _by_text: dict[str, SuitePrompt] = field(default_factory=dict, repr=False, compare=False)
    _by_key: dict[str, SuitePrompt] = field(default_factory=dict, repr=False, compare=False)

    def prompts_for(self, stream: str, variant: str | None = None) -> list[SuitePrompt]:
        """Return the prompts of ``stream`` (and of ``variant`` when given), in suite order."""
        if stream not in STREAMS:
            raise ValueError(f"unknown stream {stream!r}: expected one of {', '.join(STREAMS)}")
        return [p for p in self.prompts if p.stream == stream and (variant is None or p.variant == variant)]

    def find_prompt(self, text: str) -> SuitePrompt | None:
        """Return the prompt whose text equals ``text`` up to whitespace, or None."""
        return self._by_text.get(prompt_text_hash(text))

    def prompt(self, key: str) -> SuitePrompt:
        """Return the prompt with ``key``, or raise KeyError naming the key."""
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(f"suite {self.name!r} has no prompt with key {key!r}") from None

    def topic(self, topic_id: str) -> Topic | None:
        """Return the baseline topic ``topic_id``, or None for value prompts and the paraphrase."""
        return next((t for t in self.topics if t.id == topic_id), None)


def prompt_text_hash(text: str) -> str:
    """Return the SHA-256 hex digest of ``text`` with whitespace runs collapsed and ends stripped."""
    normalized = " ".join(text.split())
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


# --- locations ------------------------------------------------------------------------------


def prompts_dir() -> Path:
    """Return the folder holding the suites: ``BSB_PROMPTS``, else ``prompts/`` in the repository."""
    env = os.environ.get("BSB_PROMPTS")
    folder = Path(env) if env else REPO_ROOT / "prompts"
    if not folder.is_dir():
        source = "BSB_PROMPTS" if env else "the repository root"
        raise SuiteError(
            f"prompts folder not found: {folder} (from {source}). Set BSB_PROMPTS to the folder that "
            "contains the suites (e.g. prompts/ of a BSB source checkout)."
        )
    return folder


def list_suites() -> list[str]:
    """Return the names of the suites in the prompts folder (sub-folders with a suite.json), sorted.

    Raises :class:`SuiteError` when the prompts folder is missing.
    """
    return sorted(p.parent.name for p in prompts_dir().glob("*/suite.json"))


def resolve_suite_dir(name_or_path: str | os.PathLike[str]) -> Path:
    """Return the folder of a suite given by name or by path.

    A name (lower-case letters, digits and hyphens) is looked up in the prompts folder first,
    so a same-named folder in the working directory does not shadow a suite.
    """
    candidate = Path(name_or_path)
    is_name = isinstance(name_or_path, str) and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name_or_path) is not None
    if is_name and (not candidate.is_dir() or (prompts_dir() / name_or_path).is_dir()):
        folder = prompts_dir() / name_or_path
    elif candidate.is_dir():
        folder = candidate
    else:
        raise SuiteError(f"suite folder not found: {name_or_path}. Pass a suite name or the path of a folder that contains suite.json.")

    if not (folder / "suite.json").is_file():
        known = ", ".join(list_suites()) or "none"
        raise SuiteError(f"suite not found: {folder} has no suite.json. Known suites in {prompts_dir()}: {known}.")
    return folder.resolve()


# --- loading --------------------------------------------------------------------------------

_cache: dict[tuple[Path, str], Suite] = {}
_cache_lock = threading.Lock()


def load_suite(name_or_path: str | os.PathLike[str] = DEFAULT_SUITE) -> Suite:
    """Load, validate and build a suite, cached per folder and content hash.

    Raises :class:`SuiteError` naming the file and JSON pointer of the first problems found.
    """
    folder = resolve_suite_dir(name_or_path)
    files = _suite_files(folder)
    suite_hash = _hash_files(files)

    with _cache_lock:
        cached = _cache.get((folder, suite_hash))
    if cached is not None:
        return cached

    suite = _build_suite(folder, files, suite_hash)
    log.info("loaded suite %s (hash %s): %d prompts", suite.name, suite.hash, len(suite.prompts))
    with _cache_lock:
        _cache[(folder, suite_hash)] = suite
    return suite


def _suite_files(folder: Path) -> dict[str, Path]:
    """Map hash labels to the files that make up the suite: its JSON files, the suite schema and referenced JSON Schemas."""
    for name in SUITE_FILES:
        if not (folder / name).is_file():
            raise SuiteError(f"{folder / name}: file missing. A suite needs {', '.join(SUITE_FILES)}.")

    files = {f"suite/{p.name}": p for p in sorted(folder.glob("*.json"))}
    files[SUITE_SCHEMA_FILE] = _suite_schema_path(folder)

    manifest = _read_json(folder / "suite.json")
    schemas_dir = _schemas_dir(folder, manifest)
    topics = _read_json(folder / "topics.json")
    for name in sorted(_referenced_schemas(topics)):
        path = schemas_dir / f"{name}.json"
        if path.is_file():
            files[f"schemas/{name}.json"] = path
    return files


def _suite_schema_path(folder: Path) -> Path:
    local = folder.parent / SUITE_SCHEMA_FILE
    if local.is_file():
        return local
    return prompts_dir() / SUITE_SCHEMA_FILE


def _schemas_dir(folder: Path, manifest: Any) -> Path:
    relative = manifest.get("schemas_dir", "../schemas") if isinstance(manifest, dict) else "../schemas"
    return (folder / str(relative)).resolve()


def _referenced_schemas(topics: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(topics, dict) and isinstance(topics.get("topics"), list):
        for topic in topics["topics"]:
            schema = topic.get("contrast", {}).get("schema") if isinstance(topic, dict) else None
            if isinstance(schema, str):
                names.add(schema)
    return names


def _hash_files(files: dict[str, Path]) -> str:
    """Hash labels and contents with CRLF turned into LF, so checkouts on any OS hash equally."""
    digest = hashlib.sha256()
    for label in sorted(files):
        content = files[label].read_bytes().replace(b"\r\n", b"\n")
        digest.update(label.encode("utf-8") + b"\0" + str(len(content)).encode("ascii") + b"\0" + content)
    return digest.hexdigest()[:HASH_LENGTH]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}. Fix the syntax there.") from None
    except UnicodeDecodeError as exc:
        raise SuiteError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}). Save the file as UTF-8.") from None


# --- validation -----------------------------------------------------------------------------


def _pointer(parts: Iterable[Any]) -> str:
    """Return an RFC 6901 JSON pointer, showing the document root as ``/``."""
    escaped = [str(p).replace("~", "~0").replace("/", "~1") for p in parts]
    return "/" + "/".join(escaped) if escaped else "/"


def _fix_hint(error: ValidationError) -> tuple[list[Any], str]:
    """Return the pointer path to report and a sentence saying what to change."""
    path = list(error.absolute_path)
    kind = error.validator
    if kind == "required":
        missing = [name for name in error.validator_value if isinstance(error.instance, dict) and name not in error.instance]
        return path + missing[:1], "add this required field"
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {}))) if isinstance(error.instance, dict) else []
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return path + extra[:1], f"remove this field or correct its spelling (allowed: {allowed})"
    if kind == "enum":
        return path, f"use one of {', '.join(map(repr, error.validator_value))}"
    if kind == "type":
        return path, f"change the value to a JSON {error.validator_value}"
    if kind == "pattern":
        return path, f"change the value to match the pattern {error.validator_value}"
    if kind in {"minItems", "minLength", "minimum"}:
        return path, f"raise it to at least {error.validator_value}"
    if kind in {"maxItems", "maxLength", "maximum"}:
        return path, f"lower it to at most {error.validator_value}"
    return path, "correct the value"


def _validate(document: Any, definition: str, path: Path, suite_schema: dict[str, Any]) -> None:
    """Raise SuiteError unless ``document`` validates against ``$defs/<definition>`` of the suite schema."""
    schema = {"$schema": suite_schema.get("$schema"), "$defs": suite_schema["$defs"], "$ref": f"#/$defs/{definition}"}
    errors = sorted(Draft202012Validator(schema).iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        return

    lines = []
    for error in errors[:5]:
        where, hint = _fix_hint(error)
        lines.append(f"{path}: {_pointer(where)}: {error.message}. Fix: {hint}.")
    more = f" ({len(errors) - 5} more errors)" if len(errors) > 5 else ""
    raise SuiteError("\n".join(lines) + more)


def _fail(path: Path, where: Iterable[Any], problem: str, fix: str) -> SuiteError:
    return SuiteError(f"{path}: {_pointer(where)}: {problem}. Fix: {fix}.")


def _load_schema(schemas_dir: Path, name: str, topics_path: Path, where: list[Any]) -> dict[str, Any]:
    path = schemas_dir / f"{name}.json"
    if not path.is_file():
        available = ", ".join(sorted(p.stem for p in schemas_dir.glob("*.json"))) or "none"
        raise _fail(topics_path, where, f"JSON Schema {name!r} not found in {schemas_dir}", f"use one of: {available}")
    schema = _read_json(path)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise _fail(path, exc.absolute_path, f"not a valid JSON Schema: {exc.message}", "correct the schema") from None
    if not isinstance(schema, dict):
        raise _fail(path, [], "the schema must be a JSON object", "wrap it in an object with a type")
    return schema


def _check_template(template: str, path: Path, where: list[Any]) -> None:
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise _fail(path, where, f"invalid template: {exc}", "write literal braces as {{ and }}") from None
    for name in fields:
        if name not in TEMPLATE_FIELDS:
            raise _fail(path, where, f"unknown placeholder {{{name}}}", f"use one of {', '.join(sorted(TEMPLATE_FIELDS))}")


# --- building -------------------------------------------------------------------------------


def _build_suite(folder: Path, files: dict[str, Path], suite_hash: str) -> Suite:
    schema_path = files[SUITE_SCHEMA_FILE]
    if not schema_path.is_file():
        raise SuiteError(f"{schema_path}: suite schema missing. Restore prompts/{SUITE_SCHEMA_FILE} from the BSB source.")
    suite_schema = _read_json(schema_path)

    documents: dict[str, Any] = {}
    for name in SUITE_FILES + OPTIONAL_SUITE_FILES:
        path = folder / name
        if not path.is_file():
            continue
        documents[name] = _read_json(path)
        _validate(documents[name], name.removesuffix(".json"), path, suite_schema)

    manifest = documents["suite.json"]
    if manifest["name"] != folder.name:
        raise _fail(folder / "suite.json", ["name"], f"name {manifest['name']!r} differs from the folder name {folder.name!r}", "rename one to match")

    topics = _build_topics(documents["topics.json"], manifest, folder)
    schemas = _load_topic_schemas(documents["topics.json"], _schemas_dir(folder, manifest), folder / "topics.json")
    prompts = [_paraphrase_prompt(manifest)]
    raw_topics = {raw["id"]: raw for raw in documents["topics.json"]["topics"]}
    prompts += _baseline_prompts(topics, raw_topics, documents["templates.json"], schemas, folder)
    prompts += _value_prompts(documents.get("value_prompts.json"), {t.id for t in topics}, folder)
    prompts += _contrast_prompts(topics, raw_topics, documents["templates.json"], schemas, folder)

    by_text: dict[str, SuitePrompt] = {}
    for prompt in prompts:
        by_text.setdefault(prompt_text_hash(prompt.text), prompt)
    by_key = {p.key: p for p in prompts}
    if len(by_key) != len(prompts):
        raise SuiteError(f"{folder}: two prompts share a key (stream/topic/variant). Give every topic, value prompt and variant a distinct id.")

    rules = manifest["rules"]
    return Suite(
        name=manifest["name"],
        version=manifest["version"],
        hash=suite_hash,
        path=folder,
        domains=list(manifest["domains"]),
        rules=[r["text"] for r in rules],
        rule_ids=[r["id"] for r in rules],
        paraphrase_request=prompts[0].text,
        topics=topics,
        prompts=prompts,
        _by_text=by_text,
        _by_key=by_key,
    )


def _build_topics(document: dict[str, Any], manifest: dict[str, Any], folder: Path) -> list[Topic]:
    path = folder / "topics.json"
    seen: set[str] = set()
    topics = []
    for index, raw in enumerate(document["topics"]):
        where: list[Any] = ["topics", index]
        if raw["id"] in seen:
            raise _fail(path, where + ["id"], f"duplicate topic id {raw['id']!r}", "give each topic a distinct id")
        seen.add(raw["id"])
        if raw["domain"] not in manifest["domains"]:
            raise _fail(path, where + ["domain"], f"domain {raw['domain']!r} is not listed in suite.json", f"use one of {manifest['domains']} or add it to suite.json /domains")
        first, second = raw["contrast"]["conflicting_bullets"]
        if first == second:
            raise _fail(path, where + ["contrast", "conflicting_bullets"], f"both counts are {first}, so the set is not impossible", "use two different counts")
        topics.append(Topic(id=raw["id"], domain=raw["domain"], title=raw["title"], task=raw["task"], key_terms=list(raw["key_terms"])))
    return topics


def _load_topic_schemas(document: dict[str, Any], schemas_dir: Path, path: Path) -> dict[str, dict[str, Any]]:
    schemas: dict[str, dict[str, Any]] = {}
    for index, raw in enumerate(document["topics"]):
        name = raw["contrast"]["schema"]
        if name not in schemas:
            schemas[name] = _load_schema(schemas_dir, name, path, ["topics", index, "contrast", "schema"])
    return schemas


def _topic_params(raw: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    contrast = raw["contrast"]
    return {
        "task": raw["task"],
        "title": raw["title"],
        "schema": contrast["schema"],
        "schema_json": json.dumps(schemas[contrast["schema"]], indent=2, ensure_ascii=False),
        "bullets": contrast["bullets"],
        "word_limit": contrast["word_limit"],
        "steps": contrast["steps"],
        "bullets_a": contrast["conflicting_bullets"][0],
        "bullets_b": contrast["conflicting_bullets"][1],
    }


def _paraphrase_prompt(manifest: dict[str, Any]) -> SuitePrompt:
    numbered = "\n".join(f"{i}. {rule['text']}" for i, rule in enumerate(manifest["rules"], start=1))
    text = manifest["paraphrase_request"].replace("{rules}", numbered)
    return SuitePrompt(stream="paraphrase", topic="rules", domain=None, variant="paraphrase", text=text, constraints=[], key="paraphrase/rules/paraphrase")


def _baseline_prompts(
    topics: list[Topic], raw_topics: dict[str, Any], templates: dict[str, Any], schemas: dict[str, dict[str, Any]], folder: Path
) -> list[SuitePrompt]:
    path = folder / "templates.json"
    template = templates["baseline"]["template"]
    _check_template(template, path, ["baseline", "template"])

    prompts = []
    for topic in topics:
        text = template.format_map(_topic_params(raw_topics[topic.id], schemas))
        prompts.append(SuitePrompt("baseline", topic.id, topic.domain, "baseline", text, [], f"baseline/{topic.id}/baseline", topic.key_terms))
    return prompts


def _value_prompts(document: dict[str, Any] | None, topic_ids: set[str], folder: Path) -> list[SuitePrompt]:
    if document is None:
        return []
    path = folder / "value_prompts.json"
    prompts = []
    seen: set[str] = set()
    for index, raw in enumerate(document["prompts"]):
        if raw["id"] in seen or raw["id"] in topic_ids:
            raise _fail(path, ["prompts", index, "id"], f"id {raw['id']!r} is already used by a topic or value prompt", "give it a distinct id")
        seen.add(raw["id"])
        key = f"baseline/{raw['id']}/{raw['variant']}"
        prompts.append(SuitePrompt("baseline", raw["id"], document["domain"], raw["variant"], raw["text"], [], key, list(raw["key_terms"])))
    return prompts


def _contrast_prompts(
    topics: list[Topic], raw_topics: dict[str, Any], templates: dict[str, Any], schemas: dict[str, dict[str, Any]], folder: Path
) -> list[SuitePrompt]:
    path = folder / "templates.json"

    variants = [entry["variant"] for entry in templates["contrast"]]
    for index, entry in enumerate(templates["contrast"]):
        if variants.index(entry["variant"]) != index:
            raise _fail(path, ["contrast", index, "variant"], f"duplicate variant {entry['variant']!r}", "give each contrast template a distinct variant")
        _check_template(entry["template"], path, ["contrast", index, "template"])

    prompts = []
    for topic in topics:
        params = _topic_params(raw_topics[topic.id], schemas)
        for index, entry in enumerate(templates["contrast"]):
            constraints = [
                _fill_constraint(c, params, schemas, path, ["contrast", index, "constraints", n]) for n, c in enumerate(entry["constraints"])
            ]
            text = entry["template"].format_map(params)
            key = f"contrast/{topic.id}/{entry['variant']}"
            prompts.append(SuitePrompt("contrast", topic.id, topic.domain, entry["variant"], text, constraints, key, topic.key_terms))
    return prompts


def _fill_constraint(
    constraint: dict[str, Any], params: dict[str, Any], schemas: dict[str, dict[str, Any]], path: Path, where: list[Any]
) -> dict[str, Any]:
    """Replace ``"$name"`` kwargs by topic parameters and inline the schema of ``bsb:json_schema``."""
    kwargs: dict[str, Any] = {}
    for name, value in constraint["kwargs"].items():
        if isinstance(value, str) and value.startswith("$"):
            param = value[1:]
            if param not in params or param == "schema_json":
                allowed = ", ".join(sorted(TEMPLATE_FIELDS - {"schema_json"}))
                raise _fail(path, where + ["kwargs", name], f"unknown parameter {value!r}", f"use $ with one of {allowed}")
            value = params[param]
        kwargs[name] = value

    if constraint["id"] == "bsb:json_schema":
        schema_name = kwargs.get("schema_name")
        if schema_name not in schemas:
            raise _fail(path, where + ["kwargs", "schema_name"], f"schema {schema_name!r} is not a topic schema", 'set it to "$schema"')
        kwargs["schema"] = copy.deepcopy(schemas[schema_name])
    return {"id": constraint["id"], "kwargs": kwargs}
