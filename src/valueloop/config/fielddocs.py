"""What a configuration model and each of its keys mean, read from the model's source.

A key is described, in order of precedence, by its ``Field(description=...)``, by a docstring
written under it (``insecure: bool = False`` then ``\"\"\"Skip the check ...\"\"\"``), or by an
entry of an ``Attributes:`` section of its class docstring (``host, port: the broker's address``).
Parent classes are read too, so a connector's spec inherits the descriptions of ``name`` and
``kind``. Docstrings are turned from reStructuredText roles and literals into Markdown.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

from pydantic import BaseModel

_ROLE = re.compile(r":[a-z]+:`(~?)([^`]+)`")
_ENTRY = re.compile(r"^(\w+(?:\s*,\s*\w+)*)\s*:\s*(.*)$")


def markdown(text: str) -> str:
    """``text`` with Sphinx roles (``:class:`~a.B```) and double-backquote literals as Markdown."""

    def role(match: re.Match[str]) -> str:
        target = match.group(2).lstrip(".")
        return f"`{target.rsplit('.', 1)[-1] if match.group(1) else target}`"

    return _ROLE.sub(role, text).replace("``", "`")


def _split_attributes(doc: str) -> tuple[str, dict[str, str]]:
    """A cleaned docstring without its ``Attributes:`` section, and that section's entries."""
    lines = inspect.cleandoc(doc).splitlines()
    if "Attributes:" not in lines:
        return "\n".join(lines), {}
    start = lines.index("Attributes:")
    entries: dict[str, list[str]] = {}
    current: list[str] = []
    end = len(lines)
    for number, line in enumerate(lines[start + 1 :], start + 1):
        if line and not line.startswith(" "):
            end = number
            break
        match = _ENTRY.match(line.strip())
        if match and line.startswith("    ") and not line.startswith("     "):
            current = [match.group(2)]
            for name in match.group(1).split(","):
                entries[name.strip()] = current
        elif line.strip():
            current.append(line.strip())
    text = "\n".join([*lines[:start], *lines[end:]]).strip()
    return text, {name: " ".join(words) for name, words in entries.items()}


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """Docstrings written right under a class's annotated attributes."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    body = ast.parse(source).body[0]
    if not isinstance(body, ast.ClassDef):
        return {}
    found: dict[str, str] = {}
    for node, following in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[node.target.id] = inspect.cleandoc(following.value.value)
    return found


def model_doc(model: type[BaseModel]) -> str:
    """The model's docstring in Markdown, less the ``Attributes:`` section the key table shows."""
    if not model.__doc__:
        return ""
    return markdown(_split_attributes(model.__doc__)[0])


def field_docs(model: type[BaseModel]) -> dict[str, str]:
    """One line describing each key of ``model`` (empty when its source says nothing)."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel:
            continue
        if "__doc__" in vars(cls) and cls.__doc__:
            found.update(_split_attributes(cls.__doc__)[1])
        found.update(_attribute_docstrings(cls))
    docs: dict[str, str] = {}
    for name, field in model.model_fields.items():
        text = field.description or found.get(name, "")
        docs[name] = " ".join(markdown(text).split())
    return docs
