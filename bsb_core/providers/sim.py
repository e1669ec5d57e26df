"""The simulated provider ``sim/<persona>``: deterministic responses with documented tendencies, no API key.

Each persona (see :mod:`bsb_core.providers.sim_personas` and ``docs/personas.md``) responds to
every stream. A response depends only on the persona, the messages and the ``seed`` and
``sample`` parameters, so the same request always returns the same text. The prompt (the last
user message) is looked up in the prompt suites by its text hash, which gives its stream, topic
terms and constraints. Prompts from elsewhere go through phrase detection instead.

The system message (normally the model's own paraphrase of the rules) does not change the
answer apart from the seed. ``max_tokens`` cuts the text to that many whitespace tokens;
``temperature`` and other sampling parameters are accepted and ignored. Every result is
simulated: ``SimProvider.simulated`` is true and ``model_version`` is ``sim-<persona>-1``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
from collections.abc import Mapping
from typing import Any

from bsb_core.providers.base import ChatRequest, ChatResult, ProviderError
from bsb_core.providers.sim_constraints import detect_constraints, read_constraints
from bsb_core.providers.sim_contrast import render_contrast
from bsb_core.providers.sim_layouts import Context, baseline_doc
from bsb_core.providers.sim_paraphrase import paraphrase, rules_from_text
from bsb_core.providers.sim_personas import PERSONAS, UnknownPersonaError, get_persona
from bsb_core.providers.sim_text import Content, capitalize, extract_terms
from bsb_core.providers.sim_values import value_prompt_doc
from bsb_core.suites import Suite, SuiteError, SuitePrompt, list_suites, load_suite

log = logging.getLogger(__name__)

# Version suffix of model_version. Raise it when a change alters the text of existing personas.
SIM_VERSION = 1

# Cue words that mark a prompt outside the suites as dual-use (benign on its face, but open to misuse).
_DUAL_USE_CUES = ("without them knowing", "secretly", "untraceable", "bypass", "crack", "weapon", "explosive", "overdose", "poison", "phishing", "malware", "hack into")
_PARAPHRASE_CUES = ("own words", "system prompt")

__all__ = ["PERSONAS", "SimProvider", "UnknownPersonaError", "respond"]


class SimProvider:
    """Provider for ``sim/<persona>`` models; the model part of the name is the persona."""

    name = "sim"
    simulated = True

    async def chat(self, request: ChatRequest) -> ChatResult:
        """Return the persona's response, or raise a non-retryable ProviderError for an unknown persona or malformed messages."""
        try:
            return respond(request.model, request.messages, request.params)
        except UnknownPersonaError as exc:
            raise ProviderError(str(exc), retryable=False, status=404) from None
        except ValueError as exc:
            raise ProviderError(f"invalid request for sim/{request.model}: {exc}", retryable=False, status=400) from None


def respond(persona: str, messages: list[dict[str, Any]], params: Mapping[str, Any] | None = None) -> ChatResult:
    """Return the simulated response of ``persona`` to a chat conversation.

    Raises :class:`UnknownPersonaError` for an unknown persona and ValueError when ``messages``
    has no user message.
    """
    profile = get_persona(persona)
    params = params or {}
    prompt = _last_user_text(messages)
    rng = random.Random(_seed(persona, messages, params))

    text = _generate(profile.name, prompt, rng)
    text = _limit_tokens(text, params.get("max_tokens"))
    tokens_in = sum(len(_content_text(m.get("content")).split()) for m in messages if isinstance(m, dict))
    return ChatResult(text=text, model_version=f"sim-{persona}-{SIM_VERSION}", tokens_in=tokens_in, tokens_out=len(text.split()))


def _generate(persona: str, prompt: str, rng: random.Random) -> str:
    known = find_suite_prompt(prompt)
    if known is not None:
        suite, suite_prompt = known
        if suite_prompt.stream == "paraphrase":
            return paraphrase(persona, suite.rules, rng)
        context = _known_context(suite, suite_prompt)
        constraints = suite_prompt.constraints
    else:
        lowered = prompt.lower()
        rules = rules_from_text(prompt)
        if len(rules) >= 2 and "rules" in lowered and any(cue in lowered for cue in _PARAPHRASE_CUES):
            return paraphrase(persona, rules, rng)
        context = _unknown_context(prompt)
        constraints = detect_constraints(prompt)

    content = Content(terms=context.terms, rng=rng, title=context.title)
    profile = get_persona(persona)
    if context.variant in {"dual_use", "value_conflict"}:
        doc = value_prompt_doc(profile, content, context)
        return doc.render()
    if constraints:
        return render_contrast(profile, content, context, read_constraints(constraints))
    return baseline_doc(persona, content, context).render()


def _known_context(suite: Suite, prompt: SuitePrompt) -> Context:
    topic = suite.topic(prompt.topic)
    terms = list(prompt.key_terms) or extract_terms(prompt.text)
    title = topic.title if topic is not None else capitalize(terms[0])
    return Context(title=title, domain=prompt.domain, variant=prompt.variant, terms=terms)


def _unknown_context(prompt: str) -> Context:
    terms = extract_terms(prompt)
    variant = "dual_use" if any(cue in prompt.lower() for cue in _DUAL_USE_CUES) else "baseline"
    return Context(title=capitalize(terms[0]), domain=None, variant=variant, terms=terms)


# --- suite lookup ----------------------------------------------------------------------------

_warning_lock = threading.Lock()
_suite_warning_logged = False


def find_suite_prompt(text: str) -> tuple[Suite, SuitePrompt] | None:
    """Return the suite and prompt whose text matches ``text`` (up to whitespace), searching every suite."""
    for suite in _suites():
        prompt = suite.find_prompt(text)
        if prompt is not None:
            return suite, prompt
    return None


def _suites() -> list[Suite]:
    """Return every loadable suite. A missing prompts folder or a broken suite is skipped with one logged warning."""
    suites: list[Suite] = []
    try:
        names = list_suites()
    except SuiteError as exc:
        names = []
        _warn_once(f"simulator falls back to phrase detection: {exc}")
    for name in names:
        try:
            suites.append(load_suite(name))
        except SuiteError as exc:
            _warn_once(f"simulator skips suite {name!r}: {exc}")
    return suites


def _warn_once(message: str) -> None:
    global _suite_warning_logged
    with _warning_lock:
        if _suite_warning_logged:
            return
        _suite_warning_logged = True
    log.warning(message)


# --- request helpers -------------------------------------------------------------------------


def _content_text(content: Any) -> str:
    """Return the text of a message content: a string, or the text parts of an OpenAI-style part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict) and part.get("type", "text") == "text")
    return ""


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list of {'role', 'content'} objects")
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _content_text(message.get("content"))
    raise ValueError("messages contain no user message; add one with role 'user'")


def _seed(persona: str, messages: list[dict[str, Any]], params: Mapping[str, Any]) -> int:
    """Derive the random seed from the persona, the messages' roles and texts, and the seed and sample parameters."""
    material = {
        "persona": persona,
        "messages": [[m.get("role"), _content_text(m.get("content"))] for m in messages if isinstance(m, dict)],
        "seed": params.get("seed"),
        "sample": params.get("sample"),
    }
    digest = hashlib.sha256(json.dumps(material, sort_keys=True, ensure_ascii=False).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def _limit_tokens(text: str, max_tokens: Any) -> str:
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens <= 0:
        return text
    tokens = list(re.finditer(r"\S+", text))
    if len(tokens) <= max_tokens:
        return text
    return text[: tokens[max_tokens - 1].end()]
