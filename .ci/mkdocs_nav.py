"""MkDocs hook (mkdocs.yml `hooks:`): every docs/*.md page that mkdocs.yml's nav does not name is
added at the end of the nav, titled by its first heading, so a page added to docs/ is on the site
without editing mkdocs.yml (and `--strict` never meets a page outside the nav)."""
from __future__ import annotations

import os
import re
from typing import Any, List


def _named(nav: Any) -> List[str]:
    out: List[str] = []
    for item in nav or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            for v in item.values():
                out.extend(_named(v) if isinstance(v, list) else [v])
    return out


def on_config(config: Any) -> Any:
    docs = config["docs_dir"]
    named = set(_named(config["nav"]))
    extra = []
    for name in sorted(os.listdir(docs)):
        if name.endswith(".md") and name not in named:
            with open(os.path.join(docs, name), encoding="utf-8") as f:
                m = re.search(r"^# (.+)$", f.read(), re.M)
            extra.append({m.group(1).strip() if m else name[:-3]: name})
    if extra:
        config["nav"] = list(config["nav"] or []) + [{"More": extra}]
    return config


#: ``:class:`x``` in a docstring: mkdocstrings' sphinx style reads fields (``:param:``), not
#: roles, and leaves ``:class:<code>x</code>``; the role is dropped, the code kept.
ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):(?=<code>)")


def on_page_content(html: str, **kwargs: Any) -> str:
    return ROLE.sub("", html)
