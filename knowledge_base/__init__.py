"""The curated knowledge base: YAML content, validation, SQL store and the matcher that reads questions.

Importable without Rasa. Typical use:

    from knowledge_base import build_database, KnowledgeBase
    build_database(content_dir, "sqlite:///var/kb.sqlite")
    kb = KnowledgeBase.from_url("sqlite:///var/kb.sqlite")
    kb.match("hvad sker der når min søn fylder 18")  # topic, question entry, confidence, domain
"""

from knowledge_base.content import Content, load_content
from knowledge_base.loader import build_database
from knowledge_base.schema import ContentError, review_warnings, validate
from knowledge_base.store import KnowledgeBase

__all__ = [
    "Content",
    "ContentError",
    "KnowledgeBase",
    "build_database",
    "load_content",
    "review_warnings",
    "validate",
]
