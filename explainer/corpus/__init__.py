"""Built-in texts and datasets: the Everyday English generator, Python's help pages, user
uploads, a train/validation split and corpus statistics. See docs/INTERFACES.md.

    >>> from explainer.corpus import get_corpus, split
    >>> train, val = split(get_corpus("everyday").text)
"""
from .everyday import (
                      FLOOD_PHRASE,
                      FLOOD_SPANS,
                      Doc,
                      everyday_documents,
                      everyday_english,
)
from .instructions import (
                      InstructionData,
                      Pair,
                      instruction_data,
                      parse_jsonl,
                      weaknesses,
)
from .sources import (
                      CORPORA,
                      Corpus,
                      CorpusError,
                      CorpusStats,
                      corpus_stats,
                      describe_stats,
                      domain_stats,
                      flash_flood_continuations,
                      get_corpus,
                      python_docs,
                      sentences,
                      split,
                      user_text,
)
from .stories import NAMES, NameCase, Story, name_recall_cases, story

__all__ = [
    "CORPORA", "Corpus", "CorpusError", "CorpusStats", "Doc", "FLOOD_PHRASE", "FLOOD_SPANS",
    "NAMES", "NameCase", "Story", "corpus_stats", "describe_stats", "domain_stats",
    "everyday_documents", "everyday_english", "flash_flood_continuations", "get_corpus",
    "name_recall_cases", "python_docs", "sentences", "split", "story", "user_text",
    "InstructionData", "Pair", "instruction_data", "parse_jsonl", "weaknesses",
]
