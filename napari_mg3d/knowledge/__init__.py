"""Multi-grained report knowledge: sections, sentences, phrases (no torch, no Qt)."""

from .sentences import Sentence, split_sentences

__all__ = ["Sentence", "split_sentences"]
