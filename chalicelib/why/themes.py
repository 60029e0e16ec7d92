"""Comment themes: which themes of the stage's taxonomy a comment speaks of (a first keyword tagger;
the taxonomy file, its languages and the model taggers come with issue 14's themes part)."""
from __future__ import annotations

import re
from typing import Optional

_KEYWORDS = {
    "waiting": ["wait", "waited", "waiting", "slow", "took forever", "hold"],
    "billing": ["refund", "billing", "charged", "invoice", "money back"],
    "not_resolved": ["not resolved", "not solved", "still broken", "didn't fix", "did not fix"],
    "repeated_contact": ["again", "repeat", "third time", "second time"],
    "attitude": ["rude", "unfriendly", "impolite", "dismissive"],
    "product_defect": ["bug", "broken", "crash", "defect"],
    "praise": ["thank", "great", "helpful", "excellent", "amazing"],
}


def tag_comment(comment: Optional[str], locale: Optional[str] = None) -> list[str]:
    """The themes of a comment, sorted; none for no comment."""
    text = (comment or "").lower()
    return sorted(theme for theme, words in _KEYWORDS.items()
                  if any(re.search(rf"\b{re.escape(word)}\b", text) for word in words))


_LABELS = {"waiting": "Waiting", "billing": "Refunds and billing", "not_resolved": "Not resolved",
           "repeated_contact": "Repeated contact", "attitude": "Attitude", "product_defect": "Product defect",
           "praise": "Praise"}


def theme_keys() -> list[str]:
    """Every theme of the stage's taxonomy, in its order."""
    return list(_KEYWORDS)


def theme_label(key: str) -> str:
    """A theme's name as leads read it (a key no longer in the taxonomy shows as itself)."""
    return _LABELS.get(key, key)
